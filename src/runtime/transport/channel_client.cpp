#include "transport/channel_client.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "transport/channel_descriptor.h"
#include "common/futex.h"
#include "common/log.h"

namespace liteipc::detail {

// ---------------------------------------------------------------------------------------------
// Client side

struct ClientState {
    ClientState(Mapping ctrl_mapping, Mapping request_mapping, Mapping reply_mapping, ControlView view,
                UniqueFd doorbell_fd, ClientOptions client_options)
        : ctrl(std::move(ctrl_mapping)), request_pool(std::move(request_mapping)),
          reply_pool(std::move(reply_mapping)), control(view), doorbell(std::move(doorbell_fd)),
          request_allocator(request_pool.size()),
          options(client_options), request_block_of_slot(view.slot_count(), kNoBlock),
          attachments_of_slot(view.slot_count()) {
        free_slots.reserve(view.slot_count());
        for (uint32_t slot = view.slot_count(); slot-- > 0;) free_slots.push_back(slot);
        awaiting_service.reserve(view.slot_count());
    }

    bool dead() const noexcept { return dead_word.load(std::memory_order_acquire) != 0; }

    Result<uint32_t> claim_slot(Deadline deadline);
    // The service is done with the slot and we hold no view into its reply: hand it back. Storing FREE
    // tells the service it may reuse the slot's reply block; with no block (an inline reply) the state
    // is left at REPLY, sparing a cache-line round trip per call.
    void release_slot(uint32_t slot, bool announce_free = true) noexcept;
    // A oneway or abandoned call: reclaim the slot once the service has answered it.
    void await_service(uint32_t slot);
    void reclaim_answered_locked() noexcept;
    void free_request_block(uint32_t slot) noexcept;

    Mapping ctrl;
    Mapping request_pool;
    Mapping reply_pool;
    ControlView control;
    UniqueFd doorbell;  // eventfd: wakes the service's workers when they armed the connection
    PoolAllocator request_allocator;
    ClientOptions options;
    std::atomic<uint32_t> dead_word{0};  // private futex: waiters sleep on it with their slot
    std::atomic<uint64_t> next_sequence{1};
    // Batches take their place in the connection's stream and reach the ring under one lock, so
    // that stream order is ring order (a batch whose push fails gives its place back).
    std::mutex stream_mutex;
    uint64_t next_batch = 1;

    std::mutex mutex;
    std::condition_variable slot_released;
    std::vector<uint32_t> free_slots;
    std::vector<uint32_t> awaiting_service;
    // The request block each slot's call still owns; the calling thread's alone while it waits.
    std::vector<uint64_t> request_block_of_slot;
    // Further blocks (attachments) each slot's call owns, freed with its request block.
    std::vector<std::vector<uint64_t>> attachments_of_slot;

    // Async calls: the slots whose reply the completion fd has not announced yet, and the thread
    // that sleeps on them (completion_watcher.cpp).
    void watch_async(uint32_t slot);
    void unwatch_async(uint32_t slot);
    Result<int> start_watcher();
    void stop_watcher() noexcept;
    void watcher_main();
    ~ClientState() { stop_watcher(); }

    std::mutex async_mutex;
    std::vector<uint32_t> async_unannounced;
    UniqueFd completion_event;
    std::thread watcher;
    bool watcher_stopping = false;
    std::atomic<uint32_t> async_changed{0};  // private futex: the set changed, or stop
};

Result<uint32_t> ClientState::claim_slot(Deadline deadline) {
    std::unique_lock lock(mutex);
    for (;;) {
        if (dead()) return fail(Errc::dead_object, "call on a dead connection");
        if (free_slots.empty() && !awaiting_service.empty()) reclaim_answered_locked();
        if (!free_slots.empty()) {
            const uint32_t slot = free_slots.back();
            free_slots.pop_back();
            return slot;
        }
        if (deadline.expired()) {
            return fail(Errc::timed_out, "all " + std::to_string(control.slot_count()) +
                                             " call slots stayed busy until the deadline");
        }
        // Oneway and abandoned slots come back without a signal to us: poll them.
        Deadline until = awaiting_service.empty() ? deadline : deadline.min(Deadline::after(std::chrono::microseconds(200)));
        if (until.is_forever()) {
            slot_released.wait(lock);
        } else {
            slot_released.wait_until(lock, until.time_point());
        }
    }
}

void ClientState::free_request_block(uint32_t slot) noexcept {
    const uint64_t block = std::exchange(request_block_of_slot[slot], kNoBlock);
    if (block != kNoBlock) (void)request_allocator.free(block);
    for (uint64_t attachment : attachments_of_slot[slot]) (void)request_allocator.free(attachment);
    attachments_of_slot[slot].clear();
}

void ClientState::release_slot(uint32_t slot, bool announce_free) noexcept {
    if (announce_free) control.slot(slot).state.store(slot_state::kFree, std::memory_order_release);
    {
        std::lock_guard lock(mutex);
        free_slots.push_back(slot);
    }
    slot_released.notify_one();
}

void ClientState::await_service(uint32_t slot) {
    std::lock_guard lock(mutex);
    awaiting_service.push_back(slot);
}

void ClientState::reclaim_answered_locked() noexcept {
    std::size_t kept = 0;
    for (const uint32_t slot : awaiting_service) {
        auto& word = control.slot(slot).state;
        if ((word.load(std::memory_order_acquire) & slot_state::kMask) == slot_state::kReply) {
            free_request_block(slot);
            word.store(slot_state::kFree, std::memory_order_release);
            free_slots.push_back(slot);
        } else {
            awaiting_service[kept++] = slot;
        }
    }
    awaiting_service.resize(kept);
}

void ClientState::watch_async(uint32_t slot) {
    {
        std::lock_guard lock(async_mutex);
        async_unannounced.push_back(slot);
        if (!watcher.joinable()) return;
    }
    async_changed.fetch_add(1, std::memory_order_release);
    futex_wake(&async_changed, 1, false);
}

void ClientState::unwatch_async(uint32_t slot) {
    std::lock_guard lock(async_mutex);
    std::erase(async_unannounced, slot);
}

Result<int> ClientState::start_watcher() {
    std::lock_guard lock(async_mutex);
    if (watcher.joinable()) return completion_event.get();
    UniqueFd event{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    if (!event) return fail_errno("eventfd for async completions", errno == EMFILE || errno == ENFILE ? Errc::no_memory : Errc::system);
    completion_event = std::move(event);
    try {
        watcher = std::thread([this] { watcher_main(); });
    } catch (const std::system_error& error) {
        completion_event.reset();
        return fail(Errc::system, std::string("starting the async completion thread: ") + error.what());
    }
    return completion_event.get();
}

void ClientState::stop_watcher() noexcept {
    {
        std::lock_guard lock(async_mutex);
        if (!watcher.joinable()) return;
        watcher_stopping = true;
    }
    async_changed.fetch_add(1, std::memory_order_release);
    futex_wake(&async_changed, 1, false);
    watcher.join();
}

// Sleeps on the slots of the unannounced async calls (as their caller would: the service wakes a slot
// whose waiter sleeps), on the dead word and on async_changed; writes the eventfd once per wake that
// found replies, and once when the connection dies.
void ClientState::watcher_main() {
    // futex_waitv takes 128 words: two go to async_changed and the dead word; further calls are
    // watched once earlier ones are announced.
    constexpr std::size_t kMaxWatched = kMaxFutexWaiters - 2;
    std::vector<uint32_t> watched;
    std::vector<FutexWaitTarget> targets;
    bool death_announced = false;
    const uint64_t one = 1;
    for (;;) {
        const uint32_t changed = async_changed.load(std::memory_order_acquire);
        {
            std::lock_guard lock(async_mutex);
            if (watcher_stopping) return;
            watched.assign(async_unannounced.begin(),
                           async_unannounced.begin() + std::min(async_unannounced.size(), kMaxWatched));
        }
        targets.clear();
        targets.push_back({&async_changed, changed, false});
        bool announce = false;
        if (dead()) {
            announce = !death_announced;
            death_announced = true;
        } else {
            targets.push_back({&dead_word, 0, false});
        }
        for (uint32_t slot : watched) control.slot(slot).waiter_sleeping.store(1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the service's fence after REPLY
        std::size_t replied = 0;
        for (uint32_t slot : watched) {
            const uint32_t value = control.slot(slot).state.load(std::memory_order_acquire);
            if ((value & slot_state::kMask) == slot_state::kReply) {
                watched[replied++] = slot;
            } else {
                targets.push_back({&control.slot(slot).state, value, true});
            }
        }
        if (replied > 0) {
            std::lock_guard lock(async_mutex);
            for (std::size_t i = 0; i < replied; ++i) std::erase(async_unannounced, watched[i]);
            announce = true;
        }
        if (announce) {
            ssize_t written = ::write(completion_event.get(), &one, sizeof one);
            (void)written;
            continue;
        }
        futex_waitv(targets, Deadline::forever());
    }
}

namespace {

enum class WaitOutcome { reply, timed_out, dead };

WaitOutcome wait_for_reply(ClientState& state, CallSlot& slot, Deadline deadline) {
    auto& word = slot.state;
    const bool replied = spin_until(
        state.options.spin, deadline,
        [&] { return (word.load(std::memory_order_acquire) & slot_state::kMask) == slot_state::kReply; },
        [&] { return state.dead(); });
    if (replied) return WaitOutcome::reply;
    slot.waiter_sleeping.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the service's fence after REPLY
    WaitOutcome outcome;
    for (;;) {
        const uint32_t value = word.load(std::memory_order_acquire);
        if ((value & slot_state::kMask) == slot_state::kReply) {
            outcome = WaitOutcome::reply;
            break;
        }
        if (state.dead()) {
            outcome = WaitOutcome::dead;
            break;
        }
        if (deadline.expired()) {
            outcome = WaitOutcome::timed_out;
            break;
        }
        // Sleep on the slot and on our private dead word: marking the connection dead wakes us without
        // writing to memory the peer controls.
        const FutexWaitTarget targets[] = {{&word, value, true}, {&state.dead_word, 0, false}};
        futex_waitv(targets, deadline);
    }
    slot.waiter_sleeping.store(0, std::memory_order_relaxed);
    return outcome;
}

}  // namespace

PayloadBuffer::PayloadBuffer(PayloadBuffer&& other) noexcept
    : state_(std::move(other.state_)), block_(other.block_), data_(std::exchange(other.data_, nullptr)),
      length_(std::exchange(other.length_, 0)) {}

PayloadBuffer& PayloadBuffer::operator=(PayloadBuffer&& other) noexcept {
    if (this != &other) {
        this->~PayloadBuffer();
        new (this) PayloadBuffer(std::move(other));
    }
    return *this;
}

PayloadBuffer::~PayloadBuffer() {
    if (state_ && data_ != nullptr) (void)state_->request_allocator.free(block_.offset);
}

Reply::Reply(Reply&& other) noexcept
    : state_(std::move(other.state_)), held_slot_(std::exchange(other.held_slot_, UINT32_MAX)),
      status_(other.status_), flags_(other.flags_), fd_count_(other.fd_count_), fd_batch_(other.fd_batch_),
      length_(std::exchange(other.length_, 0)),
      pool_payload_(std::exchange(other.pool_payload_, nullptr)) {
    if (pool_payload_ == nullptr) std::memcpy(inline_payload_, other.inline_payload_, length_);
}

Reply& Reply::operator=(Reply&& other) noexcept {
    if (this != &other) {
        release();
        new (this) Reply(std::move(other));
    }
    return *this;
}

void Reply::release() noexcept {
    if (state_ && held_slot_ != UINT32_MAX) state_->release_slot(held_slot_);
    state_.reset();
    held_slot_ = UINT32_MAX;
    pool_payload_ = nullptr;
    length_ = 0;
}

Result<ChannelClient> ChannelClient::attach(const ChannelFds& fds, ClientOptions options) {
    auto request_pool = map_writer_pool(fds.request_pool);
    if (!request_pool) return std::unexpected(request_pool.error());
    UniqueFd doorbell{::fcntl(fds.doorbell, F_DUPFD_CLOEXEC, 0)};
    if (!doorbell) return fail_errno("dup of the doorbell fd");
    return attach(fds.ctrl, std::move(*request_pool), fds.reply_pool, std::move(doorbell), options);
}

Result<ChannelClient> ChannelClient::attach(int ctrl_fd, Mapping request_pool, int reply_pool_fd, UniqueFd doorbell,
                                            ClientOptions options) {
    if (auto sealed = require_fixed_size(ctrl_fd, "ctrl"); !sealed) return std::unexpected(sealed.error());
    if (auto sealed = require_fixed_size(reply_pool_fd, "reply pool"); !sealed) return std::unexpected(sealed.error());
    auto ctrl = Mapping::map_whole(ctrl_fd, PROT_READ | PROT_WRITE);
    if (!ctrl) return std::unexpected(ctrl.error());
    auto control = ControlView::attach(ctrl->data(), ctrl->size());
    if (!control) return std::unexpected(control.error());
    auto reply_pool = Mapping::map_whole(reply_pool_fd, PROT_READ);
    if (!reply_pool) return std::unexpected(reply_pool.error());
    return ChannelClient{std::make_shared<ClientState>(std::move(*ctrl), std::move(request_pool),
                                                       std::move(*reply_pool), *control, std::move(doorbell),
                                                       options)};
}

ChannelClient::~ChannelClient() = default;

void ChannelClient::mark_dead() noexcept {
    if (!state_) return;
    state_->dead_word.store(1, std::memory_order_seq_cst);
    futex_wake(&state_->dead_word, INT_MAX, false);
    { std::lock_guard lock(state_->mutex); }  // no claimer between its dead() check and its wait
    state_->slot_released.notify_all();
}

ChannelClient::DeathMark ChannelClient::death_mark() const noexcept {
    DeathMark mark;
    mark.state_ = state_;
    return mark;
}

void ChannelClient::DeathMark::operator()() const noexcept {
    if (auto state = state_.lock()) ChannelClient(std::move(state)).mark_dead();
}

bool ChannelClient::dead() const noexcept { return !state_ || state_->dead(); }

uint32_t ChannelClient::slot_count() const noexcept { return state_ ? state_->control.slot_count() : 0; }

PoolStats ChannelClient::request_pool_stats() const { return state_->request_allocator.stats(); }

Result<PayloadBuffer> ChannelClient::allocate_payload(uint64_t size, Deadline deadline) {
    if (!state_) return fail(Errc::closed, "allocate on a moved-from channel");
    ClientState& state = *state_;
    if (size == 0) return fail(Errc::invalid_argument, "payload buffer of 0 bytes");
    for (;;) {
        if (state.dead()) return fail(Errc::dead_object, "allocate on a dead connection");
        auto block = state.request_allocator.allocate(size);
        if (!block && size <= state.request_allocator.capacity()) {
            // Oneway and abandoned calls hold blocks until their slot is answered: reclaim those first.
            {
                std::lock_guard lock(state.mutex);
                state.reclaim_answered_locked();
            }
            block = state.request_allocator.allocate(size);
            if (!block && !deadline.expired()) {
                block = state.request_allocator.allocate(
                    size, deadline.min(Deadline::after(std::chrono::milliseconds(1))));
                if (!block && !deadline.expired()) continue;
            }
        }
        if (!block) return std::unexpected(block.error());
        PayloadBuffer buffer;
        buffer.state_ = state_;
        buffer.block_ = *block;
        buffer.data_ = state.request_pool.data() + block->offset;
        buffer.length_ = size;
        return buffer;
    }
}

Result<std::pair<uint64_t, std::span<std::byte>>> ChannelClient::allocate_attachment(uint64_t size,
                                                                                    Deadline deadline) {
    auto buffer = allocate_payload(size, deadline);
    if (!buffer) return std::unexpected(buffer.error());
    // Ownership passes to the caller (and then to a call), not to the PayloadBuffer.
    std::pair<uint64_t, std::span<std::byte>> block{buffer->block_.offset, {buffer->data_, buffer->length_}};
    buffer->data_ = nullptr;
    return block;
}

void ChannelClient::free_attachment(uint64_t offset) noexcept {
    if (state_) (void)state_->request_allocator.free(offset);
}

std::span<const std::byte> ChannelClient::reply_pool() const noexcept {
    if (!state_) return {};
    return {state_->reply_pool.data(), state_->reply_pool.size()};
}

Result<Reply> ChannelClient::call(uint32_t code, std::span<const std::byte> payload, CallOptions options,
                                  std::span<const uint64_t> attachments) {
    if (!attachments.empty()) {
        // Attachments ride on a request in a pool block, so that the slot's bookkeeping frees
        // them together once the service is done.
        auto buffer = state_ ? allocate_payload(std::max<uint64_t>(payload.size(), 1), options.deadline)
                             : Result<PayloadBuffer>(fail(Errc::closed, "call on a moved-from channel"));
        if (!buffer) {
            for (uint64_t attachment : attachments) free_attachment(attachment);
            return std::unexpected(buffer.error());
        }
        if (!payload.empty()) std::memcpy(buffer->data_, payload.data(), payload.size());
        buffer->length_ = payload.size();
        return call_in_place(code, std::move(*buffer), options, attachments);
    }
    if (!state_) return fail(Errc::closed, "call on a moved-from channel");
    if (state_->dead()) return fail(Errc::dead_object, "call on a dead connection");
    if (payload.size() > kInlinePayloadCapacity) {
        auto buffer = allocate_payload(payload.size(), options.deadline);
        if (!buffer) return std::unexpected(buffer.error());
        std::memcpy(buffer->data_, payload.data(), payload.size());
        return call_in_place(code, std::move(*buffer), options);
    }
    MessageDescriptor request = fresh_descriptor();
    request.code = code;
    request.payload_kind = static_cast<uint32_t>(payload.empty() ? PayloadKind::none : PayloadKind::inline_bytes);
    request.payload_length = payload.size();
    if (!payload.empty()) std::memcpy(request.inline_payload, payload.data(), payload.size());
    auto slot = state_->claim_slot(options.deadline);
    if (!slot) return std::unexpected(slot.error());
    return submit(*slot, request, kNoBlock, options);
}

Result<Reply> ChannelClient::call_in_place(uint32_t code, PayloadBuffer payload, CallOptions options,
                                           std::span<const uint64_t> attachments) {
    auto drop_attachments = [&] {
        for (uint64_t attachment : attachments) free_attachment(attachment);
    };
    if (!state_) return fail(Errc::closed, "call on a moved-from channel");
    if (payload.state_ != state_ || payload.data_ == nullptr) {
        drop_attachments();
        return fail(Errc::invalid_argument, "payload buffer is empty or belongs to another connection");
    }
    MessageDescriptor request = fresh_descriptor();
    request.code = code;
    request.payload_kind = static_cast<uint32_t>(PayloadKind::pool);
    request.payload_length = payload.length_;
    request.pool_offset = payload.block_.offset;
    auto slot = state_->claim_slot(options.deadline);
    if (!slot) {
        drop_attachments();
        return std::unexpected(slot.error());
    }
    // The blocks now belong to the call: freed when the service is done with the request.
    payload.data_ = nullptr;
    state_->attachments_of_slot[*slot].assign(attachments.begin(), attachments.end());
    return submit(*slot, request, payload.block_.offset, options);
}

Result<uint64_t> ChannelClient::publish(uint32_t slot_index, MessageDescriptor& request, uint64_t request_block,
                                       const CallOptions& options) {
    ClientState& state = *state_;
    CallSlot& slot = state.control.slot(slot_index);
    state.request_block_of_slot[slot_index] = request_block;

    const uint64_t sequence = state.next_sequence.fetch_add(1, std::memory_order_relaxed);
    request.flags = options.flags;
    request.fd_count = options.fd_count;
    request.fd_batch = options.fd_batch;
    request.status = static_cast<int32_t>(options.token);
    request.sender_tid = current_tid();
    request.call_sequence = sequence;
    request.deadline_ns = options.deadline.is_forever()
                              ? 0
                              : static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                          options.deadline.time_point().time_since_epoch())
                                                          .count());
    const bool batch = (options.flags & kFlagBatch) != 0;
    std::unique_lock stream_order(state.stream_mutex, std::defer_lock);
    if (batch) {
        stream_order.lock();
        request.fd_count = 0;
        request.fd_batch = state.next_batch;
    }
    publish_descriptor(slot.request, request);
    // An async call's completion thread may have left its flag set: a plain call that spins must
    // not cost the service a futex wake (same cache line as the state word).
    slot.waiter_sleeping.store(0, std::memory_order_relaxed);
    slot.state.store(slot_state::kRequest, std::memory_order_release);

    auto pushed = state.control.push(slot_index, options.deadline);
    if (batch && pushed) ++state.next_batch;
    if (stream_order.owns_lock()) stream_order.unlock();
    if (!pushed) {
        state.free_request_block(slot_index);
        state.release_slot(slot_index);
        LITEIPC_LOG(warn, "call code %u: %s", request.code, pushed.error().describe().c_str());
        return std::unexpected(pushed.error());
    }
    state.control.ring_doorbell(state.doorbell.get());

    return sequence;
}

Result<Reply> ChannelClient::submit(uint32_t slot_index, MessageDescriptor& request, uint64_t request_block,
                                    CallOptions options) {
    auto sequence = publish(slot_index, request, request_block, options);
    if (!sequence) return std::unexpected(sequence.error());
    if ((options.flags & kFlagOneway) != 0) {
        state_->await_service(slot_index);
        return Reply{};
    }
    if (options.async != nullptr) {
        *options.async = AsyncCall{slot_index, request.code, *sequence};
        state_->watch_async(slot_index);
        return Reply{};
    }
    return complete(slot_index, request.code, *sequence, options.deadline);
}

bool ChannelClient::async_ready(const AsyncCall& call) const noexcept {
    if (!state_ || !call.pending()) return true;
    return state_->dead() ||
           (state_->control.slot(call.slot).state.load(std::memory_order_acquire) & slot_state::kMask) ==
               slot_state::kReply;
}

Result<Reply> ChannelClient::finish_async(AsyncCall& call, Deadline deadline) {
    if (!state_) return fail(Errc::closed, "async call on a moved-from channel");
    if (!call.pending()) return fail(Errc::invalid_argument, "async call already collected");
    auto reply = complete(call.slot, call.code, call.sequence, deadline, /*keep_on_timeout=*/true);
    if (!reply && reply.error().code == Errc::timed_out) {
        // Our wait cleared the slot's sleeping flag: the completion thread must set it again.
        state_->async_changed.fetch_add(1, std::memory_order_release);
        futex_wake(&state_->async_changed, 1, false);
        return reply;
    }
    state_->unwatch_async(call.slot);
    call = AsyncCall{};
    return reply;
}

void ChannelClient::abandon_async(AsyncCall& call) noexcept {
    if (!state_ || !call.pending()) return;
    state_->unwatch_async(call.slot);
    state_->await_service(call.slot);
    call = AsyncCall{};
}

Result<int> ChannelClient::completion_fd() {
    if (!state_) return fail(Errc::closed, "completion fd of a moved-from channel");
    return state_->start_watcher();
}

Result<Reply> ChannelClient::complete(uint32_t slot_index, uint32_t code, uint64_t sequence, Deadline deadline,
                                      bool keep_on_timeout) {
    ClientState& state = *state_;
    CallSlot& slot = state.control.slot(slot_index);
    switch (wait_for_reply(state, slot, deadline)) {
        case WaitOutcome::reply: break;
        case WaitOutcome::timed_out:
            if (keep_on_timeout) {
                return fail(Errc::timed_out, "call code " + std::to_string(code) + ": no reply yet");
            }
            // The service may still read the request: keep slot and block until it answers.
            state.await_service(slot_index);
            return fail(Errc::timed_out, "call code " + std::to_string(code) +
                                             ": no reply before the deadline");
        case WaitOutcome::dead:
            state.await_service(slot_index);
            return fail(Errc::dead_object, "call code " + std::to_string(code) +
                                               ": the connection died while waiting for the reply");
    }

    MessageDescriptor reply;
    fetch_descriptor(reply, slot.reply);  // one fetch, then validate the private copy
    state.free_request_block(slot_index);

    auto reject = [&](std::string problem) -> Result<Reply> {
        LITEIPC_LOG(warn, "call code %u, slot %u: %s", code, slot_index, problem.c_str());
        state.release_slot(slot_index);
        return fail(Errc::malformed, "call code " + std::to_string(code) + ": " + problem);
    };
    if (reply.call_sequence != sequence) {
        return reject("reply carries call sequence " + std::to_string(reply.call_sequence) + ", expected " +
                      std::to_string(sequence));
    }
    if ((reply.flags & kFlagNoMemory) != 0) {
        state.release_slot(slot_index);
        return fail(Errc::no_memory, "call code " + std::to_string(code) +
                                         ": the service's reply pool for this connection stayed full until the "
                                         "deadline (release held replies sooner, or ask for a larger pool)");
    }
    if ((reply.flags & kFlagRejected) != 0) {
        return reject("the service rejected the request as malformed (status " + std::to_string(reply.status) + ")");
    }
    auto payload = payload_of(reply, state.reply_pool);
    if (!payload) return reject("reply " + payload.error().message);

    Reply result;
    result.status_ = reply.status;
    result.flags_ = reply.flags;
    result.fd_count_ = reply.fd_count;
    result.fd_batch_ = reply.fd_batch;
    result.length_ = payload->size();
    if (static_cast<PayloadKind>(reply.payload_kind) == PayloadKind::pool) {
        // Read in place; the slot stays ours so the service keeps the block until Reply::release().
        result.state_ = state_;
        result.held_slot_ = slot_index;
        result.pool_payload_ = payload->data();
    } else {
        if (!payload->empty()) std::memcpy(result.inline_payload_, payload->data(), payload->size());
        state.release_slot(slot_index, false);
    }
    return result;
}

}  // namespace liteipc::detail
