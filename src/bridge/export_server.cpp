#include "export_server.h"

#include <algorithm>
#include <cstring>

#include "bridge_log.h"
#include "tls.h"
#include "wire.h"

namespace liteipc::bridge {

namespace {

grpc::Status status_of(const Error& error) {
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

// A watch: one ServiceReady, then the stream stays open until the service dies (NOT_FOUND),
// the importer goes (cancel) or the server stops. The death callback and gRPC's callbacks run
// on different threads; `state` is what both may touch.
class ServiceWatch final : public grpc::ServerWriteReactor<wire::ServiceReady> {
public:
    ServiceWatch(Context& context, PeerId service, std::atomic<uint64_t>& open_watches)
        : state_(std::make_shared<State>()), open_watches_(open_watches) {
        state_->watch = this;
        ++open_watches_;
        ready_.set_pid(service.pid);
        state_->writing = true;
        StartWrite(&ready_);
        // Subscribed outside the lock: on_death calls back at once when the service is gone already.
        auto subscription = context.on_death(service, [state = state_](const DeathNotice&) {
            finish(*state, {grpc::StatusCode::NOT_FOUND, "service died"});
        });
        if (!subscription) finish(*state_, {grpc::StatusCode::INTERNAL, subscription.error().describe()});
        else subscription_ = std::move(*subscription);
    }

    void OnWriteDone(bool ok) override {
        std::lock_guard lock(state_->mutex);
        state_->writing = false;
        if (!ok && !state_->finished) state_->pending = grpc::Status(grpc::StatusCode::CANCELLED, "write failed");
        if (state_->pending && !state_->finished) {
            state_->finished = true;
            Finish(*state_->pending);
        }
    }
    void OnCancel() override { finish(*state_, grpc::Status::CANCELLED); }
    void OnDone() override {
        {
            std::lock_guard lock(state_->mutex);
            state_->watch = nullptr;
        }
        subscription_.reset();
        --open_watches_;
        delete this;
    }

private:
    struct State {
        std::mutex mutex;
        ServiceWatch* watch = nullptr;  // null once gRPC is done with it
        bool writing = false;
        bool finished = false;
        std::optional<grpc::Status> pending;  // a finish that waits for the write in flight
    };
    static void finish(State& state, grpc::Status status) {
        std::lock_guard lock(state.mutex);
        if (!state.watch || state.finished) return;
        if (state.writing) {
            if (!state.pending) state.pending = std::move(status);
            return;
        }
        state.finished = true;
        state.watch->Finish(status);
    }

    std::shared_ptr<State> state_;
    std::atomic<uint64_t>& open_watches_;
    wire::ServiceReady ready_;
    DeathSubscription subscription_;
};

}  // namespace

Result<const Peer*> ExportService::admit(const std::string& identity, const std::string& service, bool need_allow) {
    const Peer* peer = config_.peer_with_identity(identity);
    const Export* exported = config_.export_of(service);
    const bool allowed = peer && exported &&
                         (!need_allow || std::ranges::find(exported->allow, peer->name) != exported->allow.end());
    if (allowed) return peer;
    ++counters_.refused;
    log_warn("refused: identity '" + identity + "' may not " + (need_allow ? "call '" : "watch '") + service + "'");
    return fail(Errc::permission_denied, "identity '" + identity + "' may not call '" + service + "'");
}

Result<std::shared_ptr<Connection>> ExportService::connection_to(const std::string& service) {
    std::lock_guard lock(mutex_);
    auto& connection = connections_[service];
    if (connection && connection->alive()) return connection;
    ConnectOptions options;
    // Room for a full-size message's buffers on a few calls at once.
    options.request_pool_bytes = std::max<uint64_t>(4u << 20, 4 * config_.max_message_bytes);
    // A local service answers a bridged call in tens of microseconds, a gRPC message takes
    // hundreds: polling that long for the answer saves this thread a sleep and a wake-up.
    options.spin = kLocalAnswerSpin;
    auto opened = Connection::open(context_, service, options);
    if (!opened) {
        connection.reset();
        return std::unexpected(opened.error());
    }
    connection = std::make_shared<Connection>(std::move(*opened));
    return connection;
}

grpc::Status ExportService::Calls(grpc::ServerContext* server_context,
                                  grpc::ServerReaderWriter<wire::CallReply, wire::CallRequest>* stream) {
    const std::string identity = caller_identity(*server_context);
    ++counters_.streams;
    wire::CallRequest request;
    while (stream->Read(&request)) {
        wire::CallReply reply;
        if (serve(identity, request, reply) && !stream->Write(reply)) break;
    }
    --counters_.streams;
    return grpc::Status::OK;
}

bool ExportService::serve(const std::string& identity, const wire::CallRequest& request, wire::CallReply& reply) {
    reply.set_id(request.id());
    const std::chrono::milliseconds timeout =
        request.timeout_ms() > 0 ? std::chrono::milliseconds(request.timeout_ms()) : config_.call_timeout;
    grpc::Status status;
    if (auto peer = admit(identity, request.service(), true); !peer) {
        status = {grpc::StatusCode::PERMISSION_DENIED, peer.error().message};  // counted as refused
    } else {
        auto connection = connection_to(request.service());
        status = connection ? call_local(**connection, **peer, request, timeout, reply) : status_of(connection.error());
        if (!status.ok()) ++counters_.failed;
    }
    if (!status.ok()) {
        reply.clear_payload();
        reply.set_error(status.error_code());
        reply.set_error_message(status.error_message());
        if (request.oneway())
            log_warn("oneway code " + std::to_string(request.code()) + " to '" + request.service() +
                     "' dropped: " + status.error_message());
    } else if (request.oneway()) {
        ++counters_.oneway;
    } else {
        ++counters_.calls;
    }
    return !request.oneway();
}

grpc::Status ExportService::call_local(Connection& connection, const Peer& peer, const wire::CallRequest& request,
                                       std::chrono::milliseconds timeout, wire::CallReply& reply) {
    const wire::Payload& payload = request.payload();
    if (payload_bytes(payload) > config_.max_message_bytes)
        return {grpc::StatusCode::RESOURCE_EXHAUSTED, "message over max_message_bytes"};
    const auto& bytes = payload.message();
    if (payload.raw()) {
        if (request.oneway()) {
            auto batch = connection.begin_batch(bytes.size(), timeout);
            if (!batch) return status_of(batch.error());
            std::span<std::byte> room = batch->append(bytes.size());
            if (room.size() != bytes.size()) return {grpc::StatusCode::RESOURCE_EXHAUSTED, "no room for the message"};
            std::memcpy(room.data(), bytes.data(), bytes.size());
            auto sent = connection.send_batch(request.code(), *batch, timeout);
            return sent ? grpc::Status::OK : status_of(sent.error());
        }
        auto answer = connection.call_raw(
            request.code(), bytes.size(), [&](std::span<std::byte> out) { std::memcpy(out.data(), bytes.data(), bytes.size()); },
            timeout);
        if (!answer) return status_of(answer.error());
        reply.set_status(answer->status());
        if (auto refusal = encode(answer->payload(), answer->reader(), config_.max_message_bytes, *reply.mutable_payload()))
            reply.set_status(refusal->status);
        return grpc::Status::OK;
    }
    Request local(connection);
    local.set_token(peer.token);
    std::string scratch;
    auto message = decode(payload, [&](size_t size) { return local.attach(size); }, scratch);
    if (!message) return status_of(message.error());
    if (auto adopted = local.adopt(*message); !adopted) return status_of(adopted.error());
    if (request.oneway()) {
        auto sent = connection.send(request.code(), local, timeout);
        return sent ? grpc::Status::OK : status_of(sent.error());
    }
    auto answer = connection.call(request.code(), local, timeout);
    if (!answer) return status_of(answer.error());
    reply.set_status(answer->status());
    if (auto refusal = encode(answer->payload(), answer->reader(), config_.max_message_bytes, *reply.mutable_payload())) {
        log_warn("reply of '" + request.service() + "' code " + std::to_string(request.code()) +
                 " not sent: " + refusal->reason);
        reply.clear_payload();
        reply.set_status(refusal->status);
    }
    return grpc::Status::OK;
}

grpc::ServerWriteReactor<wire::ServiceReady>* ExportService::Watch(grpc::CallbackServerContext* server_context,
                                                                  const wire::WatchRequest* request) {
    auto refuse = [](grpc::Status status) {
        struct Refused final : grpc::ServerWriteReactor<wire::ServiceReady> {
            explicit Refused(grpc::Status status) { Finish(status); }
            void OnDone() override { delete this; }
        };
        return new Refused(std::move(status));
    };
    auto peer = admit(caller_identity(*server_context), request->service(), false);
    if (!peer) return refuse({grpc::StatusCode::PERMISSION_DENIED, peer.error().message});
    auto connection = connection_to(request->service());
    if (!connection) return refuse(status_of(connection.error()));
    return new ServiceWatch(context_, (*connection)->service(), counters_.watches);
}

}  // namespace liteipc::bridge
