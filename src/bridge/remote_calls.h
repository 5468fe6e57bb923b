// The importing side of the wire: calls to the exporting bridge, each on a Calls stream that
// stays open for the next one (a message on an open stream costs about half a unary call).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "bridge.grpc.pb.h"

namespace liteipc::bridge {

// The import child's one completion queue and the one thread that takes its events: the watch's
// and every call stream's, each handed to the Completion its tag points to. One thread polls
// gRPC's connection: with a queue per worker besides the watch's, gRPC handed the polling role
// back and forth between the watch's thread and the worker on every reply (four wake-ups more
// per call, seen with perf sched).
class WireQueue {
public:
    struct Completion {
        virtual void completed(bool ok) = 0;  // on the queue's thread: be brief, never block

    protected:
        ~Completion() = default;
    };

    WireQueue();
    WireQueue(const WireQueue&) = delete;
    WireQueue& operator=(const WireQueue&) = delete;
    ~WireQueue();  // shuts the queue down once every operation came back

    grpc::CompletionQueue& queue() { return queue_; }

private:
    grpc::CompletionQueue queue_;
    std::thread thread_;
};

// One Calls stream, used by one worker at a time: the worker writes its request (gRPC sends it
// from this thread) and waits for its reply, which the WireQueue's thread hands over, no longer
// than the call's deadline.
class RemoteStream {
public:
    using SteadyDeadline = std::chrono::steady_clock::time_point;
    enum class Outcome { replied, timed_out, ended };

    RemoteStream(wire::Bridge::Stub& stub, WireQueue& wire);
    RemoteStream(const RemoteStream&) = delete;
    RemoteStream& operator=(const RemoteStream&) = delete;
    ~RemoteStream();  // cancels the stream if it is open and waits for gRPC to let go of it

    // Sends `request` (numbered here) and, unless it is oneway, reads its reply into `reply`.
    // timed_out: the deadline passed first; ended: the stream is over, end_status() says why.
    // Either way the stream cannot be used again.
    Outcome call(wire::CallRequest& request, wire::CallReply& reply, SteadyDeadline deadline);
    // Why the stream ended (after Outcome::ended).
    const grpc::Status& end_status() const { return end_status_; }

private:
    enum Tag : uintptr_t { kStart, kWrite, kRead, kFinish, kTags };
    struct Op final : WireQueue::Completion {
        RemoteStream* stream = nullptr;
        Tag tag = kStart;
        void completed(bool ok) override { stream->completed(tag, ok); }
    };
    void completed(Tag tag, bool ok);
    void* expect(Tag tag);  // marks `tag` pending; its gRPC tag
    // Waits until every tag in `tags` came back, or `deadline`; false on the deadline. ok_[tag]
    // tells how each went.
    bool await(std::initializer_list<Tag> tags, SteadyDeadline deadline);
    void finish();  // fetches the end status, once no read or write is out

    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientAsyncReaderWriterInterface<wire::CallRequest, wire::CallReply>> stream_;
    Op ops_[kTags];
    std::mutex mutex_;
    std::condition_variable changed_;
    bool pending_[kTags] = {};
    bool ok_[kTags] = {};
    bool awaited_[kTags] = {};  // what the worker waits for now
    bool finished_ = false;  // end_status_ is known
    uint64_t last_id_ = 0;
    grpc::Status end_status_;
};

// The streams of one import: a call borrows an idle one or opens another, so there are as many
// as calls have overlapped (at most the import's workers).
class RemoteCalls {
public:
    RemoteCalls(wire::Bridge::Stub& stub, WireQueue& wire) : stub_(stub), wire_(wire) {}

    // Like RemoteStream::call; the stream goes back to the idle ones when it can be used again.
    RemoteStream::Outcome call(wire::CallRequest& request, wire::CallReply& reply,
                               RemoteStream::SteadyDeadline deadline, grpc::Status& end_status);

private:
    wire::Bridge::Stub& stub_;
    WireQueue& wire_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<RemoteStream>> idle_;
};

}  // namespace liteipc::bridge
