#include "remote_calls.h"

#include <sched.h>

#include "polled_stream.h"

namespace liteipc::bridge {

RemoteStream::RemoteStream(wire::Bridge::Stub& stub, std::chrono::microseconds poll)
    : poll_(poll), stream_(stub.PrepareAsyncCalls(&context_, &queue_)) {
    stream_->StartCall(expect(kStart));  // sends the headers once connected; no answer awaited
}

RemoteStream::~RemoteStream() {
    if (!finished_) {  // still open: cancel it, then collect what gRPC hands back
        context_.TryCancel();
        await({kStart, kWrite, kRead}, SteadyDeadline::max());
        finish();
    }
    shut_down(queue_);
}

void* RemoteStream::expect(Tag tag) {
    pending_[tag] = true;
    return reinterpret_cast<void*>(static_cast<uintptr_t>(tag));
}

bool RemoteStream::await(std::initializer_list<Tag> tags, SteadyDeadline deadline, std::chrono::microseconds poll) {
    auto back = [&] {
        for (Tag tag : tags)
            if (pending_[tag]) return false;
        return true;
    };
    const auto poll_until = std::min(deadline, std::chrono::steady_clock::now() + poll);
    while (!back()) {
        void* tag = nullptr;
        bool ok = false;
        const bool polling = poll.count() > 0 && std::chrono::steady_clock::now() < poll_until;
        const auto status = next(&tag, &ok, polling ? std::chrono::steady_clock::now() : deadline);
        if (polling && status == grpc::CompletionQueue::TIMEOUT) {
            sched_yield();  // whatever else wants this CPU runs first (the peer, on one host)
            continue;
        }
        if (status != grpc::CompletionQueue::GOT_EVENT) return false;
        const auto which = static_cast<Tag>(reinterpret_cast<uintptr_t>(tag));
        pending_[which] = false;
        ok_[which] = ok;
    }
    return true;
}

grpc::CompletionQueue::NextStatus RemoteStream::next(void** tag, bool* ok, SteadyDeadline deadline) {
    if (deadline == SteadyDeadline::max())
        return queue_.Next(tag, ok) ? grpc::CompletionQueue::GOT_EVENT : grpc::CompletionQueue::SHUTDOWN;
    return queue_.AsyncNext(tag, ok, deadline_in(deadline - std::chrono::steady_clock::now()));
}

void RemoteStream::finish() {
    stream_->Finish(&end_status_, expect(kFinish));
    await({kFinish}, SteadyDeadline::max());
    finished_ = true;
}

RemoteStream::Outcome RemoteStream::call(wire::CallRequest& request, wire::CallReply& reply, SteadyDeadline deadline) {
    request.set_id(++last_id_);
    // A Write would reuse the op set the start is in; the start waits for a connection, so it too
    // is bounded by the call's deadline.
    if (!await({kStart}, deadline)) return Outcome::timed_out;
    if (!ok_[kStart]) {
        finish();
        return Outcome::ended;
    }
    const auto sent = std::chrono::steady_clock::now();
    stream_->Write(request, expect(kWrite));
    if (!request.oneway()) stream_->Read(&reply, expect(kRead));
    const auto poll = last_reply_quick_ && !request.oneway() ? poll_ : std::chrono::microseconds(0);
    if (!await({kStart, kWrite, kRead}, deadline, poll)) return Outcome::timed_out;  // the destructor cancels it
    last_reply_quick_ = std::chrono::steady_clock::now() - sent <= poll_;
    if (ok_[kWrite] && (request.oneway() || ok_[kRead])) {
        if (request.oneway() || reply.id() == request.id()) return Outcome::replied;
        // Each stream carries one call at a time: another call's reply means the peer is confused.
        context_.TryCancel();
        finish();
        end_status_ = grpc::Status(grpc::StatusCode::INTERNAL, "reply " + std::to_string(reply.id()) + " to call " +
                                                                   std::to_string(request.id()));
        return Outcome::ended;
    }
    finish();
    return Outcome::ended;
}

RemoteStream::Outcome RemoteCalls::call(wire::CallRequest& request, wire::CallReply& reply,
                                        RemoteStream::SteadyDeadline deadline, grpc::Status& end_status) {
    std::unique_ptr<RemoteStream> stream;
    {
        std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            stream = std::move(idle_.back());
            idle_.pop_back();
        }
    }
    if (!stream) stream = std::make_unique<RemoteStream>(stub_, poll_);
    const auto outcome = stream->call(request, reply, deadline);
    if (outcome == RemoteStream::Outcome::replied) {
        std::lock_guard lock(mutex_);
        idle_.push_back(std::move(stream));
    } else if (outcome == RemoteStream::Outcome::ended) {
        end_status = stream->end_status();
    }
    return outcome;
}

}  // namespace liteipc::bridge
