#include "daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "log.h"
#include "unix_socket.h"

namespace liteipc::loader {
namespace fs = std::filesystem;
using detail::ControlOp;
using detail::ControlReply;
using detail::ControlRequest;

namespace {

ControlReply refuse(int err, const std::string& why) {
    ControlReply reply;
    reply.result = -err;
    std::strncpy(reply.message, why.c_str(), sizeof reply.message - 1);
    LITEIPC_LOG(info, "refused: %s", why.c_str());
    return reply;
}

// Service names: 1..255 printable bytes without '/', '"' or backslash, so they can name files and
// appear in JSON as they are.
bool valid_service_name(const char* name, std::size_t capacity) {
    std::size_t length = strnlen(name, capacity);
    if (length == 0 || length >= capacity) return false;
    for (std::size_t i = 0; i < length; ++i) {
        unsigned char c = static_cast<unsigned char>(name[i]);
        if (c < 0x21 || c > 0x7e || c == '/' || c == '"' || c == '\\') return false;
    }
    return true;
}

// Paths come from the command line and may hold any byte; names are validated printable ASCII.
std::string json_string(const std::string& raw) {
    std::string out = "\"";
    for (unsigned char c : raw) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

Result<UniqueFd> take_instance_lock(const std::string& pin_root) {
    // One loader per pin root: an exclusive flock on the root directory itself.
    int fd = ::open(pin_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail_errno("open of pin root " + pin_root);
    UniqueFd lock(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return fail(Errc::already_exists, "another liteipc-loader already serves pin root " + pin_root +
                                                  "; stop it first (systemctl stop liteipc-loader) or use --pin-root");
        return fail_errno("flock of " + pin_root);
    }
    return lock;
}

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::start(const DaemonOptions& options) {
    std::unique_ptr<Daemon> daemon(new Daemon(options));
    if (!options.group.empty()) {
        if (group* g = ::getgrnam(options.group.c_str()))
            daemon->group_id_ = g->gr_gid;
        else
            LITEIPC_LOG(warn, "group '%s' does not exist: only root may use liteipc (create it with groupadd %s)",
                        options.group.c_str(), options.group.c_str());
    }
    std::error_code ec;
    fs::create_directories(options.pin_root, ec);  // bpffs check and error come from KernelPlane
    if (fs::exists(options.pin_root)) {
        auto lock = take_instance_lock(options.pin_root);
        if (!lock) return std::unexpected(lock.error());
        daemon->lock_ = std::move(*lock);
    }
    auto kernel = KernelPlane::start({options.pin_root, daemon->group_id_});
    if (!kernel) return std::unexpected(kernel.error());
    daemon->kernel_ = std::move(*kernel);
    if (!daemon->lock_) {
        auto lock = take_instance_lock(options.pin_root);
        if (!lock) return std::unexpected(lock.error());
        daemon->lock_ = std::move(*lock);
    }
    if (auto ok = daemon->kernel_->watch_deaths([d = daemon.get()](const liteipc_death_record& r) { d->on_death(r); });
        !ok)
        return std::unexpected(ok.error());
    if (auto ok = daemon->listen(); !ok) return std::unexpected(ok.error());
    // Deaths recorded while no loader ran are waiting in the pinned ring: handle them now.
    if (auto n = daemon->kernel_->consume_deaths(); !n) return std::unexpected(n.error());
    daemon->adopt_registered();
    LITEIPC_LOG(info, "ready: pin root %s, socket %s%s", options.pin_root.c_str(), options.socket_path.c_str(),
                daemon->kernel_->adopted() ? ", adopted pinned state" : "");
    return daemon;
}

Daemon::~Daemon() {
    if (listener_) ::unlink(options_.socket_path.c_str());
}

Result<> Daemon::listen() {
    fs::path socket_path(options_.socket_path);
    std::error_code ec;
    fs::create_directories(socket_path.parent_path(), ec);
    ::chmod(socket_path.parent_path().c_str(), 0755);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (options_.socket_path.size() >= sizeof address.sun_path)
        return fail(Errc::invalid_argument, "socket path too long: " + options_.socket_path);
    std::strcpy(address.sun_path, options_.socket_path.c_str());
    ::unlink(address.sun_path);  // safe: the instance lock is ours

    listener_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!listener_) return fail_errno("socket");
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        return fail_errno("bind " + options_.socket_path);
    ::chown(address.sun_path, 0, group_id_);
    ::chmod(address.sun_path, group_id_ ? 0660 : 0600);
    if (::listen(listener_.get(), 128) != 0) return fail_errno("listen " + options_.socket_path);

    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    signals_.reset(::signalfd(-1, &mask, SFD_CLOEXEC));
    for (int fd : {listener_.get(), signals_.get(), kernel_->deaths_epoll_fd()}) {
        epoll_event event{EPOLLIN, {.fd = fd}};
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) return fail_errno("epoll_ctl");
    }
    return {};
}

void Daemon::adopt_registered() {
    // Processes registered with an earlier loader stay registered; their death is still seen by
    // the pinned program. They reconnect with hello when they next need the loader.
    std::size_t alive = 0;
    for (uint32_t slot = 0; slot < LITEIPC_MAX_PROCS; ++slot) {
        const liteipc_proc& proc = kernel_->proc(slot);
        if (proc.state == LITEIPC_PROC_ALIVE) ++alive;
        if (proc.state == LITEIPC_PROC_DEAD) reclaim(slot, proc.generation);
    }
    if (alive) LITEIPC_LOG(info, "adopted %zu registered processes", alive);
}

Result<> Daemon::run() {
    epoll_event events[32];
    for (;;) {
        int n = ::epoll_wait(epoll_.get(), events, 32, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("epoll_wait");
        }
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == signals_.get()) {
                LITEIPC_LOG(info, "stopping on signal; pinned state stays for the next loader");
                return {};
            }
            if (fd == listener_.get())
                accept_client();
            else if (fd == kernel_->deaths_epoll_fd())
                kernel_->consume_deaths();
            else
                serve_client(fd);
        }
    }
}

void Daemon::accept_client() {
    for (;;) {
        int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) return;
        auto cred = detail::peer_credentials(fd);
        if (!cred) {
            ::close(fd);
            continue;
        }
        Client client;
        client.socket.reset(fd);
        client.pid = cred->pid;
        client.uid = cred->uid;
        client.gid = cred->gid;
        epoll_event event{EPOLLIN, {.fd = fd}};
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event);
        clients_.emplace(fd, std::move(client));
    }
}

void Daemon::serve_client(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    Client& client = it->second;
    ControlRequest request;
    auto message = detail::receive_message(fd, {reinterpret_cast<std::byte*>(&request), sizeof request});
    if (!message || message->bytes == 0) {
        drop_client(fd);
        return;
    }
    std::optional<ControlReply> reply = ControlReply{};
    std::vector<UniqueFd> fds;
    std::string text;
    if (message->bytes != sizeof request || request.magic != detail::kControlMagic) {
        reply = refuse(EPROTO, "malformed control request from pid " + std::to_string(client.pid));
    } else if (request.op != ControlOp::hello && request.op != ControlOp::list &&
               request.op != ControlOp::status && request.op != ControlOp::lookup && !client.registered &&
               !adopt_auxiliary(client)) {
        reply = refuse(EPERM, "pid " + std::to_string(client.pid) + " is not registered: send hello first");
    } else if (strnlen(request.name, sizeof request.name) == sizeof request.name) {
        reply = refuse(EINVAL, "service name longer than 255 bytes");
    } else {
        switch (request.op) {
            case ControlOp::hello: reply = hello(client, fds); break;
            case ControlOp::register_service: reply = register_service(client, request); break;
            case ControlOp::unregister_service: reply = unregister_service(client, request); break;
            case ControlOp::lookup: reply = lookup(request); break;
            case ControlOp::add_access:
            case ControlOp::add_uid: reply = grant(client, request); break;
            case ControlOp::open_channel:
            case ControlOp::accept_channel: reply = channel_half(client, request, message->fds); break;
            case ControlOp::close_channel: reply = close_channel(client, request); break;
            case ControlOp::list: text = list_text(); break;
            case ControlOp::status: text = status_json(); break;
            default: reply = refuse(EOPNOTSUPP, "unknown control operation"); break;
        }
    }
    if (!reply) return;  // answered when the other half arrives
    reply->request_id = request.request_id;
    send_reply(fd, *reply, fds, text);
}

void Daemon::send_reply(int socket, ControlReply reply, const std::vector<UniqueFd>& fds, const std::string& text) {
    std::string body = text.substr(0, detail::kMaxControlMessage - sizeof reply);
    reply.text_bytes = static_cast<uint32_t>(body.size());
    std::string out(reinterpret_cast<const char*>(&reply), sizeof reply);
    out += body;
    std::vector<int> raw_fds;
    for (const auto& f : fds) raw_fds.push_back(f.get());
    if (auto sent = detail::send_message(socket, std::as_bytes(std::span(out.data(), out.size())), raw_fds); !sent)
        LITEIPC_LOG(info, "reply not delivered: %s", sent.error().describe().c_str());
}

bool Daemon::adopt_auxiliary(Client& client) {
    // A registered process may open further sockets for requests that wait (connection setup);
    // the kernel's word on its pid says whose they are.
    auto slot = kernel_->slot_of(client.pid);
    if (!slot) return false;
    const liteipc_proc& proc = kernel_->proc(*slot);
    if (proc.state != LITEIPC_PROC_ALIVE || proc.tgid != static_cast<uint32_t>(client.pid)) return false;
    client.registered = true;
    client.auxiliary = true;
    client.slot = *slot;
    client.generation = proc.generation;
    return true;
}

void Daemon::drop_client(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    Client client = std::move(it->second);
    clients_.erase(it);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    abandon_pending_of(fd);
    if (!client.registered || client.auxiliary) return;
    // A dying process's record is in the ring before its socket closes: read it first, so that
    // a death is never taken for an orderly close.
    kernel_->consume_deaths();
    const liteipc_proc& proc = kernel_->proc(client.slot);
    if (proc.state != LITEIPC_PROC_ALIVE || proc.generation != client.generation) return;
    if (::kill(client.pid, 0) == 0 || errno == EPERM) {
        // Still running: it closed its context.
        if (auto ok = kernel_->close_proc(client.slot, client.generation); !ok) {
            // ESRCH: it died between its socket closing and now; the death record covers it.
            if (ok.error().sys_errno != ESRCH)
                LITEIPC_LOG(warn, "close of slot %u: %s", client.slot, ok.error().describe().c_str());
            return;
        }
        LITEIPC_LOG(info, "pid %d closed its context (slot %u)", client.pid, client.slot);
        kernel_->drop_inbox(client.slot);
        release_holdings_of(client.slot);
    }
}

void Daemon::on_death(const liteipc_death_record& record) {
    ++deaths_seen_;
    if (record.closed) return;  // an orderly close, handled where the socket closed
    LITEIPC_LOG(info, "death: pid %u uid %u slot %u generation %llu status 0x%x", record.tgid, record.uid,
                record.slot, static_cast<unsigned long long>(record.generation), record.exit_code);
    reclaim(record.slot, record.generation + 1);
}

void Daemon::reclaim(uint32_t slot, uint64_t generation) {
    kernel_->drop_inbox(slot);
    release_holdings_of(slot);
    if (auto ok = kernel_->reclaim_proc(slot, generation); !ok)
        LITEIPC_LOG(warn, "reclaim of slot %u: %s", slot, ok.error().describe().c_str());
}

ControlReply Daemon::hello(Client& client, std::vector<UniqueFd>& fds) {
    ControlReply reply;
    if (client.registered) return refuse(EALREADY, "pid " + std::to_string(client.pid) + " already registered");
    for (const auto& [fd, other] : clients_)
        if (other.registered && !other.auxiliary && other.pid == client.pid)
            return refuse(EALREADY, "pid " + std::to_string(client.pid) + " is registered through another connection");
    // A process registered with an earlier loader comes back to the same slot.
    if (auto slot = kernel_->slot_of(client.pid)) {
        const liteipc_proc& proc = kernel_->proc(*slot);
        if (proc.state == LITEIPC_PROC_ALIVE && proc.tgid == static_cast<uint32_t>(client.pid)) {
            auto inbox = kernel_->inbox_of(*slot);
            if (!inbox) return refuse(ENOENT, inbox.error().describe());
            fds.push_back(std::move(*inbox));
            client.registered = true;
            client.slot = *slot;
            client.generation = proc.generation;
            reply.slot = client.slot;
            reply.generation = client.generation;
            LITEIPC_LOG(info, "pid %d reconnected to slot %u", client.pid, client.slot);
            return reply;
        }
    }
    auto slot = kernel_->free_slot();
    if (!slot) return refuse(ENOSPC, "process table full");
    auto reg = kernel_->register_proc(*slot, client.pid, client.uid, client.gid);
    if (!reg) return refuse(reg.error().sys_errno ? reg.error().sys_errno : EIO, reg.error().describe());
    auto inbox = kernel_->create_inbox(*slot);
    if (!inbox) {
        kernel_->close_proc(*slot, reg->generation);
        return refuse(EIO, inbox.error().describe());
    }
    fds.push_back(std::move(*inbox));
    client.registered = true;
    client.slot = reg->slot;
    client.generation = reg->generation;
    reply.slot = reg->slot;
    reply.generation = reg->generation;
    LITEIPC_LOG(info, "registered pid %d uid %u in slot %u generation %llu", client.pid, client.uid, client.slot,
                static_cast<unsigned long long>(client.generation));
    return reply;
}

ControlReply Daemon::register_service(Client& client, const ControlRequest& request) {
    if (!valid_service_name(request.name, sizeof request.name))
        return refuse(EINVAL, "invalid service name: 1..255 printable bytes without '/', '\"' or '\\\\'");
    if (request.policy > LITEIPC_POLICY_PIDS) return refuse(EINVAL, "unknown access policy");
    if (request.policy == LITEIPC_POLICY_UID_RANGE && request.uid_min > request.uid_max)
        return refuse(EINVAL, "uid range is empty");
    const liteipc_proc& proc = kernel_->proc(client.slot);
    if (proc.state != LITEIPC_PROC_ALIVE || proc.generation != client.generation)
        return refuse(ESRCH, "pid " + std::to_string(client.pid) + " is not alive");
    if (kernel_->handle_of(request.name)) return refuse(EEXIST, std::string("service name taken: ") + request.name);
    auto handle = kernel_->next_handle();
    if (!handle) return refuse(ENOSPC, handle.error().describe());

    liteipc_service service{};
    std::memcpy(service.name, request.name, sizeof service.name);
    service.owner_generation = client.generation;
    service.owner_slot = client.slot;
    service.owner_tgid = static_cast<uint32_t>(client.pid);
    service.owner_uid = client.uid;
    service.policy = request.policy;
    service.uid_min = request.uid_min;
    service.uid_max = request.uid_max;
    service.register_ns = proc.register_ns;
    if (auto ok = kernel_->put_service(*handle, service); !ok)
        return refuse(ok.error().code == Errc::already_exists ? EEXIST : EIO, ok.error().describe());
    LITEIPC_LOG(info, "service '%s' -> handle %u (pid %d)", request.name, *handle, client.pid);
    ControlReply reply;
    reply.handle = *handle;
    return reply;
}

ControlReply Daemon::unregister_service(Client& client, const ControlRequest& request) {
    auto service = kernel_->service(request.handle);
    if (!service) return refuse(ENOENT, "no service with handle " + std::to_string(request.handle));
    if (service->owner_slot != client.slot || service->owner_generation != client.generation)
        return refuse(EPERM, "only the owner may unregister service " + std::string(service->name));
    kernel_->drop_service(request.handle, service->name);
    return {};
}

ControlReply Daemon::lookup(const ControlRequest& request) {
    auto handle = kernel_->handle_of(request.name);
    if (!handle) return refuse(ENOENT, std::string("no service named ") + request.name);
    ControlReply reply;
    reply.handle = *handle;
    if (auto service = kernel_->service(*handle)) {
        reply.peer_slot = service->owner_slot;
        reply.peer_generation = service->owner_generation;
        reply.peer_pid = service->owner_tgid;
        reply.peer_uid = service->owner_uid;
    }
    return reply;
}

ControlReply Daemon::grant(Client& client, const ControlRequest& request) {
    auto service = kernel_->service(request.handle);
    if (!service) return refuse(ENOENT, "no service with handle " + std::to_string(request.handle));
    bool owner = service->owner_slot == client.slot && service->owner_generation == client.generation;
    // A process connected to the service holds a reference it may pass on (OBJ_SVC): it may grant
    // another process access, not change the uid list.
    bool holder = false;
    if (!owner && request.op == ControlOp::add_access) {
        kernel_->for_each_conn([&](uint64_t, const liteipc_conn& conn) {
            holder = holder || (conn.handle == request.handle && conn.client_slot == client.slot &&
                                conn.client_generation == client.generation);
        });
    }
    if (!owner && !holder)
        return refuse(EPERM, "only the owner or a connected client may grant access to " + std::string(service->name));
    liteipc_grant_key key{};
    key.handle = request.handle;
    key.kind = request.op == ControlOp::add_access ? LITEIPC_GRANT_PID : LITEIPC_GRANT_UID;
    key.id = request.id;
    if (auto ok = kernel_->put_grant(key); !ok) return refuse(ENOSPC, ok.error().describe());
    return {};
}

std::optional<ControlReply> Daemon::channel_half(Client& client, const ControlRequest& request,
                                                 std::vector<UniqueFd>& fds) {
    const bool from_client = request.op == ControlOp::open_channel;
    auto conn = kernel_->conn(request.conn_id);
    if (!conn) return refuse(ENOENT, "no connection " + std::to_string(request.conn_id));
    // Only the two processes the connect program recorded may take part.
    bool is_party = from_client ? (conn->client_slot == client.slot && conn->client_generation == client.generation)
                                : (conn->service_slot == client.slot && conn->service_generation == client.generation);
    if (!is_party)
        return refuse(EPERM, "pid " + std::to_string(client.pid) + " is not the " +
                                 (from_client ? "client" : "service") + " of connection " +
                                 std::to_string(request.conn_id));
    // Each region must already be sealed against resizing; pools also against other writers.
    const std::size_t expected = from_client ? 2 : 1;
    if (fds.size() != expected)
        return refuse(EINVAL, "connection half needs " + std::to_string(expected) + " fds, got " +
                                  std::to_string(fds.size()));
    for (std::size_t i = 0; i < fds.size(); ++i) {
        int needed = F_SEAL_SHRINK | F_SEAL_GROW;
        if (!(from_client && i == 0)) needed |= F_SEAL_FUTURE_WRITE;
        int seals = ::fcntl(fds[i].get(), F_GET_SEALS);
        if (seals < 0 || (seals & needed) != needed)
            return refuse(EINVAL, "connection region " + std::to_string(i) + " is not sealed as required");
    }

    PendingChannel& pending = pending_channels_[request.conn_id];
    if (from_client) {
        if (pending.client_socket >= 0) return refuse(EALREADY, "client half already sent");
        pending.client_socket = client.socket.get();
        pending.client_request_id = request.request_id;
        pending.ctrl = std::move(fds[0]);
        pending.request_pool = std::move(fds[1]);
    } else {
        if (pending.service_socket >= 0) return refuse(EALREADY, "service half already sent");
        pending.service_socket = client.socket.get();
        pending.service_request_id = request.request_id;
        pending.reply_pool = std::move(fds[0]);
    }
    if (pending.client_socket < 0 || pending.service_socket < 0) return std::nullopt;

    // Both halves are in: each side gets what its role allows, the other's pool read-only.
    PendingChannel done = std::move(pending);
    pending_channels_.erase(request.conn_id);
    auto refuse_both = [&](int err, const std::string& why) -> std::optional<ControlReply> {
        ControlReply failure = refuse(err, why);
        failure.request_id = done.client_request_id;
        send_reply(done.client_socket, failure, {});
        failure.request_id = done.service_request_id;
        send_reply(done.service_socket, failure, {});
        return std::nullopt;
    };
    auto reply_pool_ro = detail::reopen_read_only(done.reply_pool.get());
    auto request_pool_ro = detail::reopen_read_only(done.request_pool.get());
    if (!reply_pool_ro || !request_pool_ro) return refuse_both(EIO, "cannot re-open a pool read-only");
    // The fds that messages carry (OBJ_FD) travel over a socketpair of the connection's own.
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        return refuse_both(errno, "socketpair for the connection's fds");
    UniqueFd client_end(pair[0]), service_end(pair[1]);
    auto service = kernel_->service(conn->handle);
    ControlReply to_client;
    to_client.request_id = done.client_request_id;
    to_client.handle = conn->handle;
    to_client.peer_slot = conn->service_slot;
    to_client.peer_generation = conn->service_generation;
    to_client.peer_pid = service ? service->owner_tgid : 0;
    to_client.peer_uid = service ? service->owner_uid : 0;
    std::vector<UniqueFd> client_fds;
    client_fds.push_back(std::move(*reply_pool_ro));
    client_fds.push_back(std::move(client_end));
    send_reply(done.client_socket, to_client, client_fds);

    ControlReply to_service;
    to_service.request_id = done.service_request_id;
    to_service.handle = conn->handle;
    to_service.peer_slot = conn->client_slot;
    to_service.peer_generation = conn->client_generation;
    to_service.peer_pid = conn->client_pid;
    to_service.peer_uid = conn->client_uid;
    to_service.peer_gid = conn->client_gid;
    std::vector<UniqueFd> service_fds;
    service_fds.push_back(std::move(done.ctrl));
    service_fds.push_back(std::move(*request_pool_ro));
    service_fds.push_back(std::move(service_end));
    send_reply(done.service_socket, to_service, service_fds);
    LITEIPC_LOG(debug, "connection %llu established: pid %u -> handle %u",
                static_cast<unsigned long long>(request.conn_id), conn->client_pid, conn->handle);
    return std::nullopt;
}

ControlReply Daemon::close_channel(Client& client, const ControlRequest& request) {
    auto conn = kernel_->conn(request.conn_id);
    if (!conn) return refuse(ENOENT, "no connection " + std::to_string(request.conn_id));
    if (conn->client_slot != client.slot && conn->service_slot != client.slot)
        return refuse(EPERM, "not a party to connection " + std::to_string(request.conn_id));
    // A half still waiting for the other (a service that could not take the connection gives it up
    // this way): tell it now rather than at its timeout.
    if (auto pending = pending_channels_.find(request.conn_id); pending != pending_channels_.end()) {
        ControlReply given_up = refuse(ENOMEM, "connection " + std::to_string(request.conn_id) +
                                                   " was given up before it was set up (the service is out of "
                                                   "fds or memory?)");
        for (auto [socket, request_id] : {std::pair{pending->second.client_socket, pending->second.client_request_id},
                                          std::pair{pending->second.service_socket, pending->second.service_request_id}}) {
            if (socket < 0 || socket == client.socket.get()) continue;
            given_up.request_id = request_id;
            send_reply(socket, given_up, {});
        }
        pending_channels_.erase(pending);
    }
    kernel_->drop_conn(request.conn_id);
    return {};
}

void Daemon::release_holdings_of(uint32_t slot) {
    kernel_->drop_subscriptions_of(slot);
    std::vector<uint64_t> gone;
    kernel_->for_each_conn([&](uint64_t id, const liteipc_conn& conn) {
        if (conn.client_slot == slot || conn.service_slot == slot) gone.push_back(id);
    });
    for (uint64_t id : gone) {
        kernel_->drop_conn(id);
        pending_channels_.erase(id);
    }
}

void Daemon::abandon_pending_of(int socket) {
    // The other half is told at once rather than left waiting for its timeout.
    for (auto it = pending_channels_.begin(); it != pending_channels_.end();) {
        PendingChannel& p = it->second;
        if (p.client_socket != socket && p.service_socket != socket) {
            ++it;
            continue;
        }
        int other = p.client_socket == socket ? p.service_socket : p.client_socket;
        if (other >= 0) {
            ControlReply gone = refuse(ECONNABORTED, "the peer left before the connection was set up");
            gone.request_id = p.client_socket == socket ? p.service_request_id : p.client_request_id;
            send_reply(other, gone, {});
        }
        it = pending_channels_.erase(it);
    }
}

std::string Daemon::list_text() const {
    std::string text;
    kernel_->for_each_service([&](uint32_t handle, const liteipc_service& s) {
        text += std::to_string(handle) + "\t" + s.name + "\t" + std::to_string(s.owner_tgid) + "\t" +
                std::to_string(s.owner_uid) + "\n";
    });
    return text;
}

namespace {

// Pools are hugetlb memfds when hugepages are reserved, shared memory otherwise: say which.
std::string hugepages_json() {
    long total = 0, free = 0;
    if (FILE* meminfo = std::fopen("/proc/meminfo", "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, meminfo)) {
            std::sscanf(line, "HugePages_Total: %ld", &total);
            std::sscanf(line, "HugePages_Free: %ld", &free);
        }
        std::fclose(meminfo);
    }
    return "{\"total\":" + std::to_string(total) + ",\"free\":" + std::to_string(free) + ",\"pool_backing\":\"" +
           (free > 0 ? "hugetlb 2 MiB pages" : "shared memory (no free hugepages: reserve some in /proc/sys/vm/nr_hugepages)") +
           "\"}";
}

}  // namespace

std::string Daemon::status_json() const {
    std::size_t alive = 0, dead = 0;
    std::string procs;
    for (uint32_t slot = 0; slot < LITEIPC_MAX_PROCS; ++slot) {
        const liteipc_proc& p = kernel_->proc(slot);
        if (p.state == LITEIPC_PROC_FREE) continue;
        (p.state == LITEIPC_PROC_ALIVE ? alive : dead)++;
        if (!procs.empty()) procs += ",";
        procs += "{\"slot\":" + std::to_string(slot) + ",\"pid\":" + std::to_string(p.tgid) +
                 ",\"uid\":" + std::to_string(p.uid) + ",\"generation\":" + std::to_string(p.generation) +
                 ",\"state\":\"" + (p.state == LITEIPC_PROC_ALIVE ? "alive" : "dead") + "\"}";
    }
    std::string services;
    kernel_->for_each_service([&](uint32_t handle, const liteipc_service& s) {
        auto stats = kernel_->stats(handle).value_or(liteipc_svc_stats{});
        if (!services.empty()) services += ",";
        services += "{\"handle\":" + std::to_string(handle) + ",\"name\":\"" + s.name +
                    "\",\"pid\":" + std::to_string(s.owner_tgid) + ",\"policy\":" + std::to_string(s.policy) +
                    ",\"connects\":" + std::to_string(stats.connects) +
                    ",\"denied\":" + std::to_string(stats.denied) + "}";
    });
    return "{\"loader_pid\":" + std::to_string(::getpid()) + ",\"pin_root\":" + json_string(options_.pin_root) +
           ",\"socket\":" + json_string(options_.socket_path) + ",\"processes_alive\":" + std::to_string(alive) +
           ",\"processes_dead\":" + std::to_string(dead) + ",\"deaths_seen\":" + std::to_string(deaths_seen_) +
           ",\"records_lost\":" + std::to_string(kernel_->lost_records()) + ",\"hugepages\":" + hugepages_json() +
           ",\"processes\":[" + procs +
           "],\"services\":[" + services + "]}";
}

}  // namespace liteipc::loader
