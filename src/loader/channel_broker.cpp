// The channel broker: the two halves of a kernel-approved connection meet here. Each half waits
// at most the configured setup time; the side still waiting then gets Errc::timed_out.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "daemon.h"
#include "common/log.h"

namespace liteipc::loader {
using detail::ControlOp;
using detail::ControlReply;
using detail::ControlRequest;

std::optional<ControlReply> Daemon::channel_half(ClientSocket& client, const ControlRequest& request,
                                                 std::vector<UniqueFd>& fds) {
    const bool from_client = request.op == ControlOp::open_channel;
    auto conn = kernel_->conn(request.conn_id);
    if (!conn) return refuse(Errc::not_found, ENOENT, "no connection " + std::to_string(request.conn_id));
    // Only the two processes the connect program recorded may take part.
    bool is_party = from_client ? (conn->client_slot == client.slot && conn->client_generation == client.generation)
                                : (conn->service_slot == client.slot && conn->service_generation == client.generation);
    if (!is_party)
        return refuse(Errc::permission_denied, EPERM,
                      "pid " + std::to_string(client.pid) + " is not the " + (from_client ? "client" : "service") +
                          " of connection " + std::to_string(request.conn_id));
    if (from_client) note_subscriber(conn->handle, client.slot, client.generation);
    // Each region must already be sealed against resizing, so that no peer can make the other
    // side's mapping fault (SIGBUS); pools also against other writers.
    const std::size_t expected = from_client ? 2 : 1;
    if (fds.size() != expected)
        return refuse(Errc::invalid_argument, EINVAL,
                      "connection half needs " + std::to_string(expected) + " fds, got " + std::to_string(fds.size()));
    for (std::size_t i = 0; i < fds.size(); ++i) {
        int needed = F_SEAL_SHRINK | F_SEAL_GROW;
        if (!(from_client && i == 0)) needed |= F_SEAL_FUTURE_WRITE;
        int seals = ::fcntl(fds[i].get(), F_GET_SEALS);
        if (seals < 0 || (seals & needed) != needed)
            return refuse(Errc::invalid_argument, EINVAL,
                          "connection region " + std::to_string(i) + " is not sealed as required");
    }
    if (client.uid != 0 && config_.quotas.pending_channels &&
        broker_.pending_halves_of(client.uid) >= config_.quotas.pending_channels) {
        ++refused_.quota_pending_channels;
        return refuse(Errc::quota_exceeded, EDQUOT,
                      "uid " + std::to_string(client.uid) + " holds its quota of " +
                          std::to_string(config_.quotas.pending_channels) + " connection halves waiting");
    }

    auto [slot, fresh] = broker_.pending.try_emplace(request.conn_id);
    ChannelBroker::PendingChannel& pending = slot->second;
    if (fresh) pending.deadline = Clock::now() + config_.channel_setup_timeout;
    if (from_client) {
        if (pending.client_socket >= 0) return refuse(Errc::already_exists, EALREADY, "client half already sent");
        pending.client_socket = client.socket.get();
        pending.client_request_id = request.request_id;
        pending.client_uid = client.uid;
        pending.ctrl = std::move(fds[0]);
        pending.request_pool = std::move(fds[1]);
    } else {
        if (pending.service_socket >= 0) return refuse(Errc::already_exists, EALREADY, "service half already sent");
        pending.service_socket = client.socket.get();
        pending.service_request_id = request.request_id;
        pending.service_uid = client.uid;
        pending.reply_pool = std::move(fds[0]);
    }
    if (pending.client_socket < 0 || pending.service_socket < 0) {
        if (fresh) arm_channel_timer();
        return std::nullopt;
    }

    // Both halves are in: each side gets what its role allows, the other's pool read-only.
    ChannelBroker::PendingChannel done = std::move(pending);
    broker_.pending.erase(request.conn_id);
    arm_channel_timer();
    auto refuse_both = [&](Errc code, int err, const std::string& why) -> std::optional<ControlReply> {
        ControlReply failure = refuse(code, err, why);
        failure.request_id = done.client_request_id;
        queue_reply(done.client_socket, failure, {});
        failure.request_id = done.service_request_id;
        queue_reply(done.service_socket, failure, {});
        return std::nullopt;
    };
    auto reply_pool_ro = detail::reopen_read_only(done.reply_pool.get());
    auto request_pool_ro = detail::reopen_read_only(done.request_pool.get());
    if (!reply_pool_ro || !request_pool_ro) return refuse_both(Errc::system, EIO, "cannot re-open a pool read-only");
    // The fds that messages carry (OBJ_FD) travel over a socketpair of the connection's own.
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        return refuse_both(Errc::system, errno, "socketpair for the connection's fds");
    UniqueFd client_end(pair[0]), service_end(pair[1]);
    auto service = kernel_->service(conn->handle);
    // A mediated service reads each message's kernel record from a ring of the connection's own; a
    // mediated topic's subscriber (the client) reads each publish's stamp from one.
    const uint32_t mode = service ? service->mode : static_cast<uint32_t>(LITEIPC_SVC_MODE_DIRECT);
    UniqueFd message_ring;
    if (mode == LITEIPC_SVC_MODE_MEDIATED || mode == LITEIPC_SVC_MODE_MEDIATED_TOPIC) {
        auto ring = kernel_->create_message_ring(request.conn_id);
        if (!ring) return refuse_both(Errc::kernel, EIO, ring.error().describe());
        message_ring = std::move(*ring);
    }
    ControlReply to_client;
    to_client.request_id = done.client_request_id;
    to_client.handle = conn->handle;
    to_client.peer_slot = conn->service_slot;
    to_client.peer_generation = conn->service_generation;
    to_client.peer_pid = service ? service->owner_tgid : 0;
    to_client.peer_uid = service ? service->owner_uid : 0;
    to_client.mode = mode;
    std::vector<UniqueFd> client_fds;
    client_fds.push_back(std::move(*reply_pool_ro));
    client_fds.push_back(std::move(client_end));
    if (mode == LITEIPC_SVC_MODE_MEDIATED_TOPIC) client_fds.push_back(std::move(message_ring));
    queue_reply(done.client_socket, to_client, std::move(client_fds));

    ControlReply to_service;
    to_service.request_id = done.service_request_id;
    to_service.handle = conn->handle;
    to_service.peer_slot = conn->client_slot;
    to_service.peer_generation = conn->client_generation;
    to_service.peer_pid = conn->client_pid;
    to_service.peer_uid = conn->client_uid;
    to_service.peer_gid = conn->client_gid;
    to_service.mode = mode;
    std::vector<UniqueFd> service_fds;
    service_fds.push_back(std::move(done.ctrl));
    service_fds.push_back(std::move(*request_pool_ro));
    service_fds.push_back(std::move(service_end));
    if (message_ring) service_fds.push_back(std::move(message_ring));
    queue_reply(done.service_socket, to_service, std::move(service_fds));
    LITEIPC_LOG(debug, "connection %llu established: pid %u -> handle %u",
                static_cast<unsigned long long>(request.conn_id), conn->client_pid, conn->handle);
    return std::nullopt;
}

ControlReply Daemon::close_channel(ClientSocket& client, const ControlRequest& request) {
    auto conn = kernel_->conn(request.conn_id);
    if (!conn) return refuse(Errc::not_found, ENOENT, "no connection " + std::to_string(request.conn_id));
    bool client_side = conn->client_slot == client.slot && conn->client_generation == client.generation;
    bool service_side = conn->service_slot == client.slot && conn->service_generation == client.generation;
    if (!client_side && !service_side)
        return refuse(Errc::permission_denied, EPERM, "not a party to connection " + std::to_string(request.conn_id));
    kernel_->drop_conn(request.conn_id);
    // A service gives up a connection it cannot take (out of fds or memory): the waiting client
    // hears so at once, with the cause, rather than at its timeout.
    if (service_side)
        end_pending(request.conn_id, Errc::no_memory, ENOMEM,
                    "the service could not take connection " + std::to_string(request.conn_id) +
                        " (out of fds or memory)");
    else
        end_pending(request.conn_id, Errc::closed, ECONNABORTED, "the connection was closed before it was set up");
    return {};
}

void Daemon::end_pending(uint64_t conn_id, Errc code, int err, const std::string& why) {
    auto it = broker_.pending.find(conn_id);
    if (it == broker_.pending.end()) return;
    ChannelBroker::PendingChannel gone = std::move(it->second);
    broker_.pending.erase(it);
    ControlReply failure = refuse(code, err, why);
    if (gone.client_socket >= 0) {
        failure.request_id = gone.client_request_id;
        queue_reply(gone.client_socket, failure, {});
    }
    if (gone.service_socket >= 0) {
        failure.request_id = gone.service_request_id;
        queue_reply(gone.service_socket, failure, {});
    }
}

void Daemon::abandon_pending_of(int socket) {
    // The other half is told at once rather than left waiting for its timeout.
    std::vector<uint64_t> abandoned;
    for (auto& [id, p] : broker_.pending) {
        if (p.client_socket != socket && p.service_socket != socket) continue;
        (p.client_socket == socket ? p.client_socket : p.service_socket) = -1;
        abandoned.push_back(id);
    }
    for (uint64_t id : abandoned)
        end_pending(id, Errc::dead_object, ECONNABORTED, "the peer left before the connection was set up");
}

void Daemon::expire_channels() {
    const auto now = Clock::now();
    std::vector<uint64_t> expired;
    for (const auto& [id, p] : broker_.pending)
        if (p.deadline <= now) expired.push_back(id);
    for (uint64_t id : expired) {
        ++refused_.expired_channels;
        const ChannelBroker::PendingChannel& p = broker_.pending.at(id);
        std::string missing = p.client_socket < 0 ? "the client did not open" : "the service did not accept";
        // The connection will never be set up: it leaves the table and its uid's quota.
        kernel_->drop_conn(id);
        end_pending(id, Errc::timed_out, ETIMEDOUT,
                    "connection " + std::to_string(id) + " not set up within " +
                        std::to_string(config_.channel_setup_timeout.count()) + " ms: " + missing);
    }
    arm_channel_timer();
}

void Daemon::arm_channel_timer() {
    itimerspec when{};
    if (!broker_.pending.empty()) {
        auto earliest = Clock::time_point::max();
        for (const auto& [id, p] : broker_.pending) earliest = std::min(earliest, p.deadline);
        auto wait = std::max<Clock::duration>(earliest - Clock::now(), std::chrono::milliseconds(1));
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
        when.it_value.tv_sec = ns / 1000000000;
        when.it_value.tv_nsec = ns % 1000000000;
    }
    ::timerfd_settime(broker_.timer.get(), 0, &when, nullptr);
}

}  // namespace liteipc::loader
