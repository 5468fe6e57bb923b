// A gRPC stream that its owner's thread waits on by looking at it now and then, never by waiting
// inside gRPC. gRPC (1.51, epoll1) makes one of the threads waiting on any completion queue of
// the process the poller of every socket, and hands that role on whenever the poller's own queue
// has an event: a thread waiting on a long-lived stream (the import child's watch, discovery's
// etcd watch and lease keep-alive) would take the socket events of the calls and wake their
// thread for each one (bridge_bench --cluster: 5.8 context switches per 64 B call at the serving
// bridge with discovery's watch waiting in gRPC, 2.1 without it). The price: what arrives on
// such a stream is seen up to one look later. A look also reads whatever else gRPC has for the
// process (a keepalive ping's answer, when no call is under way): it comes well within the
// keepalive timeout.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <thread>

namespace liteipc::bridge {

inline constexpr std::chrono::milliseconds kLookEvery{50};

// Shuts `queue` down and takes what is left in it: a queue may go only then.
inline void shut_down(grpc::CompletionQueue& queue) {
    queue.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (queue.Next(&tag, &ok)) {
    }
}

// A completion queue's deadline `from_now`; none, when that is not in the future. gRPC rounds a
// deadline up to the next millisecond: "now" would wait in epoll for up to 1 ms, time zero does
// not wait at all.
inline gpr_timespec deadline_in(std::chrono::nanoseconds from_now) {
    if (from_now.count() <= 0) return gpr_time_0(GPR_CLOCK_MONOTONIC);
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_nanos(from_now.count(), GPR_TIMESPAN));
}

// `AsyncStream`: a client-side asynchronous stream (grpc::ClientAsyncReaderInterface or
// ClientAsyncReaderWriterInterface). One operation at a time, from one thread; finish() before
// the stream goes. Each operation returns whether gRPC says it went through; the first that did
// not ends the stream (then finish() says why).
template <typename AsyncStream>
class PolledStream {
public:
    // `prepare(queue)`: the stub's PrepareAsync... call on `queue`; the call starts here. Until
    // `waiting_until`, operations wait inside gRPC (the connection's handshake and the first
    // answer are read at once, while no call is under way); after it, or stop_waiting(), they
    // look every `look_every`.
    template <typename Prepare>
    explicit PolledStream(Prepare prepare, std::chrono::milliseconds look_every = kLookEvery,
                          std::chrono::steady_clock::time_point waiting_until = std::chrono::steady_clock::time_point{})
        : look_every_(look_every), waiting_until_(waiting_until), stream_(prepare(&queue_)) {
        stream_->StartCall(this);
        started_ = wait();
    }
    PolledStream(const PolledStream&) = delete;
    PolledStream& operator=(const PolledStream&) = delete;
    ~PolledStream() { shut_down(queue_); }

    template <typename Message>
    bool write(const Message& message) {
        if (!started_) return false;
        stream_->Write(message, this);
        return wait();
    }
    template <typename Message>
    bool read(Message* message) {
        if (!started_) return false;
        stream_->Read(message, this);
        return wait();
    }
    void stop_waiting() { waiting_until_ = {}; }
    grpc::Status finish() {
        grpc::Status status;
        stream_->Finish(&status, this);
        wait();
        return status;
    }

private:
    bool wait() {
        for (;;) {
            void* tag = nullptr;
            bool ok = false;
            const auto now = std::chrono::steady_clock::now();
            const bool waiting = now < waiting_until_;
            switch (queue_.AsyncNext(&tag, &ok, deadline_in(waiting ? waiting_until_ - now : std::chrono::nanoseconds(0)))) {
                case grpc::CompletionQueue::GOT_EVENT: return ok;
                case grpc::CompletionQueue::SHUTDOWN: return false;
                case grpc::CompletionQueue::TIMEOUT:
                    if (!waiting) std::this_thread::sleep_for(look_every_);
                    break;
            }
        }
    }

    const std::chrono::milliseconds look_every_;
    std::chrono::steady_clock::time_point waiting_until_;
    grpc::CompletionQueue queue_;  // destroyed after the stream that uses it
    std::unique_ptr<AsyncStream> stream_;
    bool started_ = false;
};

}  // namespace liteipc::bridge
