#include "remote_calls.h"

namespace liteipc::bridge {

namespace {
void* tag_of(uintptr_t tag) { return reinterpret_cast<void*>(tag); }
}  // namespace

RemoteStream::RemoteStream(wire::Bridge::Stub& stub) : stream_(stub.PrepareAsyncCalls(&context_, &queue_)) {
    stream_->StartCall(tag_of(kStart));  // sends the headers once connected; no answer awaited
    pending_[kStart] = true;
}

RemoteStream::~RemoteStream() {
    if (!finished_) {  // still open: cancel it, then collect what gRPC hands back
        context_.TryCancel();
        await({kStart, kWrite, kRead}, SteadyDeadline::max());
        finish();
    }
    queue_.Shutdown();
    void* tag;
    bool ok;
    while (queue_.Next(&tag, &ok)) {
    }
}

bool RemoteStream::await(std::initializer_list<Tag> tags, SteadyDeadline deadline) {
    auto waiting = [&] {
        for (Tag tag : tags)
            if (pending_[tag]) return true;
        return false;
    };
    const auto until = deadline == SteadyDeadline::max() ? gpr_inf_future(GPR_CLOCK_MONOTONIC)
                                                   : gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                                                  gpr_time_from_nanos(std::max<int64_t>(
                                                                      (deadline - std::chrono::steady_clock::now()).count(), 0),
                                                                                      GPR_TIMESPAN));
    while (waiting()) {
        void* tag;
        bool ok;
        if (queue_.AsyncNext(&tag, &ok, until) != grpc::CompletionQueue::GOT_EVENT) return false;
        const auto index = reinterpret_cast<uintptr_t>(tag);
        pending_[index] = false;
        ok_[index] = ok;
    }
    return true;
}

void RemoteStream::finish() {
    stream_->Finish(&end_status_, tag_of(kFinish));
    pending_[kFinish] = true;
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
    stream_->Write(request, tag_of(kWrite));
    pending_[kWrite] = true;
    if (!request.oneway()) {
        stream_->Read(&reply, tag_of(kRead));
        pending_[kRead] = true;
    }
    if (!await({kStart, kWrite, kRead}, deadline)) return Outcome::timed_out;  // the destructor cancels it
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
    if (!stream) stream = std::make_unique<RemoteStream>(stub_);
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
