#include "import_child.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "bridge.grpc.pb.h"
#include "bridge_log.h"
#include "liteipc/ipc.h"
#include "tls.h"
#include "wire.h"

namespace liteipc::bridge {

namespace {

// The one way this process ends when the peer is gone: a real exit the kernel reports.
[[noreturn]] void lose_peer(const std::string& why) {
    log_warn("peer lost: " + why + "; exiting so that local clients see the service's death");
    std::fflush(stderr);
    ::_exit(kExitPeerLost);
}

bool is_loss(const grpc::Status& status) {
    return status.error_code() == grpc::StatusCode::UNAVAILABLE || status.error_code() == grpc::StatusCode::NOT_FOUND;
}

// The watch on the remote service: ready once its ServiceReady arrived; its end while we serve
// is the peer's loss.
class RemoteWatch final : public grpc::ClientReadReactor<wire::ServiceReady> {
public:
    RemoteWatch(wire::Bridge::Stub& stub, const std::string& service) {
        request_.set_service(service);
        stub.async()->Watch(&context_, &request_, this);
        StartRead(&ready_);
        StartCall();
    }

    // Waits until the remote answered; false (with the reason) when it did not in time.
    bool wait_ready(std::chrono::milliseconds timeout, std::string& why) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, timeout, [&] { return ready_seen_ || done_; });
        if (ready_seen_) return true;
        why = done_ ? "watch refused: " + std::to_string(end_.error_code()) + " " + end_.error_message()
                    : "no answer within " + std::to_string(timeout.count()) + " ms";
        return false;
    }
    uint32_t remote_pid() const { return ready_.pid(); }
    void cancel() { context_.TryCancel(); }

    void OnReadDone(bool ok) override {
        std::lock_guard lock(mutex_);
        if (ok) ready_seen_ = true;  // one message, then silence until the end
        changed_.notify_all();
    }
    void OnDone(const grpc::Status& status) override {
        std::lock_guard lock(mutex_);
        if (ready_seen_ && !cancelled_on_purpose_)
            lose_peer("watch ended (" + std::to_string(status.error_code()) + " " + status.error_message() + ")");
        done_ = true;
        end_ = status;
        changed_.notify_all();
    }
    void stop() {
        {
            std::lock_guard lock(mutex_);
            cancelled_on_purpose_ = true;
        }
        context_.TryCancel();
    }

private:
    grpc::ClientContext context_;
    wire::WatchRequest request_;
    wire::ServiceReady ready_;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool ready_seen_ = false, done_ = false, cancelled_on_purpose_ = false;
    grpc::Status end_;
};

// The Calls stream to the exporting bridge. Workers write their calls on it one at a time; one
// thread reads the replies and hands each to the worker waiting for it. Its end, unless we
// stop it, is the peer's loss.
class CallStream {
public:
    explicit CallStream(wire::Bridge::Stub& stub) : stream_(stub.Calls(&context_)) {
        reader_ = std::thread([this] { read_replies(); });
        reader_.detach();  // it ends with the stream, or with the process
    }

    // Sends `request` and waits for its reply until `deadline`: the reply, or nullopt when the
    // deadline passed first (a reply that comes later is dropped).
    std::optional<wire::CallReply> call(wire::CallRequest& request, std::chrono::steady_clock::time_point deadline) {
        Waiting waiting;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return cancelled();
            request.set_id(++last_id_);
            waiting_[request.id()] = &waiting;
        }
        send(request);
        std::unique_lock lock(mutex_);
        if (!waiting.done.wait_until(lock, deadline, [&] { return waiting.reply.has_value(); }))
            waiting_.erase(request.id());
        return std::move(waiting.reply);
    }

    void send(const wire::CallRequest& request) {
        std::lock_guard write(write_turn_);
        if (!stream_->Write(request)) lose_peer("call stream broken");
    }

    // Ends the stream on purpose: calls still waiting end with CANCELLED.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            for (auto& [id, waiting] : waiting_) {
                waiting->reply = cancelled();
                waiting->done.notify_one();
            }
            waiting_.clear();
        }
        context_.TryCancel();
    }

private:
    struct Waiting {
        std::condition_variable done;
        std::optional<wire::CallReply> reply;
    };

    static wire::CallReply cancelled() {
        wire::CallReply reply;
        reply.set_error(grpc::StatusCode::CANCELLED);
        reply.set_error_message("the bridge is stopping");
        return reply;
    }

    void read_replies() {
        wire::CallReply reply;
        while (stream_->Read(&reply)) {
            std::lock_guard lock(mutex_);
            auto waiting = waiting_.find(reply.id());
            if (waiting == waiting_.end()) continue;  // its caller's time ran out
            waiting->second->reply = std::move(reply);
            waiting->second->done.notify_one();
            waiting_.erase(waiting);
        }
        const grpc::Status status = stream_->Finish();
        std::lock_guard lock(mutex_);
        if (!stopping_)
            lose_peer("call stream ended (" + std::to_string(status.error_code()) + " " + status.error_message() + ")");
    }

    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientReaderWriter<wire::CallRequest, wire::CallReply>> stream_;
    std::thread reader_;
    std::mutex write_turn_;
    std::mutex mutex_;  // guards what follows
    uint64_t last_id_ = 0;
    std::unordered_map<uint64_t, Waiting*> waiting_;
    bool stopping_ = false;
};

// Forwards one local call and writes the remote reply into it; returns the reply status.
class Forwarder {
public:
    Forwarder(const BridgeConfig& config, const Import& import, CallStream& stream)
        : config_(config), import_(import), stream_(stream) {}

    int32_t operator()(Call& call) {
        wire::CallRequest request;
        request.set_service(import_.service);
        request.set_code(call.code());
        request.set_oneway(call.oneway());
        if (auto refusal = encode(call.payload(), Reader(call.payload(), call.request_options()),
                                  config_.max_message_bytes, *request.mutable_payload())) {
            log_warn(import_.local_name() + " code " + std::to_string(call.code()) + " from pid " +
                     std::to_string(call.caller().pid) + " not forwarded: " + refusal->reason);
            return refusal->status;
        }
        if (call.oneway()) {
            stream_.send(request);
            return 0;
        }
        const auto deadline = forward_deadline(call);
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        request.set_timeout_ms(static_cast<uint32_t>(std::max<int64_t>(left.count(), 1)));
        auto reply = stream_.call(request, deadline);
        if (!reply) return failure(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "no reply in time"));
        if (reply->error() != grpc::StatusCode::OK)
            return failure(grpc::Status(static_cast<grpc::StatusCode>(reply->error()), reply->error_message()));
        return write_reply(call, *reply);
    }

private:
    // The local caller's deadline, when it stated one, is the remote call's; call_timeout_ms caps
    // it (and stands in for a caller that waits forever).
    std::chrono::steady_clock::time_point forward_deadline(const liteipc::Call& call) const {
        auto deadline = std::chrono::steady_clock::now() + config_.call_timeout;
        if (auto stated = call.deadline()) deadline = std::min(deadline, *stated);
        return deadline;
    }

    int32_t failure(const grpc::Status& status) {
        if (is_loss(status)) lose_peer("call failed (" + std::to_string(status.error_code()) + " " + status.error_message() + ")");
        log_warn(import_.local_name() + ": remote call failed: " + std::to_string(status.error_code()) + " " +
                 status.error_message());
        switch (status.error_code()) {
            case grpc::StatusCode::PERMISSION_DENIED:
            case grpc::StatusCode::FAILED_PRECONDITION: return kStatusPermissionDenied;
            case grpc::StatusCode::DEADLINE_EXCEEDED: return kStatusTimedOut;
            case grpc::StatusCode::RESOURCE_EXHAUSTED: return kStatusTooLarge;
            case grpc::StatusCode::INVALID_ARGUMENT: return kStatusMalformed;
            default: return kStatusRemoteFailed;
        }
    }

    int32_t write_reply(Call& call, const wire::CallReply& reply) {
        const wire::Payload& payload = reply.payload();
        if (payload.raw()) {
            const std::string& bytes = payload.message();
            if (bytes.empty()) return reply.status();
            auto out = call.reply_raw(bytes.size());
            if (!out) return kStatusTooLarge;
            std::memcpy(out->data(), bytes.data(), bytes.size());
            return reply.status();
        }
        if (payload.message().empty()) return reply.status();  // the remote sent a status only
        std::string scratch;
        auto message = decode(payload, [&](size_t size) { return call.attach(size); }, scratch);
        if (!message) {
            log_warn(import_.local_name() + ": reply not passed on: " + message.error().describe());
            return message.error().code == Errc::no_memory ? kStatusTooLarge : kStatusMalformed;
        }
        if (auto adopted = call.adopt_reply(*message); !adopted) return kStatusMalformed;
        return reply.status();
    }

    const BridgeConfig& config_;
    const Import& import_;
    CallStream& stream_;
};

}  // namespace

int run_import_child(const BridgeConfig& config, const Import& import) {
    log_role() = "import " + import.local_name();
    const Peer& peer = *config.peer_named(import.peer);
    auto channel = channel_to(config, peer);
    if (!channel) {
        log_error(channel.error().describe());
        return kExitFailed;
    }
    auto stub = wire::Bridge::NewStub(*channel);
    auto* watch = new RemoteWatch(*stub, import.service);  // lives until the process ends
    std::string why;
    // Bounded so that an unreachable peer costs one probe per retry, and a SIGTERM (blocked until
    // the child serves) waits no longer than this.
    const auto probe_timeout = std::min(config.call_timeout, 4 * config.keepalive);
    if (!watch->wait_ready(probe_timeout, why)) {
        log_info(peer.name + " (" + peer.address + "): " + import.service + " not available: " + why);
        watch->stop();
        return kExitNotReady;
    }

    auto context = Context::open(config.context_options());
    if (!context) {
        log_error("liteipc context: " + context.error().describe());
        return kExitFailed;
    }
    ServiceOptions options;
    options.name = import.local_name();
    options.policy = import.policy;
    options.workers = import.workers;
    options.reply_pool_bytes = std::max<uint64_t>(options.reply_pool_bytes, 4 * config.max_message_bytes);
    auto* calls = new CallStream(*stub);  // like the watch, lives until the process ends
    auto service = Service::start(*context, options, Forwarder(config, import, *calls));
    if (!service) {
        calls->stop();
        log_error("registering " + options.name + ": " + service.error().describe());
        return kExitFailed;
    }
    log_info("serving " + options.name + " for " + import.service + " on " + peer.name + " (remote pid " +
             std::to_string(watch->remote_pid()) + ")");

    wait_for_stop();
    calls->stop();
    watch->stop();
    return kExitStopped;
}

}  // namespace liteipc::bridge
