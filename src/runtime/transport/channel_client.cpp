#include "transport/channel_client.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "transport/channel_client_state.h"
#include "transport/channel_descriptor.h"
#include "common/futex.h"
#include "common/log.h"

namespace liteipc::detail {

bool ClientState::try_claim_slot(uint32_t& slot) noexcept {
    for (uint32_t word = 0; word < free_slot_words; ++word) {
        auto& bits = free_slot_bits[word];
        uint64_t free = bits.load(std::memory_order_relaxed);
        while (free != 0) {
            const int bit = std::countr_zero(free);
            // Acquire: the slot's bookkeeping (request_block_of_slot, ...) as its last owner left it.
            if (bits.compare_exchange_weak(free, free & ~(uint64_t{1} << bit), std::memory_order_acquire,
                                           std::memory_order_relaxed)) {
                slot = word * 64 + static_cast<uint32_t>(bit);
                return true;
            }
        }
    }
    return false;
}

Result<uint32_t> ClientState::claim_slot(Deadline deadline) {
    if (dead()) return fail(Errc::dead_object, "call on a dead connection");
    uint32_t slot = 0;
    if (try_claim_slot(slot)) return slot;
    std::unique_lock lock(mutex);
    // Announced before the retry below, and the retry and the wait under the lock: a release either
    // sets its bit before our retry looks, or sees us waiting and takes the lock to wake us.
    slot_waiters.fetch_add(1, std::memory_order_seq_cst);
    struct Leave {
        std::atomic<uint32_t>& waiters;
        ~Leave() { waiters.fetch_sub(1, std::memory_order_relaxed); }
    } leave{slot_waiters};
    for (;;) {
        if (dead()) return fail(Errc::dead_object, "call on a dead connection");
        if (!awaiting_service.empty()) reclaim_answered_locked();
        if (try_claim_slot(slot)) return slot;
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

void ClientState::free_slot(uint32_t slot) noexcept {
    // Release: the slot's bookkeeping reaches its next owner. Seq_cst against a claimer's announcement.
    free_slot_bits[slot / 64].fetch_or(uint64_t{1} << (slot % 64), std::memory_order_seq_cst);
}

void ClientState::free_request_block(uint32_t slot) noexcept {
    const uint64_t block = std::exchange(request_block_of_slot[slot], kNoBlock);
    if (block != kNoBlock) (void)request_allocator.free(block);
    for (uint64_t attachment : attachments_of_slot[slot]) (void)request_allocator.free(attachment);
    attachments_of_slot[slot].clear();
}

void ClientState::release_slot(uint32_t slot, bool announce_free) noexcept {
    if (announce_free) control.slot(slot).released_sequence.store(call_of_slot[slot], std::memory_order_release);
    free_slot(slot);
    if (slot_waiters.load(std::memory_order_seq_cst) != 0) {
        { std::lock_guard lock(mutex); }  // the waiter is in its wait, or has seen the bit
        slot_released.notify_one();
    }
}

void ClientState::await_service(uint32_t slot) {
    std::lock_guard lock(mutex);
    awaiting_service.push_back(slot);
}

bool ClientState::wait_for_oldest_answer(Deadline until) noexcept {
    // The slot stays pinned while we use its sleeper flag: no one reclaims it (and a new caller
    // claims it and sets that flag). We sleep without `mutex`, so calls published meanwhile do not
    // wait behind us; only callers that find the pool full wait for us, on oldest_answer_mutex.
    std::lock_guard waiting(oldest_answer_mutex);
    uint32_t slot = 0;
    {
        std::lock_guard lock(mutex);
        if (awaiting_service.empty()) return false;
        slot = awaiting_service.front();
        pinned_slot = slot;
    }
    struct Unpin {
        ClientState& state;
        ~Unpin() {
            std::lock_guard lock(state.mutex);
            state.pinned_slot = kNoSlot;
        }
    } unpin{*this};
    CallSlot& call = control.slot(slot);
    // A caller that polls before it sleeps (ClientOptions::spin) polls here too.
    if (spin_until(options.spin, until, [&] { return answered(slot); }, [&] { return dead(); })) return true;
    call.waiter_sleeping.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the service's fence after its reply
    const uint32_t value = sequence_futex(call.reply)->load(std::memory_order_acquire);
    if (!answered(slot) && !dead()) (void)futex_wait(sequence_futex(call.reply), value, until);
    call.waiter_sleeping.store(0, std::memory_order_relaxed);
    return true;
}

void ClientState::reclaim_answered_locked() noexcept {
    std::size_t kept = 0;
    for (const uint32_t slot : awaiting_service) {
        if (slot != pinned_slot && answered(slot)) {
            free_request_block(slot);
            control.slot(slot).released_sequence.store(call_of_slot[slot], std::memory_order_release);
            free_slot(slot);
        } else {
            awaiting_service[kept++] = slot;
        }
    }
    awaiting_service.resize(kept);
}

namespace {

enum class WaitOutcome { reply, timed_out, dead };

WaitOutcome wait_for_reply(ClientState& state, uint32_t slot_index, Deadline deadline) {
    CallSlot& slot = state.control.slot(slot_index);
    const bool replied = spin_until(
        state.options.spin, deadline, [&] { return state.answered(slot_index); }, [&] { return state.dead(); });
    if (replied) return WaitOutcome::reply;
    slot.waiter_sleeping.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the service's fence after its reply
    const std::atomic<uint32_t>* word = sequence_futex(slot.reply);
    WaitOutcome outcome;
    for (;;) {
        const uint32_t value = word->load(std::memory_order_acquire);
        if (state.answered(slot_index)) {
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
        const FutexWaitTarget targets[] = {{word, value, true}, {&state.dead_word, 0, false}};
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

ReceivedReply::ReceivedReply(ReceivedReply&& other) noexcept
    : state_(std::move(other.state_)), held_slot_(std::exchange(other.held_slot_, UINT32_MAX)),
      status_(other.status_), flags_(other.flags_), fd_count_(other.fd_count_), fd_batch_(other.fd_batch_),
      length_(std::exchange(other.length_, 0)),
      pool_payload_(std::exchange(other.pool_payload_, nullptr)) {
    if (pool_payload_ == nullptr) std::memcpy(inline_payload_, other.inline_payload_, length_);
}

ReceivedReply& ReceivedReply::operator=(ReceivedReply&& other) noexcept {
    if (this != &other) {
        release();
        new (this) ReceivedReply(std::move(other));
    }
    return *this;
}

ReceivedReply::ReceivedReply(Key, const MessageDescriptor& header, std::span<const std::byte> payload,
             std::shared_ptr<ClientState> holder, uint32_t held_slot) noexcept
    : state_(std::move(holder)), held_slot_(held_slot), status_(header.status), flags_(header.flags),
      fd_count_(header.fd_count), fd_batch_(header.fd_batch), length_(payload.size()),
      pool_payload_(held_slot != UINT32_MAX ? payload.data() : nullptr) {
    if (pool_payload_ == nullptr && !payload.empty()) std::memcpy(inline_payload_, payload.data(), payload.size());
}

void ReceivedReply::release() noexcept {
    if (state_ && held_slot_ != UINT32_MAX) state_->release_slot(held_slot_);
    state_.reset();
    held_slot_ = UINT32_MAX;
    pool_payload_ = nullptr;
    length_ = 0;
}

std::span<const std::byte> ReceivedReply::reply_pool() const noexcept {
    if (!state_ || held_slot_ == UINT32_MAX) return {};
    return {state_->reply_pool.data(), state_->reply_pool.size()};
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
                // Sleep until the oldest of those is answered, or else until a reply this process
                // releases frees a block; never longer than 1 ms between looks. (A fixed 1 ms wait
                // here held a stream of 1 MiB oneway calls to one pool-full of messages per ms.)
                const Deadline look = deadline.min(Deadline::after(std::chrono::milliseconds(1)));
                if (!state.wait_for_oldest_answer(look)) block = state.request_allocator.allocate(size, look);
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

Result<ReceivedReply> ChannelClient::call(uint32_t code, std::span<const std::byte> payload, CallOptions options,
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
    request.payload_kind = static_cast<uint16_t>(payload.empty() ? PayloadKind::none : PayloadKind::inline_bytes);
    request.payload_length = payload.size();
    if (!payload.empty()) std::memcpy(request.inline_payload, payload.data(), payload.size());
    auto slot = state_->claim_slot(options.deadline);
    if (!slot) return std::unexpected(slot.error());
    return submit(*slot, request, kNoBlock, options);
}

Result<ReceivedReply> ChannelClient::call_in_place(uint32_t code, PayloadBuffer payload, CallOptions options,
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
    request.payload_kind = static_cast<uint16_t>(PayloadKind::pool);
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
    request.fd_count = static_cast<uint16_t>(options.fd_count);  // FdChannel::send refuses more than 32
    request.fd_batch = options.fd_batch;
    request.token = options.token;
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
    state.call_of_slot[slot_index] = sequence;
    state.reply_before_of_slot[slot_index] = sequence_of(slot.reply).load(std::memory_order_relaxed);
    write_descriptor(slot.request, request);
    // An async call's completion thread may have left its flag set: a plain call that spins must
    // not cost the service a futex wake. Written only then: the line stays in both caches.
    if (slot.waiter_sleeping.load(std::memory_order_relaxed) != 0) slot.waiter_sleeping.store(0, std::memory_order_relaxed);
    publish_sequence(slot.request, sequence);

    auto pushed = state.options.mediated ? state.options.mediated->send(slot_index, request, options.deadline)
                                         : state.control.push(slot_index, options.deadline);
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

Result<ReceivedReply> ChannelClient::submit(uint32_t slot_index, MessageDescriptor& request, uint64_t request_block,
                                    CallOptions options) {
    auto sequence = publish(slot_index, request, request_block, options);
    if (!sequence) return std::unexpected(sequence.error());
    if ((options.flags & kFlagOneway) != 0) {
        state_->await_service(slot_index);
        return ReceivedReply{};
    }
    if (options.async != nullptr) {
        *options.async = AsyncCall{slot_index, request.code, *sequence};
        state_->watch_async(slot_index);
        return ReceivedReply{};
    }
    return complete(slot_index, request.code, *sequence, options.deadline);
}

Result<ReceivedReply> ChannelClient::complete(uint32_t slot_index, uint32_t code, uint64_t sequence, Deadline deadline,
                                      bool keep_on_timeout) {
    ClientState& state = *state_;
    CallSlot& slot = state.control.slot(slot_index);
    switch (wait_for_reply(state, slot_index, deadline)) {
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

    // The next call of this thread most likely takes this slot again (the lowest free one): the lines
    // it will write travel while this reply is read and handed over.
    prefetch_for_write(slot.request);
    state.control.prefetch_next_push();
    MessageDescriptor reply;
    std::memcpy(&reply, &slot.reply, kDescriptorHeaderSize);  // the header once; validate this copy
    state.free_request_block(slot_index);

    auto reject = [&](std::string problem) -> Result<ReceivedReply> {
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
    auto payload = payload_of(reply, state.reply_pool);  // bounds from the private header
    if (!payload) return reject("reply " + payload.error().message);
    if (static_cast<PayloadKind>(reply.payload_kind) == PayloadKind::inline_bytes) {
        // Inline bytes are fetched once, by the ReceivedReply itself, straight out of the slot.
        payload = std::span<const std::byte>(reinterpret_cast<const std::byte*>(slot.reply.inline_payload), payload->size());
    }
    return take_reply(slot_index, reply, *payload);
}

Result<ReceivedReply> ChannelClient::take_reply(uint32_t slot_index, const MessageDescriptor& header,
                                        std::span<const std::byte> payload) {
    const bool in_pool = static_cast<PayloadKind>(header.payload_kind) == PayloadKind::pool;
    // Built where the caller receives it (one return of one object): the inline bytes are copied
    // once, and before the slot goes back (another call may reuse the slot the moment it is free).
    // A payload in the pool is read in place; the slot stays ours so the service keeps the block
    // until ReceivedReply::release().
    Result<ReceivedReply> result(std::in_place, ReceivedReply::Key{}, header, payload, in_pool ? state_ : nullptr,
                         in_pool ? slot_index : UINT32_MAX);
    if (!in_pool) state_->release_slot(slot_index, false);
    return result;
}

}  // namespace liteipc::detail
