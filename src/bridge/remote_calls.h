// The importing side of the wire: calls to the exporting bridge, each on a Calls stream that
// stays open for the next one (a message on an open stream costs about half a unary call).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "bridge.grpc.pb.h"

namespace liteipc::bridge {

// One Calls stream on a completion queue of its own, used by one worker at a time: the worker
// writes its request (gRPC sends it from the worker's thread) and waits on the queue for the
// reply, no longer than the call's deadline. It polls for the reply first, for up to `poll`
// (`reply_poll_us`), and sleeps only after: a thread woken on an idle CPU runs 15-25 us later on
// a virtual machine (perf sched), and a quick peer's reply (a host nearby, a quick service) comes
// within the poll, which saves that wake-up on every call.
class RemoteStream {
public:
    using SteadyDeadline = std::chrono::steady_clock::time_point;
    enum class Outcome { replied, timed_out, ended };

    RemoteStream(wire::Bridge::Stub& stub, std::chrono::microseconds poll);
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
    void* expect(Tag tag);  // marks `tag` pending; its gRPC tag
    // Takes the queue's events until every tag in `tags` came back, or `deadline`; false on the
    // deadline. ok_[tag] tells how each went. For the first `poll`, looks without sleeping.
    bool await(std::initializer_list<Tag> tags, SteadyDeadline deadline,
               std::chrono::microseconds poll = std::chrono::microseconds(0));
    // The queue's next event, waiting no later than `deadline` (max: for as long as it takes).
    grpc::CompletionQueue::NextStatus next(void** tag, bool* ok, SteadyDeadline deadline);
    void finish();  // fetches the end status, once no read or write is out

    const std::chrono::microseconds poll_;
    grpc::CompletionQueue queue_;  // destroyed after the stream that uses it
    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientAsyncReaderWriterInterface<wire::CallRequest, wire::CallReply>> stream_;
    bool pending_[kTags] = {};
    bool ok_[kTags] = {};
    bool finished_ = false;  // end_status_ is known
    uint64_t last_id_ = 0;
    // Whether the last reply came within the poll: a peer that takes longer (a slow network or
    // service) is not polled for, which would only burn the CPU.
    bool last_reply_quick_ = true;
    grpc::Status end_status_;
};

// The streams of one import: a call borrows an idle one or opens another, so there are as many
// as calls have overlapped (at most the import's workers).
class RemoteCalls {
public:
    RemoteCalls(wire::Bridge::Stub& stub, std::chrono::microseconds poll) : stub_(stub), poll_(poll) {}

    // Like RemoteStream::call; the stream goes back to the idle ones when it can be used again.
    RemoteStream::Outcome call(wire::CallRequest& request, wire::CallReply& reply,
                               RemoteStream::SteadyDeadline deadline, grpc::Status& end_status);

private:
    wire::Bridge::Stub& stub_;
    const std::chrono::microseconds poll_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<RemoteStream>> idle_;
};

}  // namespace liteipc::bridge
