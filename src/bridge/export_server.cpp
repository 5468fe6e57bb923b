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
    ServiceWatch(Context& context, PeerId service, std::atomic<uint64_t>& open_watches, StreamSlot slot)
        : state_(std::make_shared<WatchState>()), open_watches_(open_watches), slot_(std::move(slot)) {
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
    struct WatchState {
        std::mutex mutex;
        ServiceWatch* watch = nullptr;  // null once gRPC is done with it
        bool writing = false;
        bool finished = false;
        std::optional<grpc::Status> pending;  // a finish that waits for the write in flight
    };
    static void finish(WatchState& state, grpc::Status status) {
        std::lock_guard lock(state.mutex);
        if (!state.watch || state.finished) return;
        if (state.writing) {
            if (!state.pending) state.pending = std::move(status);
            return;
        }
        state.finished = true;
        state.watch->Finish(status);
    }

    std::shared_ptr<WatchState> state_;
    std::atomic<uint64_t>& open_watches_;
    StreamSlot slot_;
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
    while (!pending->ready())
        if (std::chrono::steady_clock::now() >= until) return false;
    return true;
}

namespace {

// A thread of one stream for what may block: a oneway message waiting for room, an answer that
// takes longer than kLocalAnswerSpin. Started at its first job; it ends once its stream is done
// with it (it holds only its own state, never the stream).
class SlowLane {
public:
    SlowLane() = default;
    SlowLane(const SlowLane&) = delete;
    SlowLane& operator=(const SlowLane&) = delete;
    ~SlowLane() {
        if (!state_) return;
        {
            std::lock_guard lock(state_->mutex);
            state_->ending = true;
        }
        state_->changed.notify_one();
    }

    void run(std::function<void()> job) {
        if (!state_) {
            state_ = std::make_shared<LaneState>();
            std::thread([state = state_] { state->serve(); }).detach();
        }
        {
            std::lock_guard lock(state_->mutex);
            state_->job = std::move(job);
        }
        state_->changed.notify_one();
    }

private:
    struct LaneState {
        std::mutex mutex;
        std::condition_variable changed;
        std::function<void()> job;
        bool ending = false;

        void serve() {
            for (;;) {
                std::function<void()> next;
                {
                    std::unique_lock lock(mutex);
                    changed.wait(lock, [&] { return job || ending; });
                    if (!job) return;
                    next = std::exchange(job, nullptr);
                }
                next();
            }
        }
    };
    std::shared_ptr<LaneState> state_;
};

// One Calls stream, served with gRPC's callback API: read a call, send it to the local service,
// write its answer, read the next. An answer in within kLocalAnswerSpin is written by the gRPC
// thread that read the call, with no thread woken on the way (when the last one came that fast);
// a slower one, and a oneway message (which may wait for room), go to the stream's SlowLane, so
// that no gRPC thread waits on a local service. One call at a time per stream: exactly one of a
// read, a write or a call is under way, so the reactor ends (OnDone) only once its call is over.
class CallsReactor final : public grpc::ServerBidiReactor<wire::CallRequest, wire::CallReply> {
public:
    CallsReactor(ExportService& exports, std::string identity, std::atomic<uint64_t>& streams, StreamSlot slot)
        : exports_(exports), identity_(std::move(identity)), streams_(streams), slot_(std::move(slot)) {
        ++streams_;
        StartRead(&request_);
    }

    void OnReadDone(bool ok) override {
        if (!ok) return Finish(grpc::Status::OK);  // the importer closed or cancelled the stream
        LocalCall call = exports_.start_call(identity_, request_);
        if (call.outcome_within(last_answer_quick_ ? kLocalAnswerSpin : std::chrono::microseconds(0)))
            return answer(call);
        // Only a call that goes to the lane is moved to the heap (std::function copies its job).
        lane_.run([this, slow = std::make_shared<LocalCall>(std::move(call))] { answer(*slow); });
    }
    void OnWriteDone(bool ok) override {
        if (!ok) return Finish(grpc::Status::OK);
        StartRead(&request_);
    }
    void OnDone() override {
        --streams_;
        delete this;
    }

private:
    // The last thing a call does with this reactor: once the write or read is started, the stream
    // may end and the reactor go.
    void answer(LocalCall& call) {
        reply_.Clear();
        const bool write = exports_.finish_call(call, request_, reply_);
        last_answer_quick_ = std::chrono::steady_clock::now() - call.started <= kLocalAnswerSpin;
        if (write) StartWrite(&reply_);
        else StartRead(&request_);
    }

    ExportService& exports_;
    const std::string identity_;
    std::atomic<uint64_t>& streams_;
    StreamSlot slot_;
    wire::CallRequest request_;
    wire::CallReply reply_;
    SlowLane lane_;
    // Whether the last answer came within the spin: a service that takes longer (a slow one, or
    // a large message to copy in and out) is not polled for, which would only take the CPU it needs.
    bool last_answer_quick_ = true;
};

// A stream ended before it began, with `status`.
template <typename Reactor>
Reactor* refused_stream(grpc::Status status) {
    struct Refused final : Reactor {
        explicit Refused(grpc::Status status) { this->Finish(status); }
        void OnDone() override { delete this; }
    };
    return new Refused(std::move(status));
}

}  // namespace

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

Result<StreamSlot> ExportService::take_slot(const grpc::CallbackServerContext& server_context) {
    auto slot = streams_per_source_.take(server_context.peer());
    if (slot) return std::move(*slot);
    ++counters_.over_limit;
    LITEIPC_LOG(warn, "refused a stream from %s: it has %u open (limits.streams_per_source)", server_context.peer().c_str(),
                static_cast<unsigned>(config_.limits.streams_per_source));
    return fail(Errc::quota_exceeded, "this address has limits.streams_per_source streams open");
}

grpc::ServerBidiReactor<wire::CallRequest, wire::CallReply>* ExportService::Calls(grpc::CallbackServerContext* server_context) {
    auto slot = take_slot(*server_context);
    if (!slot)
        return refused_stream<grpc::ServerBidiReactor<wire::CallRequest, wire::CallReply>>(
            {grpc::StatusCode::RESOURCE_EXHAUSTED, slot.error().message});
    return new CallsReactor(*this, caller_identity(*server_context), counters_.streams, std::move(*slot));
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
        call.status = status_of(connection.error());
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
        else call.status = status_of(pending.error());
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
    if (!message) return status_of(message.error());
    if (auto adopted = local.adopt(*message); !adopted) return status_of(adopted.error());
    return grpc::Status::OK;
}

grpc::Status ExportService::send_oneway(const LocalCall& call, const wire::CallRequest& request) {
    Connection& connection = *call.connection;
    const std::string& bytes = request.payload().message();
    if (request.payload().raw()) {
        auto batch = connection.begin_batch(bytes.size(), call.timeout);
        if (!batch) return status_of(batch.error());
        std::span<std::byte> room = batch->append(bytes.size());
        if (room.size() != bytes.size()) return {grpc::StatusCode::RESOURCE_EXHAUSTED, "no room for the message"};
        std::memcpy(room.data(), bytes.data(), bytes.size());
        auto sent = connection.send_batch(request.code(), *batch, call.timeout);
        return sent ? grpc::Status::OK : status_of(sent.error());
    }
    Request local(connection);
    if (auto filled = fill(local, call, request); !filled.ok()) return filled;
    auto sent = connection.send(request.code(), local, call.timeout);
    return sent ? grpc::Status::OK : status_of(sent.error());
}

grpc::Status ExportService::await_answer(LocalCall& call, const wire::CallRequest& request, wire::CallReply& reply) {
    auto answer = call.pending->wait(call.timeout);
    if (!answer) return status_of(answer.error());
    reply.set_status(answer->status());
    if (auto refusal = encode(answer->payload(), answer->reader(), config_.max_message_bytes, *reply.mutable_payload())) {
        LITEIPC_LOG(warn, "reply of '%s' code %u not sent: %s", request.service().c_str(), request.code(),
                    refusal->reason.c_str());
        reply.clear_payload();
        reply.set_status(refusal->status);
    }
    return grpc::Status::OK;
}

grpc::ServerWriteReactor<wire::ServiceReady>* ExportService::Watch(grpc::CallbackServerContext* server_context,
                                                                  const wire::WatchRequest* request) {
    auto refuse = [](grpc::Status status) { return refused_stream<grpc::ServerWriteReactor<wire::ServiceReady>>(std::move(status)); };
    auto slot = take_slot(*server_context);
    if (!slot) return refuse({grpc::StatusCode::RESOURCE_EXHAUSTED, slot.error().message});
    auto peer = admit(caller_identity(*server_context), request->service(), false);
    if (!peer) return refuse({grpc::StatusCode::PERMISSION_DENIED, peer.error().message});
    auto connection = connection_to(request->service());
    if (!connection) return refuse(status_of(connection.error()));
    return new ServiceWatch(context_, (*connection)->service(), counters_.watches, std::move(*slot));
}

}  // namespace liteipc::bridge
