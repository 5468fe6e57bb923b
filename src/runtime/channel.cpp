#include "channel.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <string>

#include "futex.h"
#include "log.h"

namespace liteipc::detail {
namespace {

constexpr uint64_t kNoBlock = UINT64_MAX;

uint32_t current_tid() noexcept {
    thread_local const uint32_t tid = static_cast<uint32_t>(::gettid());
    return tid;
}

// The payload a private copy of a descriptor refers to, bounds-checked against the sender's pool.
// Inline payloads point into `descriptor` itself, so they live as long as that copy.
Result<std::span<const std::byte>> payload_of(const MessageDescriptor& descriptor, const Mapping& pool) {
    switch (static_cast<PayloadKind>(descriptor.payload_kind)) {
        case PayloadKind::none:
            if (descriptor.payload_length != 0) break;
            return std::span<const std::byte>{};
        case PayloadKind::inline_bytes:
            if (descriptor.payload_length > kInlinePayloadCapacity) {
                return fail(Errc::malformed, "inline payload of " + std::to_string(descriptor.payload_length) +
                                                 " bytes exceeds " + std::to_string(kInlinePayloadCapacity));
            }
            return std::span<const std::byte>{reinterpret_cast<const std::byte*>(descriptor.inline_payload),
                                              static_cast<std::size_t>(descriptor.payload_length)};
        case PayloadKind::pool:
            if (!pool.contains(descriptor.pool_offset, descriptor.payload_length)) {
                return fail(Errc::malformed, "pool payload [" + std::to_string(descriptor.pool_offset) + ", +" +
                                                 std::to_string(descriptor.payload_length) +
                                                 ") lies outside the " + std::to_string(pool.size()) +
                                                 "-byte pool");
            }
            return std::span<const std::byte>{pool.data() + descriptor.pool_offset,
                                              static_cast<std::size_t>(descriptor.payload_length)};
    }
    return fail(Errc::malformed, "payload kind " + std::to_string(descriptor.payload_kind) + " with length " +
                                     std::to_string(descriptor.payload_length));
}

constexpr std::size_t kDescriptorHeaderSize = offsetof(MessageDescriptor, inline_payload);

// Into shared memory: the header and the inline bytes in use, no more (fewer cache lines to cross).
// The rest of the slot holds only older payloads of this same connection.
void publish_descriptor(MessageDescriptor& shared, const MessageDescriptor& local) noexcept {
    std::size_t used = kDescriptorHeaderSize;
    if (static_cast<PayloadKind>(local.payload_kind) == PayloadKind::inline_bytes) {
        used += std::min<uint64_t>(local.payload_length, kInlinePayloadCapacity);
    }
    std::memcpy(&shared, &local, used);
}

// Out of shared memory, once: the header, then as many inline bytes as the private header claims
// (capped; payload_of() rejects an oversized length). Bytes past that stay uninitialized and unread.
void fetch_descriptor(MessageDescriptor& local, const MessageDescriptor& shared) noexcept {
    std::memcpy(&local, &shared, kDescriptorHeaderSize);
    if (static_cast<PayloadKind>(local.payload_kind) == PayloadKind::inline_bytes) {
        std::memcpy(local.inline_payload, shared.inline_payload,
                    std::min<uint64_t>(local.payload_length, kInlinePayloadCapacity));
    }
}

// A descriptor with a zeroed header; the inline bytes are written only as far as they are used.
MessageDescriptor fresh_descriptor() noexcept {
    MessageDescriptor descriptor;
    std::memset(&descriptor, 0, kDescriptorHeaderSize);
    return descriptor;
}

Result<UniqueFd> duplicate(int fd) {
    UniqueFd copy{::fcntl(fd, F_DUPFD_CLOEXEC, 0)};
    if (!copy) return fail_errno("dup of fd " + std::to_string(fd));
    return copy;
}

// A peer holding any fd to a region could shrink it and turn our next access into SIGBUS: attach
// only to regions sealed against resizing.
Result<void> require_fixed_size(int fd, const char* region) {
    auto seals = seals_of(fd);
    if (!seals) return std::unexpected(seals.error());
    if ((*seals & F_SEAL_SHRINK) == 0) {
        return fail(Errc::permission_denied, std::string(region) +
                                                 " region is not sealed against shrinking (F_SEAL_SHRINK): a "
                                                 "peer could truncate it under us");
    }
    return {};
}


Result<PeerFds> peer_fds(int ctrl, int writable_pool, int readable_pool, bool client) {
    auto ctrl_copy = duplicate(ctrl);
    if (!ctrl_copy) return std::unexpected(ctrl_copy.error());
    auto own_pool = duplicate(writable_pool);
    if (!own_pool) return std::unexpected(own_pool.error());
    auto peer_pool = reopen_read_only(readable_pool);
    if (!peer_pool) return std::unexpected(peer_pool.error());
    PeerFds fds;
    fds.ctrl = std::move(*ctrl_copy);
    if (client) {
        fds.request_pool = std::move(*own_pool);
        fds.reply_pool = std::move(*peer_pool);
    } else {
        fds.reply_pool = std::move(*own_pool);
        fds.request_pool = std::move(*peer_pool);
    }
    return fds;
}

}  // namespace

Result<Mapping> map_writer_pool(int fd) {
    if (auto sealed = require_fixed_size(fd, "pool"); !sealed) return std::unexpected(sealed.error());
    auto pool = Mapping::map_whole(fd, PROT_READ | PROT_WRITE);
    if (!pool) return std::unexpected(pool.error());
    // Once the writer's own writable mapping exists, no one (the peer through a re-opened fd
    // included) can map the pool writable or write() it again.
    if (auto sealed = add_seals(fd, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL); !sealed) return std::unexpected(sealed.error());
    return pool;
}

Result<PoolFile> create_pool(const char* name, uint64_t size, bool try_hugepages) {
    constexpr uint64_t kHugePage = 2u << 20;
    if (try_hugepages) {
        uint64_t rounded = (size + kHugePage - 1) / kHugePage * kHugePage;
        UniqueFd fd{::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_HUGE_2MB)};
        // ftruncate succeeds even with no hugepages reserved; only a real mapping tells. The
        // mapping also reserves the pages for the file, so the peers' mappings cannot fail later.
        if (fd && ::ftruncate(fd.get(), static_cast<off_t>(rounded)) == 0) {
            void* probe = ::mmap(nullptr, rounded, PROT_READ, MAP_SHARED, fd.get(), 0);
            if (probe != MAP_FAILED) {
                ::munmap(probe, rounded);
                if (auto sealed = add_seals(fd.get(), F_SEAL_SHRINK | F_SEAL_GROW); sealed)
                    return PoolFile{std::move(fd), true};
            }
        }
        LITEIPC_LOG(debug, "no hugepages for a %llu-byte pool: using regular shared memory",
                    static_cast<unsigned long long>(size));
    }
    auto fd = create_memfd(name, size);
    if (!fd) return std::unexpected(fd.error());
    if (auto sealed = add_seals(fd->get(), F_SEAL_SHRINK | F_SEAL_GROW); !sealed) return std::unexpected(sealed.error());
    return PoolFile{std::move(*fd), false};
}

Result<UniqueFd> create_ctrl_region(uint32_t slot_count) {
    const ChannelGeometry geometry = ChannelGeometry::for_slots(slot_count);
    auto ctrl = create_memfd("liteipc-ctrl", geometry.region_size);
    if (!ctrl) return std::unexpected(ctrl.error());
    {
        auto mapping = Mapping::map(ctrl->get(), geometry.region_size, PROT_READ | PROT_WRITE);
        if (!mapping) return std::unexpected(mapping.error());
        if (auto initialized = initialize_ctrl_region(mapping->bytes(), slot_count); !initialized)
            return std::unexpected(initialized.error());
    }
    if (auto sealed = add_seals(ctrl->get(), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL); !sealed)
        return std::unexpected(sealed.error());
    return ctrl;
}

// ---------------------------------------------------------------------------------------------
// Regions

Result<void> initialize_ctrl_region(std::span<std::byte> region, uint32_t slot_count) {
    if (slot_count == 0 || slot_count > kMaxSlotCount) {
        return fail(Errc::invalid_argument, "slot count " + std::to_string(slot_count) + " outside 1.." +
                                                std::to_string(kMaxSlotCount));
    }
    const ChannelGeometry geometry = ChannelGeometry::for_slots(slot_count);
    if (region.size() < geometry.region_size) {
        return fail(Errc::invalid_argument, "ctrl region of " + std::to_string(region.size()) + " bytes, " +
                                                std::to_string(geometry.region_size) + " needed for " +
                                                std::to_string(slot_count) + " slots");
    }
    std::memset(region.data(), 0, geometry.region_size);
    auto* control = new (region.data()) ChannelControl{};
    auto* cells = reinterpret_cast<RingCell*>(region.data() + geometry.ring_offset);
    for (uint32_t i = 0; i < geometry.ring_capacity; ++i) {
        new (&cells[i]) RingCell{};
        cells[i].sequence.store(i, std::memory_order_relaxed);
    }
    auto* slots = reinterpret_cast<CallSlot*>(region.data() + geometry.slots_offset);
    for (uint32_t i = 0; i < slot_count; ++i) new (&slots[i]) CallSlot{};

    ChannelHeader header{};
    header.magic = kChannelMagic;
    header.version = kChannelVersion;
    header.slot_count = slot_count;
    header.ring_capacity = geometry.ring_capacity;
    header.descriptor_size = sizeof(MessageDescriptor);
    header.slot_size = sizeof(CallSlot);
    header.inline_capacity = kInlinePayloadCapacity;
    header.ring_offset = geometry.ring_offset;
    header.slots_offset = geometry.slots_offset;
    header.region_size = geometry.region_size;
    std::memcpy(&control->header, &header, sizeof header);
    std::atomic_thread_fence(std::memory_order_release);
    return {};
}

Result<ChannelRegions> ChannelRegions::create(const ChannelConfig& config) {
    if (config.slot_count == 0 || config.slot_count > kMaxSlotCount) {
        return fail(Errc::invalid_argument, "slot count " + std::to_string(config.slot_count) + " outside 1.." +
                                                std::to_string(kMaxSlotCount));
    }
    if (config.request_pool_size < PoolAllocator::kAlignment || config.reply_pool_size < PoolAllocator::kAlignment) {
        return fail(Errc::invalid_argument, "pools must hold at least one 64-byte block");
    }
    auto ctrl = create_ctrl_region(config.slot_count);
    if (!ctrl) return std::unexpected(ctrl.error());
    // Pools: fixed size now; each writer adds F_SEAL_FUTURE_WRITE once it has mapped its pool.
    auto request_pool = create_memfd("liteipc-request-pool", config.request_pool_size);
    if (!request_pool) return std::unexpected(request_pool.error());
    auto reply_pool = create_memfd("liteipc-reply-pool", config.reply_pool_size);
    if (!reply_pool) return std::unexpected(reply_pool.error());
    for (int pool : {request_pool->get(), reply_pool->get()}) {
        if (auto sealed = add_seals(pool, F_SEAL_SHRINK | F_SEAL_GROW); !sealed) return std::unexpected(sealed.error());
    }
    return ChannelRegions{std::move(*ctrl), std::move(*request_pool), std::move(*reply_pool)};
}

Result<PeerFds> ChannelRegions::for_client() const {
    return peer_fds(ctrl.get(), request_pool.get(), reply_pool.get(), true);
}

Result<PeerFds> ChannelRegions::for_service() const {
    return peer_fds(ctrl.get(), reply_pool.get(), request_pool.get(), false);
}

// ---------------------------------------------------------------------------------------------
// ControlView

Result<ControlView> ControlView::attach(std::byte* base, std::size_t size) {
    if (base == nullptr || size < sizeof(ChannelControl)) {
        return fail(Errc::malformed, "ctrl region of " + std::to_string(size) + " bytes is too small");
    }
    ChannelHeader header;
    std::memcpy(&header, base, sizeof header);  // one fetch: the peer may rewrite it at any time
    if (header.magic != kChannelMagic || header.version != kChannelVersion) {
        return fail(Errc::malformed, "ctrl region has magic " + std::to_string(header.magic) + " version " +
                                         std::to_string(header.version) + ", expected version " +
                                         std::to_string(kChannelVersion));
    }
    if (header.slot_count == 0 || header.slot_count > kMaxSlotCount) {
        return fail(Errc::malformed, "ctrl region claims " + std::to_string(header.slot_count) + " slots");
    }
    // The whole geometry follows from the slot count: anything else is a corrupt or foreign header.
    const ChannelGeometry geometry = ChannelGeometry::for_slots(header.slot_count);
    if (header.ring_capacity != geometry.ring_capacity || header.ring_offset != geometry.ring_offset ||
        header.slots_offset != geometry.slots_offset || header.region_size != geometry.region_size ||
        header.descriptor_size != sizeof(MessageDescriptor) || header.slot_size != sizeof(CallSlot) ||
        header.inline_capacity != kInlinePayloadCapacity) {
        return fail(Errc::malformed, "ctrl region geometry does not match its slot count " +
                                         std::to_string(header.slot_count));
    }
    if (geometry.region_size > size) {
        return fail(Errc::malformed, "ctrl region needs " + std::to_string(geometry.region_size) +
                                         " bytes, mapping has " + std::to_string(size));
    }
    ControlView view;
    view.geometry_ = geometry;
    view.control_ = reinterpret_cast<ChannelControl*>(base);
    view.cells_ = reinterpret_cast<RingCell*>(base + geometry.ring_offset);
    view.slots_ = reinterpret_cast<CallSlot*>(base + geometry.slots_offset);
    return view;
}

Result<void> ControlView::push(uint32_t slot_index, Deadline deadline) const {
    auto& enqueue = control_->enqueue.position;
    const uint64_t mask = geometry_.ring_capacity - 1;
    uint64_t position = enqueue.load(std::memory_order_relaxed);
    for (uint32_t attempt = 1;; ++attempt) {
        RingCell& cell = cells_[position & mask];
        const uint64_t sequence = cell.sequence.load(std::memory_order_acquire);
        const auto lag = static_cast<int64_t>(sequence - position);
        if (lag == 0) {
            if (enqueue.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
                cell.slot_index.store(slot_index, std::memory_order_relaxed);
                cell.sequence.store(position + 1, std::memory_order_release);
                return {};
            }
        } else if (lag < 0) {
            // Looks full. With an honest peer only for an instant (a worker between its claim and its
            // release of the cell); a corrupted ring stays "full" until the deadline.
            std::this_thread::yield();
            position = enqueue.load(std::memory_order_relaxed);
        } else {
            position = enqueue.load(std::memory_order_relaxed);
        }
        if ((attempt & 255) == 0 && deadline.expired()) {
            return fail(Errc::timed_out, "request ring stayed full until the deadline (service stalled, or a "
                                         "corrupted ring)");
        }
    }
}

bool ControlView::pop(uint32_t& slot_index) const {
    auto& dequeue = control_->dequeue.position;
    const uint64_t mask = geometry_.ring_capacity - 1;
    uint64_t position = dequeue.load(std::memory_order_relaxed);
    // Bounded: a peer scribbling over the cursors must not keep a worker here.
    for (int attempt = 0; attempt < 64; ++attempt) {
        RingCell& cell = cells_[position & mask];
        const uint64_t sequence = cell.sequence.load(std::memory_order_acquire);
        const auto lag = static_cast<int64_t>(sequence - (position + 1));
        if (lag == 0) {
            if (dequeue.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
                slot_index = cell.slot_index.load(std::memory_order_relaxed);
                cell.sequence.store(position + mask + 1, std::memory_order_release);
                return true;
            }
        } else if (lag < 0) {
            return false;
        } else {
            position = dequeue.load(std::memory_order_relaxed);
        }
    }
    return false;
}

bool ControlView::has_pending() const {
    const uint64_t position = control_->dequeue.position.load(std::memory_order_acquire);
    const RingCell& cell = cells_[position & (geometry_.ring_capacity - 1)];
    return cell.sequence.load(std::memory_order_acquire) == position + 1;
}

void ControlView::ring_doorbell() const {
    // Pairs with the worker's increment of sleeping_workers, fence, re-check of the ring: either the
    // worker sees our push, or we see it sleeping (or about to) and wake it.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    Doorbell& bell = control_->doorbell;
    if (bell.sleeping_workers.load(std::memory_order_relaxed) != 0) {
        bell.sequence.fetch_add(1, std::memory_order_seq_cst);
        futex_wake(&bell.sequence, 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Client side

struct ClientState {
    ClientState(Mapping ctrl_mapping, Mapping request_mapping, Mapping reply_mapping, ControlView view,
                ClientOptions client_options)
        : ctrl(std::move(ctrl_mapping)), request_pool(std::move(request_mapping)),
          reply_pool(std::move(reply_mapping)), control(view), request_allocator(request_pool.size()),
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
    PoolAllocator request_allocator;
    ClientOptions options;
    std::atomic<uint32_t> dead_word{0};  // private futex: waiters sleep on it with their slot
    std::atomic<uint64_t> next_sequence{1};

    std::mutex mutex;
    std::condition_variable slot_released;
    std::vector<uint32_t> free_slots;
    std::vector<uint32_t> awaiting_service;
    // The request block each slot's call still owns; the calling thread's alone while it waits.
    std::vector<uint64_t> request_block_of_slot;
    // Further blocks (attachments) each slot's call owns, freed with its request block.
    std::vector<std::vector<uint64_t>> attachments_of_slot;
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
    return attach(fds.ctrl, std::move(*request_pool), fds.reply_pool, options);
}

Result<ChannelClient> ChannelClient::attach(int ctrl_fd, Mapping request_pool, int reply_pool_fd,
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
                                                       std::move(*reply_pool), *control, options)};
}

ChannelClient::~ChannelClient() = default;

void ChannelClient::mark_dead() noexcept {
    if (!state_) return;
    state_->dead_word.store(1, std::memory_order_seq_cst);
    futex_wake(&state_->dead_word, INT_MAX, false);
    { std::lock_guard lock(state_->mutex); }  // no claimer between its dead() check and its wait
    state_->slot_released.notify_all();
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

Result<Reply> ChannelClient::submit(uint32_t slot_index, MessageDescriptor& request, uint64_t request_block,
                                    CallOptions options) {
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
    publish_descriptor(slot.request, request);
    slot.state.store(slot_state::kRequest, std::memory_order_release);

    if (auto pushed = state.control.push(slot_index, options.deadline); !pushed) {
        state.free_request_block(slot_index);
        state.release_slot(slot_index);
        LITEIPC_LOG(warn, "call code %u: %s", request.code, pushed.error().describe().c_str());
        return std::unexpected(pushed.error());
    }
    state.control.ring_doorbell();

    if ((options.flags & kFlagOneway) != 0) {
        state.await_service(slot_index);
        return Reply{};
    }

    switch (wait_for_reply(state, slot, options.deadline)) {
        case WaitOutcome::reply: break;
        case WaitOutcome::timed_out:
            // The service may still read the request: keep slot and block until it answers.
            state.await_service(slot_index);
            return fail(Errc::timed_out, "call code " + std::to_string(request.code) +
                                             ": no reply before the deadline");
        case WaitOutcome::dead:
            state.await_service(slot_index);
            return fail(Errc::dead_object, "call code " + std::to_string(request.code) +
                                               ": the connection died while waiting for the reply");
    }

    MessageDescriptor reply;
    fetch_descriptor(reply, slot.reply);  // one fetch, then validate the private copy
    state.free_request_block(slot_index);

    auto reject = [&](std::string problem) -> Result<Reply> {
        LITEIPC_LOG(warn, "call code %u, slot %u: %s", request.code, slot_index, problem.c_str());
        state.release_slot(slot_index);
        return fail(Errc::malformed, "call code " + std::to_string(request.code) + ": " + problem);
    };
    if (reply.call_sequence != sequence) {
        return reject("reply carries call sequence " + std::to_string(reply.call_sequence) + ", expected " +
                      std::to_string(sequence));
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
        std::memcpy(result.inline_payload_, payload->data(), payload->size());
        state.release_slot(slot_index, false);
    }
    return result;
}

// ---------------------------------------------------------------------------------------------
// Service side

Result<std::span<std::byte>> ReplyWriter::allocate(uint64_t size) {
    if (oneway_) return fail(Errc::invalid_argument, "a oneway call takes no reply payload");
    drop_block();
    if (size <= kInlinePayloadCapacity) {
        reply_.payload_kind = static_cast<uint32_t>(size == 0 ? PayloadKind::none : PayloadKind::inline_bytes);
        reply_.payload_length = size;
        return std::span<std::byte>{reinterpret_cast<std::byte*>(reply_.inline_payload), static_cast<std::size_t>(size)};
    }
    auto block = connection_.allocate_reply_block(size);
    if (!block) return std::unexpected(block.error());
    has_block_ = true;
    block_ = *block;
    reply_.payload_kind = static_cast<uint32_t>(PayloadKind::pool);
    reply_.payload_length = size;
    reply_.pool_offset = block->offset;
    return std::span<std::byte>{connection_.reply_pool_.data() + block->offset, static_cast<std::size_t>(size)};
}

Result<void> ReplyWriter::write(std::span<const std::byte> bytes) {
    auto space = allocate(bytes.size());
    if (!space) return std::unexpected(space.error());
    if (!bytes.empty()) std::memcpy(space->data(), bytes.data(), bytes.size());
    return {};
}

Result<std::pair<uint64_t, std::span<std::byte>>> ReplyWriter::allocate_attachment(uint64_t size) {
    if (oneway_) return fail(Errc::invalid_argument, "a oneway call takes no reply payload");
    if (size == 0) return fail(Errc::invalid_argument, "attachment of 0 bytes");
    auto block = connection_.allocate_reply_block(size);
    if (!block) return std::unexpected(block.error());
    attachments_.push_back(block->offset);
    return std::pair<uint64_t, std::span<std::byte>>{
        block->offset, {connection_.reply_pool_.data() + block->offset, static_cast<std::size_t>(size)}};
}

void ReplyWriter::drop_block() noexcept {
    for (uint64_t attachment : attachments_) (void)connection_.reply_allocator_.free(attachment);
    attachments_.clear();
    if (has_block_) (void)connection_.reply_allocator_.free(block_.offset);
    has_block_ = false;
    reply_.payload_kind = static_cast<uint32_t>(PayloadKind::none);
    reply_.payload_length = 0;
    reply_.pool_offset = 0;
}

ChannelServer::ChannelServer(Mapping ctrl, Mapping request_pool, Mapping reply_pool, ControlView control)
    : ctrl_(std::move(ctrl)), request_pool_(std::move(request_pool)), reply_pool_(std::move(reply_pool)),
      control_(control), reply_allocator_(reply_pool_.size()),
      slot_busy_(std::make_unique<std::atomic<bool>[]>(control.slot_count())),
      reply_block_of_slot_(std::make_unique<std::atomic<uint64_t>[]>(control.slot_count())) {
    for (uint32_t slot = 0; slot < control.slot_count(); ++slot) reply_block_of_slot_[slot].store(kNoBlock);
    reply_attachments_of_slot_.resize(control.slot_count());
}

void ChannelServer::free_reply_blocks(uint32_t slot, uint64_t main_block) noexcept {
    (void)reply_allocator_.free(main_block);
    std::vector<uint64_t> attachments;
    {
        std::lock_guard lock(attachments_mutex_);
        attachments.swap(reply_attachments_of_slot_[slot]);
    }
    for (uint64_t attachment : attachments) (void)reply_allocator_.free(attachment);
}

ChannelServer::~ChannelServer() = default;

Result<std::shared_ptr<ChannelServer>> ChannelServer::attach(const ChannelFds& fds) {
    auto reply_pool = map_writer_pool(fds.reply_pool);
    if (!reply_pool) return std::unexpected(reply_pool.error());
    return attach(fds.ctrl, fds.request_pool, std::move(*reply_pool));
}

Result<std::shared_ptr<ChannelServer>> ChannelServer::attach(int ctrl_fd, int request_pool_fd, Mapping reply_pool) {
    if (auto sealed = require_fixed_size(ctrl_fd, "ctrl"); !sealed) return std::unexpected(sealed.error());
    if (auto sealed = require_fixed_size(request_pool_fd, "request pool"); !sealed)
        return std::unexpected(sealed.error());
    auto ctrl = Mapping::map_whole(ctrl_fd, PROT_READ | PROT_WRITE);
    if (!ctrl) return std::unexpected(ctrl.error());
    auto control = ControlView::attach(ctrl->data(), ctrl->size());
    if (!control) return std::unexpected(control.error());
    auto request_pool = Mapping::map_whole(request_pool_fd, PROT_READ);
    if (!request_pool) return std::unexpected(request_pool.error());
    return std::shared_ptr<ChannelServer>(
        new ChannelServer(std::move(*ctrl), std::move(*request_pool), std::move(reply_pool), *control));
}

void ChannelServer::mark_dead() noexcept {
    dead_.store(true, std::memory_order_release);
    std::lock_guard lock(wake_mutex_);
    if (dispatcher_wake_ != nullptr) {
        dispatcher_wake_->fetch_add(1, std::memory_order_seq_cst);
        futex_wake(dispatcher_wake_, INT_MAX, false);
    }
}

void ChannelServer::set_dispatcher_wake(std::atomic<uint32_t>* wake_word) noexcept {
    std::lock_guard lock(wake_mutex_);
    dispatcher_wake_ = wake_word;
}

bool ChannelServer::serve_one(const Handler& handler) {
    uint32_t slot_index = 0;
    if (dead() || !control_.pop(slot_index)) return false;
    serve(slot_index, handler);
    return true;
}

Result<PoolBlock> ChannelServer::allocate_reply_block(uint64_t size) {
    auto block = reply_allocator_.allocate(size);
    if (block || size > reply_allocator_.capacity()) return block;
    reclaim_released_replies();
    return reply_allocator_.allocate(size);
}

void ChannelServer::reclaim_released_replies() {
    for (uint32_t slot = 0; slot < control_.slot_count(); ++slot) {
        auto& block = reply_block_of_slot_[slot];
        if (block.load(std::memory_order_acquire) == kNoBlock || slot_busy_[slot].load(std::memory_order_acquire)) {
            continue;
        }
        // FREE means the client released the reply. (A new REQUEST also means it, but serve() frees the
        // block itself then; freeing on REQUEST here would race with a reply about to be published.)
        const uint32_t state = control_.slot(slot).state.load(std::memory_order_acquire) & slot_state::kMask;
        if (state != slot_state::kFree) continue;
        // exchange: serve() may be taking the same block at the same moment; exactly one of us frees it.
        if (const uint64_t offset = block.exchange(kNoBlock, std::memory_order_acq_rel); offset != kNoBlock) {
            free_reply_blocks(slot, offset);
        }
    }
}

void ChannelServer::serve(uint32_t slot_index, const Handler& handler) {
    if (slot_index >= control_.slot_count()) {
        LITEIPC_LOG(warn, "request ring carried slot index %u, the connection has %u slots: dropped", slot_index,
                    control_.slot_count());
        return;
    }
    if (slot_busy_[slot_index].exchange(true, std::memory_order_acquire)) {
        LITEIPC_LOG(warn, "slot %u published again while in service: dropped", slot_index);
        return;
    }
    CallSlot& slot = control_.slot(slot_index);
    if ((slot.state.load(std::memory_order_acquire) & slot_state::kMask) != slot_state::kRequest) {
        LITEIPC_LOG(warn, "slot %u published without a request in it: dropped", slot_index);
        slot_busy_[slot_index].store(false, std::memory_order_release);
        return;
    }
    // A new request on the slot means the client is done with the previous reply.
    if (reply_block_of_slot_[slot_index].load(std::memory_order_relaxed) != kNoBlock) {
        if (const uint64_t offset = reply_block_of_slot_[slot_index].exchange(kNoBlock, std::memory_order_acq_rel);
            offset != kNoBlock) {
            free_reply_blocks(slot_index, offset);
        }
    }

    MessageDescriptor request;
    fetch_descriptor(request, slot.request);  // one fetch, then validate the private copy
    MessageDescriptor reply = fresh_descriptor();
    reply.code = request.code;
    reply.sender_tid = current_tid();
    reply.call_sequence = request.call_sequence;

    if (auto payload = payload_of(request, request_pool_); !payload) {
        LITEIPC_LOG(warn, "slot %u, code %u: request %s: rejected", slot_index, request.code,
                    payload.error().message.c_str());
        reply.flags = kFlagRejected;
        reply.status = -EBADMSG;
    } else {
        const Request view{request.code, request.flags, request.sender_tid, *payload,
                           {request_pool_.data(), request_pool_.size()}, data_.get(),
                           request.fd_count, request.fd_batch, request.call_sequence,
                           static_cast<uint32_t>(request.status)};
        ReplyWriter writer(*this, reply, view.oneway());
        try {
            reply.status = handler(view, writer);
        } catch (const std::exception& error) {
            LITEIPC_LOG(error, "handler for code %u threw: %s", request.code, error.what());
            writer.drop_block();
            reply.status = -EFAULT;
        } catch (...) {
            LITEIPC_LOG(error, "handler for code %u threw", request.code);
            writer.drop_block();
            reply.status = -EFAULT;
        }
        if (!writer.attachments_.empty() && !writer.has_block_) {
            // Attachments are freed with the reply block, which the client announces it released:
            // give the reply a block even when it would fit inline.
            std::byte inline_copy[kInlinePayloadCapacity];
            const uint64_t length = std::min<uint64_t>(reply.payload_length, kInlinePayloadCapacity);
            std::memcpy(inline_copy, reply.inline_payload, length);
            auto attachments = std::move(writer.attachments_);
            writer.attachments_.clear();
            if (auto space = writer.allocate(std::max<uint64_t>(length, kInlinePayloadCapacity + 1)); space) {
                std::memcpy(space->data(), inline_copy, length);
                reply.payload_length = length;
                writer.attachments_ = std::move(attachments);
            } else {
                for (uint64_t attachment : attachments) (void)reply_allocator_.free(attachment);
                reply.status = -ENOMEM;
            }
        }
        if (writer.has_block_) {
            if (!writer.attachments_.empty()) {
                std::lock_guard lock(attachments_mutex_);
                reply_attachments_of_slot_[slot_index] = std::move(writer.attachments_);
            }
            reply_block_of_slot_[slot_index].store(writer.block_.offset, std::memory_order_release);
        }
    }

    publish_descriptor(slot.reply, reply);
    // Not busy before REPLY is visible: the client may reuse the slot the moment it sees REPLY.
    slot_busy_[slot_index].store(false, std::memory_order_release);
    slot.state.store(slot_state::kReply, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the client's fence before it sleeps
    if (slot.waiter_sleeping.load(std::memory_order_relaxed) != 0) futex_wake(&slot.state, 1);
}

// ---------------------------------------------------------------------------------------------
// Dispatcher

Dispatcher::Dispatcher(Handler handler, DispatcherOptions options)
    : handler_(std::move(handler)), options_(options) {}

Result<void> Dispatcher::start() {
    if (!handler_) return fail(Errc::invalid_argument, "dispatcher without a handler");
    if (!workers_.empty()) return {};
    stopping_.store(false, std::memory_order_release);
    const unsigned count = std::max(1u, options_.workers);
    try {
        for (unsigned i = 0; i < count; ++i) workers_.emplace_back(&Dispatcher::worker_main, this);
    } catch (const std::system_error& error) {
        stop();
        return fail(Errc::system, std::string("starting dispatcher workers: ") + error.what(), error.code().value());
    }
    return {};
}

Result<void> Dispatcher::add(std::shared_ptr<ChannelServer> connection) {
    if (!connection) return fail(Errc::invalid_argument, "add of a null connection");
    {
        std::lock_guard lock(mutex_);
        if (connections_.size() >= kMaxConnections) {
            return fail(Errc::no_memory, "a dispatcher serves at most " + std::to_string(kMaxConnections) +
                                             " connections (one futex_waitv)");
        }
        connection->set_dispatcher_wake(&wake_word_);
        connections_.push_back(std::move(connection));
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_workers();
    return {};
}

void Dispatcher::remove(const ChannelServer* connection) {
    {
        std::lock_guard lock(mutex_);
        auto found = std::find_if(connections_.begin(), connections_.end(),
                                  [&](const auto& candidate) { return candidate.get() == connection; });
        if (found == connections_.end()) return;
        (*found)->set_dispatcher_wake(nullptr);
        connections_.erase(found);
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_workers();
}

void Dispatcher::stop() {
    stopping_.store(true, std::memory_order_release);
    wake_workers();
    for (auto& worker : workers_) {
        if (worker.joinable()) worker.join();
    }
    workers_.clear();
    std::lock_guard lock(mutex_);
    for (auto& connection : connections_) connection->set_dispatcher_wake(nullptr);
    connections_.clear();
    generation_.fetch_add(1, std::memory_order_release);
}

std::size_t Dispatcher::connection_count() const {
    std::lock_guard lock(mutex_);
    return connections_.size();
}

void Dispatcher::wake_workers() noexcept {
    wake_word_.fetch_add(1, std::memory_order_seq_cst);
    futex_wake(&wake_word_, INT_MAX, false);
}

void Dispatcher::worker_main() {
    std::vector<std::shared_ptr<ChannelServer>> connections;
    std::vector<ChannelServer*> sleeping_on;
    std::vector<FutexWaitTarget> targets;
    uint64_t seen_generation = UINT64_MAX;
    std::size_t cursor = 0;

    while (!stopping_.load(std::memory_order_acquire)) {
        if (const uint64_t generation = generation_.load(std::memory_order_acquire); generation != seen_generation) {
            std::lock_guard lock(mutex_);
            connections = connections_;
            seen_generation = generation_.load(std::memory_order_relaxed);
        }

        // Serve one request, round robin over the connections so that one busy client starves no one.
        bool served = false;
        for (std::size_t i = 0; i < connections.size() && !served; ++i) {
            const std::size_t index = (cursor + i) % connections.size();
            ChannelServer& connection = *connections[index];
            if (connection.dead()) {
                remove(&connection);
                continue;
            }
            if (connection.serve_one(handler_)) {
                served = true;
                cursor = index + 1;
            }
        }
        if (served) continue;

        auto any_pending = [&] {
            for (const auto& connection : connections) {
                if (connection->has_pending()) return true;
            }
            return false;
        };
        auto interrupted = [&] {
            return stopping_.load(std::memory_order_acquire) ||
                   generation_.load(std::memory_order_acquire) != seen_generation;
        };

        if (spin_until(options_.spin, Deadline::forever(), any_pending, interrupted)) continue;

        // Sleep on every doorbell plus the wake word. Announce ourselves first, then re-check the rings:
        // a client that pushes after our re-check sees sleeping_workers > 0 and rings.
        const uint32_t wake_value = wake_word_.load(std::memory_order_seq_cst);
        if (interrupted()) continue;
        sleeping_on.clear();
        targets.clear();
        for (const auto& connection : connections) {
            if (connection->dead()) continue;
            connection->doorbell().sleeping_workers.fetch_add(1, std::memory_order_seq_cst);
            sleeping_on.push_back(connection.get());
        }
        std::atomic_thread_fence(std::memory_order_seq_cst);
        for (ChannelServer* connection : sleeping_on) {
            targets.push_back({&connection->doorbell().sequence,
                               connection->doorbell().sequence.load(std::memory_order_seq_cst), true});
        }
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (!any_pending()) {
            targets.push_back({&wake_word_, wake_value, false});
            futex_waitv(targets, Deadline::forever());
        }
        for (ChannelServer* connection : sleeping_on) {
            connection->doorbell().sleeping_workers.fetch_sub(1, std::memory_order_relaxed);
        }
    }
}

}  // namespace liteipc::detail
