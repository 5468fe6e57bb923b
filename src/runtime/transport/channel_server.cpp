#include "transport/channel_server.h"

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
#include <thread>
#include <vector>

#include "transport/channel_descriptor.h"
#include "common/futex.h"
#include "common/log.h"
#include "liteipc_abi.h"

namespace liteipc::detail {
namespace {

// A worker waits for reply-pool space at most this long, whatever the caller's deadline: the client
// that fills the pool must not hold a worker that other connections need.
constexpr auto kMaxReplySpaceWait = std::chrono::seconds(2);
// How long a worker holding a oneway batch waits for an earlier place that no worker serves.
constexpr auto kMaxBatchOrderWait = std::chrono::seconds(1);

// When a worker stops waiting for reply-pool space: a little before the caller's deadline, so that the
// caller gets Errc::no_memory rather than a timeout.
Deadline reply_space_deadline(uint64_t caller_deadline_ns) {
    const auto now = Deadline::Clock::now();
    const auto cap = now + kMaxReplySpaceWait;
    if (caller_deadline_ns == 0) return Deadline::at(cap);
    const auto caller = Deadline::Clock::time_point(std::chrono::nanoseconds(caller_deadline_ns));
    if (caller <= now) return Deadline::at(now);
    const auto margin = std::min<Deadline::Clock::duration>(std::chrono::milliseconds(50), (caller - now) / 4);
    return Deadline::at(std::min(caller - margin, cap));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Service side

Result<std::span<std::byte>> ReplyWriter::allocate(uint64_t size) {
    if (oneway_) return fail(Errc::invalid_argument, "a oneway call takes no reply payload");
    // Replaces an earlier payload of this same reply (never published); its attachments stay.
    if (has_block_) (void)connection_.reply_allocator_.free(block_.offset);
    has_block_ = false;
    reply_.pool_offset = 0;
    if (size <= kInlinePayloadCapacity) {
        reply_.payload_kind = static_cast<uint16_t>(size == 0 ? PayloadKind::none : PayloadKind::inline_bytes);
        reply_.payload_length = size;
        return std::span<std::byte>{reinterpret_cast<std::byte*>(reply_.inline_payload), static_cast<std::size_t>(size)};
    }
    reply_.payload_kind = static_cast<uint16_t>(PayloadKind::none);
    reply_.payload_length = 0;
    auto block = allocate_block(size);
    if (!block) return std::unexpected(block.error());
    has_block_ = true;
    block_ = *block;
    reply_.payload_kind = static_cast<uint16_t>(PayloadKind::pool);
    reply_.payload_length = size;
    reply_.pool_offset = block->offset;
    return std::span<std::byte>{connection_.reply_pool_.data() + block->offset, static_cast<std::size_t>(size)};
}

Result<PoolBlock> ReplyWriter::allocate_block(uint64_t size) {
    auto block = connection_.allocate_reply_block(size, [this] {
        // Read the clock only when the pool is full, once per reply: a reply that fits costs none.
        if (!space_deadline_) space_deadline_ = reply_space_deadline(caller_deadline_ns_);
        return *space_deadline_;
    });
    if (!block && block.error().code == Errc::no_memory) pool_exhausted_ = true;
    return block;
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
    auto block = allocate_block(size);
    if (!block) return std::unexpected(block.error());
    attachments_.push_back(block->offset);
    return std::pair<uint64_t, std::span<std::byte>>{
        block->offset, {connection_.reply_pool_.data() + block->offset, static_cast<std::size_t>(size)}};
}

void ReplyWriter::drop_all() noexcept {
    for (uint64_t attachment : attachments_) (void)connection_.reply_allocator_.free(attachment);
    attachments_.clear();
    if (has_block_) (void)connection_.reply_allocator_.free(block_.offset);
    has_block_ = false;
    reply_.payload_kind = static_cast<uint16_t>(PayloadKind::none);
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

bool ChannelServer::serve_one(const Handler& handler) {
    uint32_t slot_index = 0;
    if (!take(slot_index)) return false;
    serve(slot_index, handler);
    return true;
}

void ChannelServer::set_message_ring(MessageRing ring) {
    stamped_of_slot_ = std::make_unique<liteipc_message_record[]>(control_.slot_count());
    message_ring_ = std::move(ring);
}

bool ChannelServer::take_stamped(uint32_t& slot_index) {
    liteipc_message_record record;
    while (message_ring_.pop(record)) {
        // The slot is the client's claim: a record naming a slot out of range or in service is
        // dropped, as a ctrl ring entry would be (the client gets no reply on it).
        if (record.slot >= control_.slot_count()) {
            LITEIPC_LOG(warn, "message record names slot %u, the connection has %u slots: dropped", record.slot,
                        control_.slot_count());
            continue;
        }
        if (slot_busy_[record.slot].exchange(true, std::memory_order_acquire)) {
            LITEIPC_LOG(warn, "slot %u sent again while in service: dropped", record.slot);
            continue;
        }
        stamped_of_slot_[record.slot] = record;
        slot_index = record.slot;
        return true;
    }
    return false;
}

Result<PoolBlock> ChannelServer::allocate_reply_block(uint64_t size, const std::function<Deadline()>& space_deadline) {
    // The client frees reply blocks by releasing its replies, which says nothing to us: poll the
    // slots, backing off, until the deadline. Never take a block a held reply still points into.
    auto pause = std::chrono::microseconds(20);
    auto block = reply_allocator_.allocate(size);
    if (block || size > reply_allocator_.capacity()) return block;
    const Deadline deadline = space_deadline();
    for (;;) {
        reclaim_released_replies();
        block = reply_allocator_.allocate(size);
        if (block || deadline.expired()) return block;
        std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(pause, deadline.remaining()));
        pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(1));
    }
}

void ChannelServer::reclaim_released_replies() {
    for (uint32_t slot = 0; slot < control_.slot_count(); ++slot) {
        auto& block = reply_block_of_slot_[slot];
        if (block.load(std::memory_order_acquire) == kNoBlock || slot_busy_[slot].load(std::memory_order_acquire)) {
            continue;
        }
        // The client announced it released the reply. (A new request also means it, but serve() frees the
        // block itself then; freeing on an open request here would race with a reply about to be published.)
        CallSlot& call = control_.slot(slot);
        const uint64_t answered = sequence_of(call.reply).load(std::memory_order_relaxed);
        if (call.released_sequence.load(std::memory_order_acquire) != answered ||
            sequence_of(call.request).load(std::memory_order_acquire) != answered) {
            continue;
        }
        // exchange: serve() may be taking the same block at the same moment; exactly one of us frees it.
        if (const uint64_t offset = block.exchange(kNoBlock, std::memory_order_acq_rel); offset != kNoBlock) {
            free_reply_blocks(slot, offset);
        }
    }
}

void ChannelServer::serve_batch(const ActiveRequest& batch, uint64_t place, const Handler& handler, ReplyWriter& none) {
    // Pops follow ring order, so the batches before this one are in another worker's hands: wait for
    // them as long as one is being served, and only briefly for a place no batch holds (a client that
    // skips places delays only its own stream).
    batches_in_service_.fetch_add(1, std::memory_order_acq_rel);
    Deadline give_up = Deadline::after(kMaxBatchOrderWait);
    for (uint32_t polls = 0; next_batch_.load(std::memory_order_acquire) < place && !dead(); ++polls) {
        if (batches_in_service_.load(std::memory_order_acquire) > 1) {
            give_up = Deadline::after(kMaxBatchOrderWait);
        } else if (give_up.expired()) {
            LITEIPC_LOG(warn, "oneway batch %llu: batch %llu never came; served out of order",
                        static_cast<unsigned long long>(place),
                        static_cast<unsigned long long>(next_batch_.load(std::memory_order_relaxed)));
            break;
        }
        if (polls < 1000) {
            std::this_thread::yield();  // the worker we wait for may need this core
        } else {
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
    }
    ActiveRequest message = batch;
    message.flags = kFlagOneway;
    message.fd_count = 0;  // batches carry no fds, whatever the descriptor claims
    const std::span<const std::byte> frames = batch.payload;  // in the client's pool: read each header once
    for (uint64_t offset = 0; offset < frames.size();) {
        BatchFrameHeader header;
        if (frames.size() - offset < sizeof header) {
            LITEIPC_LOG(warn, "oneway batch %llu: %llu stray bytes at its end: dropped",
                        static_cast<unsigned long long>(place), static_cast<unsigned long long>(frames.size() - offset));
            break;
        }
        std::memcpy(&header, frames.data() + offset, sizeof header);
        offset += sizeof header;
        if (header.length > frames.size() - offset) {
            LITEIPC_LOG(warn, "oneway batch %llu: message of %u bytes runs past the batch's end: rest dropped",
                        static_cast<unsigned long long>(place), header.length);
            break;
        }
        message.payload = frames.subspan(offset, header.length);
        offset += (uint64_t{header.length} + kBatchFrameAlignment - 1) & ~(kBatchFrameAlignment - 1);
        try {
            (void)handler(message, none);
        } catch (...) {
            LITEIPC_LOG(error, "handler for oneway code %u in a batch threw", message.code);
        }
    }
    // Never backwards: a replayed place must not reopen the stream.
    uint64_t next = next_batch_.load(std::memory_order_relaxed);
    while (next < place + 1 && !next_batch_.compare_exchange_weak(next, place + 1, std::memory_order_release)) {
    }
    batches_in_service_.fetch_sub(1, std::memory_order_acq_rel);
}

void ChannelServer::serve(uint32_t slot_index, const Handler& handler) {
    if (slot_index >= control_.slot_count()) {
        LITEIPC_LOG(warn, "request ring carried slot index %u, the connection has %u slots: dropped", slot_index,
                    control_.slot_count());
        return;
    }
    // A mediated slot was claimed in take_stamped(), with its record.
    const liteipc_message_record* stamped = mediated() ? &stamped_of_slot_[slot_index] : nullptr;
    if (!stamped && slot_busy_[slot_index].exchange(true, std::memory_order_acquire)) {
        LITEIPC_LOG(warn, "slot %u published again while in service: dropped", slot_index);
        return;
    }
    CallSlot& slot = control_.slot(slot_index);
    last_served_slot_.store(slot_index, std::memory_order_relaxed);
    // Open: the request's sequence moved past the reply's (else a replayed or never-written slot).
    if (sequence_of(slot.request).load(std::memory_order_acquire) ==
        sequence_of(slot.reply).load(std::memory_order_relaxed)) {
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
    prefetch_for_write(slot.reply);  // the client read it last; it travels while the handler runs
    if (stamped) {
        // What the kernel recorded wins over what the slot says.
        request.code = stamped->code;
        request.flags = stamped->flags;
        request.sender_tid = stamped->tid;
        request.call_sequence = stamped->call_sequence;
        // A kind past 16 bits stays unknown (payload_of refuses it) rather than wrapping into a known one.
        request.payload_kind = static_cast<uint16_t>(std::min<uint32_t>(stamped->payload_kind, UINT16_MAX));
        request.pool_offset = stamped->payload_offset;
        request.payload_length = stamped->payload_length;
        if (static_cast<PayloadKind>(request.payload_kind) == PayloadKind::inline_bytes)
            std::memcpy(request.inline_payload, slot.request.inline_payload,
                        std::min<uint64_t>(request.payload_length, kInlinePayloadCapacity));
    }
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
        const ActiveRequest view{request.code, request.flags, request.sender_tid, *payload,
                           {request_pool_.data(), request_pool_.size()}, data_.get(),
                           request.fd_count, request.fd_batch, request.call_sequence,
                           request.token, stamped, request.deadline_ns};
        ReplyWriter writer(*this, reply, view.oneway(), request.deadline_ns);
        if ((request.flags & kFlagBatch) != 0 && view.oneway()) {
            serve_batch(view, request.fd_batch, handler, writer);
        } else try {
            reply.status = handler(view, writer);
        } catch (const std::exception& error) {
            LITEIPC_LOG(error, "handler for code %u threw: %s", request.code, error.what());
            writer.drop_all();
            reply.status = -EFAULT;
        } catch (...) {
            LITEIPC_LOG(error, "handler for code %u threw", request.code);
            writer.drop_all();
            reply.status = -EFAULT;
        }
        if (!writer.attachments_.empty() && !writer.has_block_ && !writer.pool_exhausted_) {
            // Attachments are freed with the reply block, which the client announces it released:
            // give the reply a block even when it would fit inline.
            std::byte inline_copy[kInlinePayloadCapacity];
            const uint64_t length = std::min<uint64_t>(reply.payload_length, kInlinePayloadCapacity);
            if (length > 0) std::memcpy(inline_copy, reply.inline_payload, length);
            if (auto space = writer.allocate(std::max<uint64_t>(length, kInlinePayloadCapacity + 1)); space) {
                if (length > 0) std::memcpy(space->data(), inline_copy, length);
                reply.payload_length = length;
            }
        }
        if (writer.pool_exhausted_) {
            // Whatever the handler made of it, the reply did not fit: say so, not half a reply.
            writer.drop_all();
            reply.flags |= kFlagNoMemory;
            reply.status = -ENOMEM;
        }
        if (writer.has_block_) {
            if (!writer.attachments_.empty()) {
                std::lock_guard lock(attachments_mutex_);
                reply_attachments_of_slot_[slot_index] = std::move(writer.attachments_);
            }
            reply_block_of_slot_[slot_index].store(writer.block_.offset, std::memory_order_release);
        }
    }

    write_descriptor(slot.reply, reply);
    // Not busy before the reply is visible: the client may reuse the slot the moment it sees it.
    slot_busy_[slot_index].store(false, std::memory_order_release);
    publish_sequence(slot.reply, reply.call_sequence);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the client's fence before it sleeps
    if (slot.waiter_sleeping.load(std::memory_order_relaxed) != 0) futex_wake(sequence_futex(slot.reply), 1);
}

}  // namespace liteipc::detail
