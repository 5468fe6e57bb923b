#include "import_child.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "bridge.grpc.pb.h"
#include "common/log.h"
#include "liteipc/ipc.h"
#include "polled_stream.h"
#include "remote_calls.h"
#include "tls.h"
#include "wire.h"

namespace liteipc::bridge {

namespace {

// The one way this process ends when the peer is gone: a real exit the kernel reports.
[[noreturn]] void lose_peer(const std::string& why) {
    LITEIPC_LOG(warn, "peer lost: %s; exiting so that local clients see the service's death", why.c_str());
    std::fflush(stderr);
    ::_exit(kExitPeerLost);
}

bool is_loss(const grpc::Status& status) {
    return status.error_code() == grpc::StatusCode::UNAVAILABLE || status.error_code() == grpc::StatusCode::NOT_FOUND;
}

// The watch on the remote service, read by a thread of its own: ready once its ServiceReady
// arrived; its end while we serve is the peer's loss. Until the first answer the thread waits
// inside gRPC (no call is under way yet); then it looks every `look_every` (polled_stream.h), so
// that the replies' socket events go to the workers waiting for them.
class RemoteWatch {
public:
    RemoteWatch(wire::Bridge::Stub& stub, const std::string& service, std::chrono::milliseconds probe_timeout,
                std::chrono::milliseconds look_every) {
        request_.set_service(service);
        thread_ = std::thread([this, &stub, probe_timeout, look_every] { run(stub, probe_timeout, look_every); });
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

    // Cancels the watch and waits until gRPC let go of it.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            cancelled_on_purpose_ = true;
        }
        context_.TryCancel();
        thread_.join();
    }

private:
    // The one ServiceReady, then a read that lasts until the stream ends; then its status.
    void run(wire::Bridge::Stub& stub, std::chrono::milliseconds probe_timeout, std::chrono::milliseconds look_every) {
        PolledStream<grpc::ClientAsyncReaderInterface<wire::ServiceReady>> stream(
            [&](grpc::CompletionQueue* queue) { return stub.PrepareAsyncWatch(&context_, request_, queue); },
            look_every, std::chrono::steady_clock::now() + probe_timeout);
        const bool ready = stream.read(&ready_);
        stream.stop_waiting();
        {
            std::lock_guard lock(mutex_);
            ready_seen_ = ready;
        }
        changed_.notify_all();
        wire::ServiceReady later;
        while (ready && stream.read(&later)) {
        }
        const grpc::Status end = stream.finish();
        std::lock_guard lock(mutex_);
        end_ = end;
        if (ready_seen_ && !cancelled_on_purpose_)
            lose_peer("watch ended (" + std::to_string(end.error_code()) + " " + end.error_message() + ")");
        done_ = true;
        changed_.notify_all();
    }

    grpc::ClientContext context_;
    wire::WatchRequest request_;
    wire::ServiceReady ready_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool ready_seen_ = false, done_ = false, cancelled_on_purpose_ = false;
    grpc::Status end_;
};

// Forwards one local call and writes the remote reply into it; returns the reply status.
class Forwarder {
public:
    Forwarder(const BridgeConfig& config, const Import& import, RemoteCalls& remote)
        : config_(config), import_(import), remote_(remote) {}

    int32_t operator()(Call& call) {
        wire::CallRequest request;
        request.set_service(import_.service);
        request.set_code(call.code());
        request.set_oneway(call.oneway());
        if (auto refusal = encode(call.payload(), Reader(call.payload(), call.request_options()),
                                  config_.max_message_bytes, *request.mutable_payload())) {
            LITEIPC_LOG(warn, "%s code %u from pid %d not forwarded: %s", import_.local_name().c_str(), call.code(),
                        static_cast<int>(call.caller().pid), refusal->reason.c_str());
            return refusal->status;
        }
        const auto deadline = forward_deadline(call);
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        request.set_timeout_ms(static_cast<uint32_t>(std::max<int64_t>(left.count(), 1)));
        wire::CallReply reply;
        grpc::Status end;
        switch (remote_.call(request, reply, deadline, end)) {
            case RemoteStream::Outcome::timed_out: return failure({grpc::StatusCode::DEADLINE_EXCEEDED, "no reply in time"});
            case RemoteStream::Outcome::ended: return failure(end);
            case RemoteStream::Outcome::replied: break;
        }
        if (call.oneway()) return 0;
        if (reply.error() != grpc::StatusCode::OK)
            return failure({static_cast<grpc::StatusCode>(reply.error()), reply.error_message()});
        return write_reply(call, reply);
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
        LITEIPC_LOG(warn, "%s: remote call failed: %d %s", import_.local_name().c_str(), static_cast<int>(status.error_code()),
                    status.error_message().c_str());
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
            LITEIPC_LOG(warn, "%s: reply not passed on: %s", import_.local_name().c_str(), message.error().describe().c_str());
            return message.error().code == Errc::no_memory ? kStatusTooLarge : kStatusMalformed;
        }
        if (auto adopted = call.adopt_reply(*message); !adopted) return kStatusMalformed;
        return reply.status();
    }

    const BridgeConfig& config_;
    const Import& import_;
    RemoteCalls& remote_;
};

// Who holds `name` on the loader, for the log: "pid P (uid U)".
std::string holder_of(const Context& context, const std::string& name) {
    auto holders = name_holders(context);
    if (!holders) return "another process (" + holders.error().describe() + ")";
    auto holder = holders->find(name);
    if (holder == holders->end()) return "another process (gone since)";
    return "pid " + std::to_string(holder->second.pid) + " (uid " + std::to_string(holder->second.uid) + ")";
}

}  // namespace

int run_import_child(const BridgeConfig& config, const Import& import, const Peer& peer,
                     const std::function<void()>& wait_for_stop) {
    auto channel = channel_to(config, peer);
    if (!channel) {
        LITEIPC_LOG(error, "%s", channel.error().describe().c_str());
        return kExitFailed;
    }
    auto stub = wire::Bridge::NewStub(*channel);
    // Bounded so that an unreachable peer costs one probe per retry, and a SIGTERM (blocked until
    // the child serves) waits no longer than this.
    const auto probe_timeout = std::min(config.call_timeout, 4 * config.keepalive);
    // Lives until the process ends (it leaves by _exit). Its looks also read the keepalive's
    // answers while no call is under way: several per keepalive timeout.
    auto* watch = new RemoteWatch(*stub, import.service, probe_timeout, std::min(kLookEvery, config.keepalive / 4));
    std::string why;
    if (!watch->wait_ready(probe_timeout, why)) {
        LITEIPC_LOG(info, "%s (%s): %s not available: %s", peer.name.c_str(), peer.address.c_str(), import.service.c_str(),
                    why.c_str());
        watch->stop();
        return kExitNotReady;
    }

    auto context = Context::open(config.context_options());
    if (!context) {
        LITEIPC_LOG(error, "liteipc context: %s", context.error().describe().c_str());
        return kExitFailed;
    }
    ServiceOptions options;
    options.name = import.local_name();
    options.policy = import.policy;
    options.workers = import.workers;
    options.reply_pool_bytes = std::max<uint64_t>(options.reply_pool_bytes, 4 * config.max_message_bytes);
    // The policy may have changed since the bridge started: a name others may take is not served.
    if (auto reserved = check_loader_reserves(*context, kImportPrefix); !reserved) {
        LITEIPC_LOG(error, "not registering %s: %s", options.name.c_str(), reserved.error().describe().c_str());
        return kExitFailed;
    }
    RemoteCalls remote(*stub, config.reply_poll);
    auto service = Service::start(*context, options, Forwarder(config, import, remote));
    if (!service && service.error().code == Errc::already_exists) {
        LITEIPC_LOG(error, "%s is registered by %s, not this bridge: its calls do not reach %s until it goes",
                    options.name.c_str(), holder_of(*context, options.name).c_str(), peer.name.c_str());
        return kExitNameTaken;
    }
    if (!service) {
        LITEIPC_LOG(error, "registering %s: %s", options.name.c_str(), service.error().describe().c_str());
        return kExitFailed;
    }
    LITEIPC_LOG(info, "serving %s for %s on %s (remote pid %lld)", options.name.c_str(), import.service.c_str(),
                peer.name.c_str(), static_cast<long long>(watch->remote_pid()));

    wait_for_stop();
    watch->stop();
    return kExitStopped;
}

}  // namespace liteipc::bridge
