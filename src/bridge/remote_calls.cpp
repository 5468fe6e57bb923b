#include "remote_calls.h"

namespace liteipc::bridge {

WireQueue::WireQueue() {
    thread_ = std::thread([this] {
        void* tag = nullptr;
        bool ok = false;
        while (queue_.Next(&tag, &ok)) static_cast<Completion*>(tag)->completed(ok);
    });
}

WireQueue::~WireQueue() {
    queue_.Shutdown();
    thread_.join();
}

RemoteStream::RemoteStream(wire::Bridge::Stub& stub, WireQueue& wire)
    : stream_(stub.PrepareAsyncCalls(&context_, &wire.queue())) {
    for (uintptr_t tag = 0; tag < kTags; ++tag) {
        ops_[tag].stream = this;
        ops_[tag].tag = static_cast<Tag>(tag);
    }
    stream_->StartCall(expect(kStart));  // sends the headers once connected; no answer awaited
}

RemoteStream::~RemoteStream() {
    if (!finished_) {  // still open: cancel it, then collect what gRPC hands back
        context_.TryCancel();
        await({kStart, kWrite, kRead}, SteadyDeadline::max());
        finish();
    }
}

void RemoteStream::completed(Tag tag, bool ok) {
    // Notified under the lock: the waiter may destroy the stream as soon as it sees the tag back.
    // Only once all it waits for came back: a write's completion alone does not wake it.
    std::lock_guard lock(mutex_);
    pending_[tag] = false;
    ok_[tag] = ok;
    bool waiting = false;
    for (int other = 0; other < kTags; ++other) waiting = waiting || (awaited_[other] && pending_[other]);
    if (!waiting) changed_.notify_one();
}

void* RemoteStream::expect(Tag tag) {
    std::lock_guard lock(mutex_);
    pending_[tag] = true;
    return &ops_[tag];
}

bool RemoteStream::await(std::initializer_list<Tag> tags, SteadyDeadline deadline) {
    auto back = [&] {
        for (Tag tag : tags)
            if (pending_[tag]) return false;
        return true;
    };
    std::unique_lock lock(mutex_);
    for (Tag tag : tags) awaited_[tag] = true;
    bool all_back = true;
    if (deadline == SteadyDeadline::max()) changed_.wait(lock, back);
    else all_back = changed_.wait_until(lock, deadline, back);
    for (bool& awaited : awaited_) awaited = false;
    return all_back;
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
    stream_->Write(request, expect(kWrite));
    if (!request.oneway()) stream_->Read(&reply, expect(kRead));
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
    if (!stream) stream = std::make_unique<RemoteStream>(stub_, wire_);
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
