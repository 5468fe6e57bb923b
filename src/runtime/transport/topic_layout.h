// Layout of a topic's shared memory: one sample pool per publisher, two regions per subscriber.
//
//   pool (publisher writes, sealed F_SEAL_FUTURE_WRITE; every subscriber maps it read-only)
//     sample_count slots of slot_bytes each; a sample's bytes start at index * slot_bytes. Then the
//     TopicBell at sample_count * slot_bytes: the one futex word every sleeping subscriber waits on.
//   queue (publisher writes, sealed; this subscriber maps it read-only)
//     QueueHeader, then QueueEntry[depth]: the samples published to this subscriber, by position.
//   reader (shared read-write with this subscriber; nothing in it is trusted by the publisher)
//     ReaderState, then uint32_t release ring[release_capacity]: sample indices handed back.
//
// Who owns a sample is decided only in the publisher's private memory (topic_fanout.h): `head` and
// the release ring are the subscriber's claims, each checked against what the publisher knows it
// gave this subscriber; a subscriber that lies is dropped, and can never make the publisher free a
// sample another subscriber still reads. Every field is fixed-width; the layout is the wire format.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace liteipc::detail {

inline constexpr uint64_t kTopicMagic = 0x3143'4950'4f54'494cULL;  // "LITOPIC1" little-endian
inline constexpr uint32_t kTopicVersion = 2;  // 2: the pool ends with the TopicBell
inline constexpr uint32_t kMaxTopicDepth = 4096;
inline constexpr uint32_t kMaxTopicSamples = 65536;

// Calls a subscriber makes on the topic's service (its connection is the kernel-checked subscribe).
inline constexpr uint32_t kTopicSubscribeCode = 1;
inline constexpr uint32_t kTopicUnsubscribeCode = 2;

// ReaderState::waiting bits: how the subscriber wants to be woken while its queue is empty.
inline constexpr uint32_t kWakeFutex = 1u << 0;   // a thread sleeps on TopicBell::rung
inline constexpr uint32_t kWakeSocket = 1u << 1;  // a poller watches the subscription's wake fd

// One word for the whole topic: a publish that finds any subscriber asleep bumps it and wakes every
// sleeper with one FUTEX_WAKE, instead of one wake per subscriber. Every subscriber gets every
// publish, so the word tells none of them anything its own queue does not. It is the only shared
// word a subscriber sleeps on: a futex on a read-only mapping costs the kernel a failed write
// lookup of the page at every wait, so one word, not one per purpose. Ending one subscription rings
// it too (the others wake, find nothing, sleep again).
struct alignas(64) TopicBell {
    std::atomic<uint32_t> rung;
    uint32_t pad[15];
};
static_assert(sizeof(TopicBell) == 64);

inline uint64_t topic_pool_bytes(uint64_t slot_bytes, uint32_t sample_count) {
    return slot_bytes * sample_count + sizeof(TopicBell);
}

struct QueueEntry {
    uint32_t sample;  // index into the pool
    uint32_t pad;
    uint64_t size;       // bytes of the sample written by the publisher
    uint64_t sequence;   // the topic's publish count at this sample, from 1
    uint64_t publish_ns; // CLOCK_MONOTONIC at publish
};
static_assert(sizeof(QueueEntry) == 32 && std::is_trivially_copyable_v<QueueEntry>);

struct alignas(64) QueueHeader {
    uint64_t magic;
    uint32_t version;
    uint32_t depth;         // entries in the queue
    uint32_t sample_count;  // slots in the pool
    uint32_t release_capacity;  // entries in the reader region's release ring
    uint64_t slot_bytes;    // bytes per pool slot (a multiple of 64)
    uint64_t pool_bytes;
    uint64_t subscription;  // the publisher's id for this subscription
    uint8_t pad0[16];
    alignas(64) std::atomic<uint64_t> tail;       // positions published so far (release store)
    std::atomic<uint64_t> dropped;                // entries the publisher took back under latest-N
    std::atomic<uint64_t> release_head;           // release ring entries the publisher has read
    // 1 once the publisher withdrew the topic or ended this subscription (then it rings the bell).
    alignas(64) std::atomic<uint32_t> publisher_closed;
};
static_assert(sizeof(QueueHeader) == 192);

struct alignas(64) ReaderState {
    // Next position the subscriber takes. Advanced by compare-and-swap: by the subscriber as it takes
    // an entry, by the publisher as it drops the oldest one under latest-N.
    std::atomic<uint64_t> head;
    std::atomic<uint32_t> waiting;  // kWake* bits, set by the subscriber before it sleeps
    // 0, or while a blocking publisher sleeps on head: the low 32 bits of the head it waits for (at
    // least 1). The subscriber that takes up to it clears it and wakes the publisher.
    std::atomic<uint32_t> publisher_waiting;
    alignas(64) std::atomic<uint64_t> release_tail;  // release ring entries written so far
};
static_assert(sizeof(ReaderState) == 128);

struct TopicGeometry {
    uint32_t depth = 0;
    uint32_t release_capacity = 0;
    uint64_t queue_bytes = 0;
    uint64_t reader_bytes = 0;

    static TopicGeometry for_depth(uint32_t depth, uint32_t release_capacity) {
        TopicGeometry g;
        g.depth = depth;
        g.release_capacity = release_capacity;
        g.queue_bytes = round_to_page(sizeof(QueueHeader) + uint64_t{depth} * sizeof(QueueEntry));
        g.reader_bytes = round_to_page(sizeof(ReaderState) + uint64_t{release_capacity} * sizeof(uint32_t));
        return g;
    }
    static uint64_t round_to_page(uint64_t bytes) { return (bytes + 4095) / 4096 * 4096; }
};

inline QueueEntry* queue_entries(QueueHeader* header) { return reinterpret_cast<QueueEntry*>(header + 1); }
inline const QueueEntry* queue_entries(const QueueHeader* header) {
    return reinterpret_cast<const QueueEntry*>(header + 1);
}
inline std::atomic<uint32_t>* release_ring(ReaderState* state) {
    return reinterpret_cast<std::atomic<uint32_t>*>(state + 1);
}

// The low half of `head`, the word a blocking publisher sleeps on (little-endian: the changing half).
inline const std::atomic<uint32_t>* head_futex(const ReaderState* state) {
    static_assert(std::endian::native == std::endian::little);
    return reinterpret_cast<const std::atomic<uint32_t>*>(&state->head);
}

}  // namespace liteipc::detail
