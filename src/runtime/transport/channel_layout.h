// Layout of a connection's ctrl region, shared read-write by the client and the service.
//
//   offset 0    ChannelControl: header, ring cursors, doorbell (one cache line each)
//   ring_offset RingCell[ring_capacity]   bounded MPMC ring of slot indices, client -> service
//   slots_offset CallSlot[slot_count]     one call in flight per slot: the client's line + two descriptors
//
// Both peers may write anything here at any time, so nothing in this region is trusted: each side
// takes the geometry from its own validated copy of the header at attach time, reads every
// descriptor once into a private copy before validating it, and bounds-checks every index.
// Every field is fixed-width and every struct's size is asserted: the layout is the wire format.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace liteipc::detail {

inline constexpr uint64_t kChannelMagic = 0x3143'5049'4554'494cULL;  // "LITEIPC1" little-endian
// 3: the caller's token in its own field. 4: no slot state word shared by both sides; each
// descriptor's call_sequence is its writer's turn (see CallSlot).
inline constexpr uint32_t kChannelVersion = 4;
inline constexpr uint32_t kDefaultSlotCount = 64;
inline constexpr uint32_t kMaxSlotCount = 4096;
inline constexpr uint32_t kInlinePayloadCapacity = 192;

// Descriptor flags.
inline constexpr uint32_t kFlagOneway = 1u << 0;      // LITEIPC_FLAG_ONEWAY: no reply expected
// With kFlagOneway: the payload is a run of messages (BatchFrameHeader + bytes, each padded to 8),
// served in order, one handler run each; `fd_batch` carries the batch's place in the connection's
// stream of batches (1, 2, ...), so that workers serve batches in the order they were published.
inline constexpr uint32_t kFlagBatch = 1u << 1;
inline constexpr uint32_t kFlagRejected = 1u << 16;   // reply: the service refused a malformed request
inline constexpr uint32_t kFlagNoMemory = 1u << 17;   // reply: the reply pool stayed full until the deadline

enum class PayloadKind : uint16_t {
    none = 0,
    inline_bytes = 1,  // payload in MessageDescriptor::inline_payload
    pool = 2,          // payload at [pool_offset, pool_offset + payload_length) of the sender's pool
};

struct MessageDescriptor {
    uint32_t code;
    uint32_t flags;
    uint32_t sender_tid;       // the sender's own claim about its thread (GetCallingTid)
    int32_t status;            // reply: the handler's status (request: 0)
    // Set by the client, echoed by the reply: a stale reply never matches. Stored last, with release,
    // by the descriptor's writer: it is the descriptor's publication (see CallSlot).
    uint64_t call_sequence;
    uint16_t payload_kind;     // PayloadKind
    uint16_t fd_count;         // fds sent with the message over the connection's socket (<= kMaxFdsPerMessage)
    uint32_t token;            // request: the caller's token (LiteIPC GetToken; reply: 0)
    uint64_t payload_length;
    uint64_t pool_offset;      // PayloadKind::pool only
    uint64_t fd_batch;         // the tag those fds carry on the socket
    uint64_t deadline_ns;      // request: the caller's deadline, CLOCK_MONOTONIC ns (0: none)
    uint8_t inline_payload[kInlinePayloadCapacity];
};
static_assert(sizeof(MessageDescriptor) == 256);
static_assert(offsetof(MessageDescriptor, call_sequence) == 16);
static_assert(offsetof(MessageDescriptor, token) == 28);
static_assert(offsetof(MessageDescriptor, payload_length) == 32);
static_assert(offsetof(MessageDescriptor, pool_offset) == 40);
static_assert(offsetof(MessageDescriptor, deadline_ns) == 56);
static_assert(offsetof(MessageDescriptor, inline_payload) == 64);
static_assert(std::is_trivially_copyable_v<MessageDescriptor>);

struct BatchFrameHeader {
    uint32_t length;    // bytes of the message that follow
    uint32_t reserved;
};
static_assert(sizeof(BatchFrameHeader) == 8);
inline constexpr uint64_t kBatchFrameAlignment = 8;

// One call in flight. Every cache line of a slot has one writer, so a busy call moves each line once
// each way: the request lines to the service, the reply lines back (a state word both sides wrote
// moved twice more per call, and cost a third of a busy 64 B round trip).
//   request.call_sequence  the client's turn: a request is open while it differs from the reply's
//   reply.call_sequence    the service's turn: stored last, so a caller that sees it change sees the
//                          whole reply; its low 32 bits are the futex word a sleeping caller waits on
// A oneway or abandoned (timed out) call is answered too, which tells the client it may reclaim the slot.
// The service frees a slot's reply block when the client announces it released that reply
// (released_sequence == the reply's call_sequence, no request open), or at the slot's next request.
struct alignas(64) CallSlot {
    // Written by the client only.
    // Set before the caller sleeps on the reply's sequence word, read by the service after it publishes
    // the reply (a fence on each side: one of them sees the other).
    std::atomic<uint32_t> waiter_sleeping;
    uint32_t reserved0;
    std::atomic<uint64_t> released_sequence;  // the call whose reply (and reply block) the client let go
    uint8_t reserved1[48];
    MessageDescriptor request;    // written by the client only
    MessageDescriptor reply;      // written by the service only
};
static_assert(sizeof(CallSlot) == 576);
static_assert(offsetof(CallSlot, released_sequence) == 8);
static_assert(offsetof(CallSlot, request) == 64);
static_assert(offsetof(CallSlot, reply) == 320);
static_assert(std::endian::native == std::endian::little, "the futex word is the low half of call_sequence");

// Ask for a descriptor's header line and first inline line for writing, ahead of the write: the peer
// read them last, and the transfer then overlaps whatever the writer does before it writes.
inline void prefetch_for_write(const MessageDescriptor& descriptor) noexcept {
    __builtin_prefetch(&descriptor, 1);
    __builtin_prefetch(&descriptor.inline_payload, 1);
}

// A descriptor's call_sequence seen as the atomic it is between the two processes.
inline std::atomic_ref<uint64_t> sequence_of(MessageDescriptor& descriptor) noexcept {
    return std::atomic_ref<uint64_t>(descriptor.call_sequence);
}
// The futex word of a descriptor: the low half of its call_sequence.
inline const std::atomic<uint32_t>* sequence_futex(const MessageDescriptor& descriptor) noexcept {
    return reinterpret_cast<const std::atomic<uint32_t>*>(&descriptor.call_sequence);
}

// Vyukov bounded MPMC queue cell: `sequence` says whose turn the cell is.
struct RingCell {
    std::atomic<uint64_t> sequence;
    std::atomic<uint32_t> slot_index;
    uint32_t reserved;
};
static_assert(sizeof(RingCell) == 16);

struct ChannelHeader {
    uint64_t magic;
    uint32_t version;
    uint32_t slot_count;
    uint32_t ring_capacity;      // power of two >= slot_count
    uint32_t descriptor_size;
    uint32_t slot_size;
    uint32_t inline_capacity;
    uint64_t ring_offset;
    uint64_t slots_offset;
    uint64_t region_size;
    uint64_t reserved;
};
static_assert(sizeof(ChannelHeader) == 64);

struct alignas(64) RingCursor {
    std::atomic<uint64_t> position;
    uint8_t reserved[56];
};
static_assert(sizeof(RingCursor) == 64);

// How a client wakes the service for this connection. The service arms the doorbell when it stops
// polling the connection (its workers go to sleep); a client that finds it armed after publishing a
// request (a full fence between: no wakeup is lost) disarms it and writes the connection's eventfd,
// which the service's workers wait for in epoll. While the service polls, no client makes a syscall.
struct alignas(64) Doorbell {
    std::atomic<uint32_t> armed;
    uint32_t reserved0;
    uint8_t reserved[56];
};
static_assert(sizeof(Doorbell) == 64);

struct ChannelControl {
    ChannelHeader header;
    RingCursor enqueue;   // client threads
    RingCursor dequeue;   // service workers
    Doorbell doorbell;
};
static_assert(sizeof(ChannelControl) == 256);
static_assert(offsetof(ChannelControl, enqueue) == 64);
static_assert(offsetof(ChannelControl, dequeue) == 128);
static_assert(offsetof(ChannelControl, doorbell) == 192);

static_assert(std::atomic<uint64_t>::is_always_lock_free && sizeof(std::atomic<uint64_t>) == 8);
static_assert(std::atomic<uint32_t>::is_always_lock_free && sizeof(std::atomic<uint32_t>) == 4);

// Where everything sits in a ctrl region for a given slot count.
struct ChannelGeometry {
    uint32_t slot_count = 0;
    uint32_t ring_capacity = 0;
    uint64_t ring_offset = 0;
    uint64_t slots_offset = 0;
    uint64_t region_size = 0;

    static constexpr ChannelGeometry for_slots(uint32_t slot_count) noexcept {
        ChannelGeometry geometry;
        geometry.slot_count = slot_count;
        geometry.ring_capacity = 1;
        while (geometry.ring_capacity < slot_count) geometry.ring_capacity <<= 1;
        geometry.ring_offset = sizeof(ChannelControl);
        geometry.slots_offset =
            (geometry.ring_offset + uint64_t{geometry.ring_capacity} * sizeof(RingCell) + 63) & ~uint64_t{63};
        geometry.region_size = geometry.slots_offset + uint64_t{slot_count} * sizeof(CallSlot);
        return geometry;
    }

    constexpr bool operator==(const ChannelGeometry&) const = default;
};

}  // namespace liteipc::detail
