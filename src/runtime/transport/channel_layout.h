// Layout of a connection's ctrl region, shared read-write by the client and the service.
//
//   offset 0    ChannelControl: header, ring cursors, doorbell (one cache line each)
//   ring_offset RingCell[ring_capacity]   bounded MPMC ring of slot indices, client -> service
//   slots_offset CallSlot[slot_count]     one call in flight per slot: state word + two descriptors
//
// Both peers may write anything here at any time, so nothing in this region is trusted: each side
// takes the geometry from its own validated copy of the header at attach time, reads every
// descriptor once into a private copy before validating it, and bounds-checks every index.
// Every field is fixed-width and every struct's size is asserted: the layout is the wire format.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace liteipc::detail {

inline constexpr uint64_t kChannelMagic = 0x3143'5049'4554'494cULL;  // "LITEIPC1" little-endian
inline constexpr uint32_t kChannelVersion = 3;  // 3: the caller's token in its own field
inline constexpr uint32_t kDefaultSlotCount = 64;
inline constexpr uint32_t kMaxSlotCount = 4096;
inline constexpr uint32_t kInlinePayloadCapacity = 192;

// The slot state word, also the futex a calling thread sleeps on.
// (client) REQUEST -> (service) REPLY -> (client) FREE once it releases a reply that holds a reply-pool
// block (an inline reply leaves the slot at REPLY until its next REQUEST). Oneway and abandoned (timed
// out) calls also end in REPLY, which tells the client it may reclaim the slot. The service frees a
// slot's reply block when it sees FREE, or the slot's next REQUEST.
namespace slot_state {
inline constexpr uint32_t kFree = 0;
inline constexpr uint32_t kRequest = 1;
inline constexpr uint32_t kReply = 2;
inline constexpr uint32_t kMask = 0xff;
}  // namespace slot_state

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
    uint64_t call_sequence;    // set by the client, echoed by the reply: a stale reply never matches
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

struct alignas(64) CallSlot {
    std::atomic<uint32_t> state;            // slot_state; the futex word
    // Set by the client before it sleeps on `state`, read by the service after it stores REPLY (a fence
    // on each side: one of them sees the other). A separate word lets the service publish REPLY with a
    // plain store, not a locked exchange that would first wait for the reply's cache lines.
    std::atomic<uint32_t> waiter_sleeping;
    uint8_t reserved1[56];
    MessageDescriptor request;    // written by the client while the slot is FREE
    MessageDescriptor reply;      // written by the service while the slot is REQUEST
};
static_assert(sizeof(CallSlot) == 576);
static_assert(offsetof(CallSlot, request) == 64);
static_assert(offsetof(CallSlot, reply) == 320);

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
