// The exports' streams on one completion queue, polled by one thread (ExportService in
// export_server.h). Each stream is an object that asks gRPC for the next stream of its kind,
// serves the one it got, and deletes itself once gRPC said the call is done and none of its
// operations is out: an operation is counted before it starts, and uncounted after the poller
// handled its completion (or, for a call handed to a stream's own thread, after that thread
// started the next operation).
#include <condition_variable>
#include <functional>
#include <thread>
#include <utility>

#include "common/log.h"
#include "export_server.h"
#include "tls.h"

namespace liteipc::bridge {

namespace {

class QueueStream;

// What the queue hands back: which stream, which of its operations.
struct QueueTag {
    QueueStream* stream;
    int op;
};

enum QueueOp { kAccept, kRead, kWrite, kFinish, kDone, kQueueOps };

class QueueStream {
public:
    explicit QueueStream(ExportService& exports) : exports_(exports) {
        for (int op = 0; op < kQueueOps; ++op) tags_[op] = {this, op};
        exports_.stream_born();
    }
    QueueStream(const QueueStream&) = delete;
    QueueStream& operator=(const QueueStream&) = delete;
    virtual ~QueueStream() { exports_.stream_gone(); }

    // On the poller: an operation came back.
    void completed(int op, bool ok) {
        if (op == kDone) return mark_done();
        on(op, ok);
        // A stream gRPC never matched (the server is stopping) gets no done event; the accept
        // still counted keeps it until end().
        if (op == kAccept && !ok) mark_done();
        end();
    }

protected:
    virtual void on(int op, bool ok) = 0;

    void* tag(QueueOp op) { return &tags_[op]; }
    // Counts an operation (or a job of the stream's own thread) about to start; false once the
    // stream is being deleted.
    bool begin() {
        std::lock_guard lock(mutex_);
        if (dying_) return false;
        ++outstanding_;
        return true;
    }
    // Uncounts one; the last one after gRPC's done deletes the stream.
    void end() {
        bool gone;
        {
            std::lock_guard lock(mutex_);
            gone = --outstanding_ == 0 && done_;
            dying_ = gone;
        }
        if (gone) delete this;
    }

    ExportService& exports_;
    grpc::ServerContext context_;

private:
    void mark_done() {
        bool gone;
        {
            std::lock_guard lock(mutex_);
            done_ = true;
            gone = outstanding_ == 0;
            dying_ = gone;
        }
        if (gone) delete this;
    }

    QueueTag tags_[kQueueOps];
    std::mutex mutex_;
    unsigned outstanding_ = 0;
    bool done_ = false, dying_ = false;
};

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

// One Calls stream: read a call, send it to the local service, write its answer, read the next.
// An answer in within kLocalAnswerSpin is written by the poller that read the call (when the
// last one came that fast); a slower one, and a oneway message (which may wait for room), go to
// the stream's SlowLane, so that the poller never waits on a local service. One call at a time:
// exactly one of a read, a write, a finish or a call is under way.
class CallsStream final : public QueueStream {
public:
    explicit CallsStream(ExportService& exports) : QueueStream(exports), stream_(&context_) {
        context_.AsyncNotifyWhenDone(tag(kDone));
        begin();
        exports.async().RequestCalls(&context_, &stream_, &exports.queue(), &exports.queue(), tag(kAccept));
    }
    ~CallsStream() override {
        if (counted_) --exports_.counters().streams;
    }

private:
    void on(int op, bool ok) override {
        switch (op) {
            case kAccept:
                if (!ok) return;
                new CallsStream(exports_);  // the next stream's wait
                if (auto slot = exports_.take_slot(context_); !slot) {
                    return finish({grpc::StatusCode::RESOURCE_EXHAUSTED, slot.error().message});
                } else {
                    slot_.emplace(std::move(*slot));
                }
                identity_ = caller_identity(context_);
                ++exports_.counters().streams;
                counted_ = true;
                return read();
            case kRead: return ok ? serve() : finish(grpc::Status::OK);  // closed or cancelled by the importer
            case kWrite: return ok ? read() : finish(grpc::Status::OK);
            default: return;  // kFinish: nothing more to do
        }
    }

    void read() {
        begin();
        stream_.Read(&request_, tag(kRead));
    }
    void finish(const grpc::Status& status) {
        begin();
        stream_.Finish(status, tag(kFinish));
    }
    void serve() {
        LocalCall call = exports_.start_call(identity_, request_);
        if (call.outcome_within(last_answer_quick_ ? kLocalAnswerSpin : std::chrono::microseconds(0)))
            return answer(call, true);
        begin();  // the lane's job: the stream stays until it started the next operation
        // Only a call that goes to the lane is moved to the heap (std::function copies its job).
        lane_.run([this, slow = std::make_shared<LocalCall>(std::move(call))] {
            answer(*slow, slow->outcome_within(std::chrono::microseconds(0)));
            end();
        });
    }
    // `answered`: the outcome was in before anyone waited for it.
    void answer(LocalCall& call, bool answered) {
        reply_.Clear();
        const auto begun = std::chrono::steady_clock::now();
        const bool write = exports_.finish_call(call, request_, reply_);
        // Quick: the service answered within the spin, or before the lane took the call (the
        // lane's own wake-up, slow on a loaded host, is no reason to stop polling); and the answer
        // was copied out within it.
        const auto now = std::chrono::steady_clock::now();
        last_answer_quick_ = now - call.started <= kLocalAnswerSpin || (answered && now - begun <= kLocalAnswerSpin);
        if (!write) return read();
        begin();
        stream_.Write(reply_, tag(kWrite));
    }

    grpc::ServerAsyncReaderWriter<wire::CallReply, wire::CallRequest> stream_;
    std::optional<StreamSlot> slot_;
    std::string identity_;
    bool counted_ = false;
    wire::CallRequest request_;
    wire::CallReply reply_;
    SlowLane lane_;
    // Whether the last answer came within the spin: a service that takes longer (a slow one, or
    // a large message to copy in and out) is not polled for, which would only take the CPU it needs.
    bool last_answer_quick_ = true;
};

// A watch: one ServiceReady, then the stream stays open until the service dies (NOT_FOUND), the
// importer goes (cancel) or the server stops. The death callback runs on another thread than the
// poller; `state` is what both may touch.
class WatchStream final : public QueueStream {
public:
    explicit WatchStream(ExportService& exports)
        : QueueStream(exports), writer_(&context_), state_(std::make_shared<WatchState>()) {
        state_->watch = this;
        context_.AsyncNotifyWhenDone(tag(kDone));
        begin();
        exports.async().RequestWatch(&context_, &request_, &writer_, &exports.queue(), &exports.queue(), tag(kAccept));
    }
    ~WatchStream() override {
        {
            std::lock_guard lock(state_->mutex);
            state_->watch = nullptr;
        }
        subscription_.reset();
        if (counted_) --exports_.counters().watches;
    }

private:
    struct WatchState {
        std::mutex mutex;
        WatchStream* watch = nullptr;  // null once the stream goes
        bool writing = false;
        bool finished = false;
        std::optional<grpc::Status> pending;  // a finish that waits for the write in flight
    };

    void on(int op, bool ok) override {
        if (op == kAccept && ok) return accepted();
        if (op != kWrite) return;
        std::lock_guard lock(state_->mutex);
        state_->writing = false;
        if (!ok && !state_->finished) state_->pending = grpc::Status(grpc::StatusCode::CANCELLED, "write failed");
        if (state_->pending && !state_->finished) start_finish(*state_->pending);
    }

    void accepted() {
        new WatchStream(exports_);  // the next watch's wait
        auto slot = exports_.take_slot(context_);
        if (!slot) return finish(*state_, {grpc::StatusCode::RESOURCE_EXHAUSTED, slot.error().message});
        slot_.emplace(std::move(*slot));
        PeerId service;
        if (auto refused = exports_.watch_target(caller_identity(context_), request_.service(), service); !refused.ok())
            return finish(*state_, refused);
        ++exports_.counters().watches;
        counted_ = true;
        ready_.set_pid(service.pid);
        {
            std::lock_guard lock(state_->mutex);
            state_->writing = true;
            begin();
            writer_.Write(ready_, tag(kWrite));
        }
        // Subscribed outside the lock: on_death calls back at once when the service is gone already.
        auto subscription = exports_.context().on_death(service, [state = state_](const DeathNotice&) {
            finish(*state, {grpc::StatusCode::NOT_FOUND, "service died"});
        });
        if (!subscription) finish(*state_, {grpc::StatusCode::INTERNAL, subscription.error().describe()});
        else subscription_ = std::move(*subscription);
    }

    // Under state.mutex.
    void start_finish(const grpc::Status& status) {
        if (!begin()) return;  // the stream is going: gRPC is done with it
        state_->finished = true;
        writer_.Finish(status, tag(kFinish));
    }
    static void finish(WatchState& state, grpc::Status status) {
        std::lock_guard lock(state.mutex);
        if (!state.watch || state.finished) return;
        if (state.writing) {
            if (!state.pending) state.pending = std::move(status);
            return;
        }
        state.watch->start_finish(status);
    }

    grpc::ServerAsyncWriter<wire::ServiceReady> writer_;
    wire::WatchRequest request_;
    std::shared_ptr<WatchState> state_;
    std::optional<StreamSlot> slot_;
    bool counted_ = false;
    wire::ServiceReady ready_;
    DeathSubscription subscription_;
};

}  // namespace

void ExportService::add_to(grpc::ServerBuilder& builder) {
    builder.RegisterService(&async_);
    queue_ = builder.AddCompletionQueue();
}

void ExportService::start() {
    new CallsStream(*this);
    new WatchStream(*this);
    poller_ = std::thread([this] {
        void* tag = nullptr;
        bool ok = false;
        while (queue_->Next(&tag, &ok)) {
            auto* event = static_cast<QueueTag*>(tag);
            event->stream->completed(event->op, ok);
        }
    });
}

void ExportService::stop() {
    if (!poller_.joinable()) return;
    {
        std::unique_lock lock(streams_mutex_);
        streams_changed_.wait(lock, [&] { return streams_alive_ == 0; });
    }
    queue_->Shutdown();
    poller_.join();
}

ExportService::~ExportService() { stop(); }

void ExportService::stream_born() {
    std::lock_guard lock(streams_mutex_);
    ++streams_alive_;
}

void ExportService::stream_gone() {
    std::lock_guard lock(streams_mutex_);
    if (--streams_alive_ == 0) streams_changed_.notify_all();
}

}  // namespace liteipc::bridge
