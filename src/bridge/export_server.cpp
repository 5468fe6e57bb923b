#include "export_server.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <thread>
#include <utility>

#include "common/log.h"
#include "tls.h"
#include "wire.h"

namespace liteipc::bridge {

grpc::Status grpc_status_of(const Error& error) {
    switch (error.code) {
        case Errc::dead_object:
        case Errc::not_found: return {grpc::StatusCode::NOT_FOUND, "service gone: " + error.describe()};
        case Errc::timed_out: return {grpc::StatusCode::DEADLINE_EXCEEDED, error.describe()};
        case Errc::permission_denied: return {grpc::StatusCode::FAILED_PRECONDITION, "the service refuses this bridge"};
        case Errc::no_memory: return {grpc::StatusCode::RESOURCE_EXHAUSTED, error.describe()};
        case Errc::malformed: return {grpc::StatusCode::INVALID_ARGUMENT, error.describe()};
        default: return {grpc::StatusCode::INTERNAL, error.describe()};
    }
}

Result<const Peer*> ExportService::admit(const std::string& identity, const std::string& service, bool need_allow) {
    const Peer* peer = config_.peer_with_identity(identity);
    const Export* exported = config_.export_of(service);
    const bool allowed = peer && exported &&
                         (!need_allow || std::ranges::find(exported->allow, peer->name) != exported->allow.end());
    if (allowed) return peer;
    ++counters_.refused;
    LITEIPC_LOG(warn, "refused: identity '%s' may not %s '%s'", identity.c_str(), need_allow ? "call" : "watch", service.c_str());
    return fail(Errc::permission_denied, "identity '" + identity + "' may not call '" + service + "'");
}

Result<std::shared_ptr<Connection>> ExportService::connection_to(const std::string& service) {
    std::lock_guard lock(mutex_);
    auto& connection = connections_[service];
    if (connection && connection->alive()) return connection;
    ConnectOptions options;
    // Room for a full-size message's buffers on a few calls at once.
    options.request_pool_bytes = std::max<uint64_t>(4u << 20, 4 * config_.max_message_bytes);
    auto opened = Connection::open(context_, service, options);
    if (!opened) {
        connection.reset();
        return std::unexpected(opened.error());
    }
    connection = std::make_shared<Connection>(std::move(*opened));
    return connection;
}

bool LocalCall::outcome_within(std::chrono::nanoseconds spin) const {
    if (!status.ok()) return true;
    if (!pending) return false;
    const auto until = std::chrono::steady_clock::now() + spin;
    while (!pending->ready()) {
        if (std::chrono::steady_clock::now() >= until) return false;
        // The service may be waiting for this CPU (a loaded host): let it answer.
        std::this_thread::yield();
    }
    return true;
}

StreamSlot::~StreamSlot() {
    if (owner_) owner_->release(source_);
}

std::optional<StreamSlot> StreamsPerSource::take(const std::string& peer) {
    std::string source = peer.substr(0, peer.rfind(':'));  // the address without its port
    std::lock_guard lock(mutex_);
    unsigned& open = open_[source];
    if (open >= limit_) return std::nullopt;
    ++open;
    return StreamSlot(*this, std::move(source));
}

void StreamsPerSource::release(const std::string& source) {
    std::lock_guard lock(mutex_);
    if (auto it = open_.find(source); it != open_.end() && --it->second == 0) open_.erase(it);
}

Result<StreamSlot> ExportService::take_slot(const grpc::ServerContextBase& server_context) {
    auto slot = streams_per_source_.take(server_context.peer());
    if (slot) return std::move(*slot);
    ++counters_.over_limit;
    LITEIPC_LOG(warn, "refused a stream from %s: it has %u open (limits.streams_per_source)", server_context.peer().c_str(),
                static_cast<unsigned>(config_.limits.streams_per_source));
    return fail(Errc::quota_exceeded, "this address has limits.streams_per_source streams open");
}

LocalCall ExportService::start_call(const std::string& identity, const wire::CallRequest& request) {
    LocalCall call;
    call.timeout = request.timeout_ms() > 0 ? std::chrono::milliseconds(request.timeout_ms()) : config_.call_timeout;
    auto peer = admit(identity, request.service(), true);
    if (!peer) {
        call.status = {grpc::StatusCode::PERMISSION_DENIED, peer.error().message};  // counted as refused
        return call;
    }
    call.peer = *peer;
    auto connection = connection_to(request.service());
    if (!connection) {
        call.status = grpc_status_of(connection.error());
        return call;
    }
    call.connection = std::move(*connection);
    const wire::Payload& payload = request.payload();
    if (payload_bytes(payload) > config_.max_message_bytes) {
        call.status = {grpc::StatusCode::RESOURCE_EXHAUSTED, "message over max_message_bytes"};
        return call;
    }
    if (request.oneway()) return call;
    auto take = [&](Result<PendingReply> pending) {
        if (pending) call.pending = std::move(*pending);
        else call.status = grpc_status_of(pending.error());
    };
    if (payload.raw()) {
        take(call.connection->call_async_raw(request.code(), std::as_bytes(std::span(payload.message())), call.timeout));
    } else {
        Request local(*call.connection);
        call.status = fill(local, call, request);
        if (call.status.ok()) take(call.connection->call_async(request.code(), local, call.timeout));
    }
    return call;
}

bool ExportService::finish_call(LocalCall& call, const wire::CallRequest& request, wire::CallReply& reply) {
    reply.set_id(request.id());
    grpc::Status status = call.status;
    if (status.ok()) status = request.oneway() ? send_oneway(call, request) : await_answer(call, request, reply);
    if (!status.ok() && status.error_code() != grpc::StatusCode::PERMISSION_DENIED) ++counters_.failed;
    if (!status.ok()) {
        reply.clear_payload();
        reply.set_error(status.error_code());
        reply.set_error_message(status.error_message());
        if (request.oneway())
            LITEIPC_LOG(warn, "oneway code %u to '%s' dropped: %s", request.code(), request.service().c_str(),
                        status.error_message().c_str());
    } else if (request.oneway()) {
        ++counters_.oneway;
    } else {
        ++counters_.calls;
    }
    return !request.oneway();
}

grpc::Status ExportService::fill(Request& local, const LocalCall& call, const wire::CallRequest& request) {
    local.set_token(call.peer->token);
    std::string scratch;
    auto message = decode(request.payload(), [&](size_t size) { return local.attach(size); }, scratch);
    if (!message) return grpc_status_of(message.error());
    if (auto adopted = local.adopt(*message); !adopted) return grpc_status_of(adopted.error());
    return grpc::Status::OK;
}

grpc::Status ExportService::send_oneway(const LocalCall& call, const wire::CallRequest& request) {
    Connection& connection = *call.connection;
    const std::string& bytes = request.payload().message();
    if (request.payload().raw()) {
        auto batch = connection.begin_batch(bytes.size(), call.timeout);
        if (!batch) return grpc_status_of(batch.error());
        std::span<std::byte> room = batch->append(bytes.size());
        if (room.size() != bytes.size()) return {grpc::StatusCode::RESOURCE_EXHAUSTED, "no room for the message"};
        std::memcpy(room.data(), bytes.data(), bytes.size());
        auto sent = connection.send_batch(request.code(), *batch, call.timeout);
        return sent ? grpc::Status::OK : grpc_status_of(sent.error());
    }
    Request local(connection);
    if (auto filled = fill(local, call, request); !filled.ok()) return filled;
    auto sent = connection.send(request.code(), local, call.timeout);
    return sent ? grpc::Status::OK : grpc_status_of(sent.error());
}

grpc::Status ExportService::await_answer(LocalCall& call, const wire::CallRequest& request, wire::CallReply& reply) {
    auto answer = call.pending->wait(call.timeout);
    if (!answer) return grpc_status_of(answer.error());
    reply.set_status(answer->status());
    if (auto refusal = encode(answer->payload(), answer->reader(), config_.max_message_bytes, *reply.mutable_payload())) {
        LITEIPC_LOG(warn, "reply of '%s' code %u not sent: %s", request.service().c_str(), request.code(),
                    refusal->reason.c_str());
        reply.clear_payload();
        reply.set_status(refusal->status);
    }
    return grpc::Status::OK;
}

grpc::Status ExportService::watch_target(const std::string& identity, const std::string& service, PeerId& target) {
    auto peer = admit(identity, service, false);
    if (!peer) return {grpc::StatusCode::PERMISSION_DENIED, peer.error().message};  // counted as refused
    auto connection = connection_to(service);
    if (!connection) return grpc_status_of(connection.error());
    target = (*connection)->service();
    return grpc::Status::OK;
}

}  // namespace liteipc::bridge
