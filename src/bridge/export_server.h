// The serving half: the gRPC service that takes calls from importing bridges, checks the
// caller's certificate identity against the exports, and calls the local services.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "bridge.grpc.pb.h"
#include "config.h"
#include "liteipc/ipc.h"

namespace liteipc::bridge {

// What this bridge counted, as the status service reports it.
struct ExportCounters {
    std::atomic<uint64_t> calls{0};    // answered calls, whatever their status
    std::atomic<uint64_t> oneway{0};   // oneway messages passed on
    std::atomic<uint64_t> refused{0};  // calls and watches refused: identity not allowed
    std::atomic<uint64_t> failed{0};   // calls that could not reach the local service
    std::atomic<uint64_t> watches{0};  // watches open now
    std::atomic<uint64_t> streams{0};  // Calls streams open now
    std::atomic<uint64_t> over_limit{0};  // streams refused: their source had limits.streams_per_source open
};

class StreamsPerSource;

// One open stream counted against its source; released when it goes. Move-only.
class StreamSlot {
public:
    StreamSlot() = default;
    StreamSlot(StreamsPerSource& owner, std::string source) : owner_(&owner), source_(std::move(source)) {}
    StreamSlot(StreamSlot&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), source_(std::move(other.source_)) {}
    StreamSlot& operator=(StreamSlot&&) = delete;
    ~StreamSlot();

private:
    StreamsPerSource* owner_ = nullptr;
    std::string source_;
};

// Calls and Watch streams open per peer address. gRPC (1.51) bounds streams per connection,
// not connections per address, so a peer could open connection after connection: this bounds
// what one address holds, whatever it spreads them over.
class StreamsPerSource {
public:
    explicit StreamsPerSource(unsigned limit) : limit_(limit) {}
    // A slot for a stream from gRPC's peer string ("ipv4:10.0.0.1:5555"); none at the limit.
    std::optional<StreamSlot> take(const std::string& peer);

private:
    friend class StreamSlot;
    void release(const std::string& source);

    const unsigned limit_;
    std::mutex mutex_;
    std::map<std::string, unsigned> open_;
};

// A liteipc error as the gRPC status the importing bridge turns into its caller's status.
grpc::Status grpc_status_of(const Error& error);

// How long a gRPC thread polls for a local service's answer before it hands the call to the
// stream's own thread: a local answer takes tens of microseconds, a gRPC message hundreds.
inline constexpr std::chrono::microseconds kLocalAnswerSpin{100};

// A call of a stream to its local service, from its start to its answer.
struct LocalCall {
    grpc::Status status;                  // not OK: refused, or failed before reaching the service
    std::shared_ptr<Connection> connection;
    const Peer* peer = nullptr;
    std::chrono::milliseconds timeout{};
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::optional<PendingReply> pending;  // a two-way call sent, its answer to come

    // True when the outcome is known now or within `spin`: an error, or the answer in. A oneway
    // message is sent by finish_call, which may wait for room: never "within".
    bool outcome_within(std::chrono::nanoseconds spin) const;
};

// The exports' gRPC service, served asynchronously on one completion queue polled by one thread
// (export_streams.cpp): a call read from the network is sent to the local service, and a quick
// answer written back, by that thread, so no other thread is woken on the way. gRPC's callback
// API would run two threads that hand the polling role to each other on every event.
class ExportService {
public:
    ExportService(const BridgeConfig& config, Context& context, ExportCounters& counters)
        : config_(config), context_(context), counters_(counters), streams_per_source_(config.limits.streams_per_source) {}
    ~ExportService();

    // Registers Calls and Watch and this service's completion queue; before BuildAndStart.
    void add_to(grpc::ServerBuilder& builder);
    // Waits for streams and serves them on one thread; after BuildAndStart.
    void start();
    // After the server's Shutdown, which ends every stream: waits until each let go (a call in a
    // local service finishes first), then ends the queue and its thread.
    void stop();

    // Checks the call of the peer with certificate identity `identity` and sends a two-way call
    // on to the local service without waiting for it.
    LocalCall start_call(const std::string& identity, const wire::CallRequest& request);
    // Sends a oneway message, or waits for the answer; `reply` carries the answer or the error,
    // counted. False when there is nothing to send back (oneway).
    bool finish_call(LocalCall& call, const wire::CallRequest& request, wire::CallReply& reply);
    // The local service a peer with `identity` may watch, in `target`; else the refusal, counted.
    grpc::Status watch_target(const std::string& identity, const std::string& service, PeerId& target);
    // A slot for a new stream of `server_context`'s source; else the refusal, counted and logged.
    Result<StreamSlot> take_slot(const grpc::ServerContextBase& server_context);

    Context& context() { return context_; }
    ExportCounters& counters() { return counters_; }
    wire::Bridge::AsyncService& async() { return async_; }
    grpc::ServerCompletionQueue& queue() { return *queue_; }
    // Streams alive (waiting, open or ending); stop() waits for none.
    void stream_born();
    void stream_gone();

private:
    // The peer with `identity`, if it may reach `service`; else the refusal, counted.
    Result<const Peer*> admit(const std::string& identity, const std::string& service, bool need_allow);
    // One connection per exported service, opened again once its service is gone.
    Result<std::shared_ptr<Connection>> connection_to(const std::string& service);
    // A request of `call`'s peer as a liteipc message on `connection`: what decoding its payload
    // failed with, if it did.
    grpc::Status fill(Request& local, const LocalCall& call, const wire::CallRequest& request);
    grpc::Status send_oneway(const LocalCall& call, const wire::CallRequest& request);
    grpc::Status await_answer(LocalCall& call, const wire::CallRequest& request, wire::CallReply& reply);

    const BridgeConfig& config_;
    Context& context_;
    ExportCounters& counters_;
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Connection>> connections_;
    StreamsPerSource streams_per_source_;

    wire::Bridge::AsyncService async_;
    std::unique_ptr<grpc::ServerCompletionQueue> queue_;
    std::thread poller_;
    std::mutex streams_mutex_;
    std::condition_variable streams_changed_;
    unsigned streams_alive_ = 0;
};

}  // namespace liteipc::bridge
