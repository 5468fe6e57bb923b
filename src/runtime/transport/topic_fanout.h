// The publisher's half of a topic: its sample pool, who holds which sample, and one queue per
// subscriber (layout in topic_layout.h).
//
// A sample is written once, in place, and delivered by index to every subscriber's queue. Its
// reference count lives here, in private memory: one for the publisher's loan, one per queue entry
// and per sample a subscriber took and has not released, one while it is in the history. It is
// reused only at zero. What a subscriber writes (its head, its release ring) is checked against what
// this side knows it gave that subscriber; a subscriber caught lying is dropped and what it held is
// taken back, so it can starve only itself.
//
// Room is reserved at subscribe: depth + max_held per subscriber, the history and the loans fit the
// pool, so a loan finds a free sample whatever the subscribers do (a stopped one included) once
// the publisher has no more than max_loans samples out.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/deadline.h"
#include "common/mapping.h"
#include "liteipc/context.h"
#include "liteipc/error.h"
#include "transport/mediated.h"
#include "transport/topic_layout.h"

namespace liteipc::detail {

struct FanoutOptions {
    uint64_t sample_size = 4096;  // largest sample
    uint32_t sample_count = 64;   // slots in the pool
    uint32_t history = 0;         // last samples kept for late joiners
    uint32_t max_loans = 2;       // samples the publisher may hold loaned at once
    bool try_hugepages = true;
};

struct SubscriptionRequest {
    uint32_t depth = 16;
    uint32_t max_held = 4;
    uint32_t history = 0;   // of the topic's history, how many to queue at once
    bool block = false;     // block the publisher when full, instead of dropping the oldest
    PeerId peer;            // the subscriber, as the kernel stamped it at connect
    UniqueFd wake_socket;   // SOCK_SEQPACKET end the publisher writes one byte to, to wake a poller
    // A mediated topic's: every sample queued to this subscriber is first stamped by the kernel
    // (depth is then at most LITEIPC_MEDIATED_TOPIC_DEPTH, so that the stamps fit their ring).
    std::optional<MediatedSender> stamps;
};

// What a subscriber gets: its id and fds to map (the pool and queue read-only, its reader region).
struct SubscriptionGrant {
    uint64_t id = 0;
    int pool_fd = -1;    // owned by the fanout
    int queue_fd = -1;   // owned by the subscription
    int reader_fd = -1;  // owned by the subscription
    uint32_t sample_count = 0;
    uint64_t slot_bytes = 0;
    uint32_t depth = 0;
    uint32_t release_capacity = 0;
};

struct FanoutStats {
    uint32_t subscribers = 0;
    uint32_t samples_in_use = 0;  // referenced by a loan, a queue, a subscriber or the history
    uint32_t sample_count = 0;
    uint32_t loans = 0;
    uint64_t published = 0;
    uint64_t dropped = 0;          // queue entries taken back under latest-N, all subscribers
    uint64_t dropped_subscribers = 0;  // subscribers dropped for breaking the protocol
    uint64_t bogus_releases = 0;   // released indices the subscriber did not hold (ignored)
    uint64_t unstamped = 0;        // samples of a mediated topic not delivered: the kernel did not stamp them
    bool hugepages = false;
};

class TopicFanout {
public:
    static Result<std::unique_ptr<TopicFanout>> create(const std::string& name, FanoutOptions options);
    ~TopicFanout();
    // The publisher withdrew: every subscriber's queue says so and its sleepers wake. Idempotent.
    void close();

    Result<SubscriptionGrant> subscribe(SubscriptionRequest request);
    // Ends a subscription and takes back what it held (its death, its unsubscribe). `peer` must be the
    // subscriber's; false when no such subscription.
    bool unsubscribe(uint64_t id, const PeerId& peer);
    bool has_subscription(uint64_t id) const;

    // A free sample for the publisher to write, waiting for releases until the deadline.
    Result<uint32_t> loan(Deadline deadline);
    std::span<std::byte> sample_bytes(uint32_t index) const;
    void give_back(uint32_t index);  // a loan never published
    // Queues the loaned sample to every subscriber and wakes the sleeping ones; the loan ends. A
    // blocking subscriber's full queue waits until the deadline, then Errc::timed_out and nothing was
    // delivered (the loan stays the caller's). Returns the sample's sequence number.
    Result<uint64_t> publish(uint32_t index, uint64_t size, Deadline deadline);

    FanoutStats stats();
    uint64_t sample_size() const { return options_.sample_size; }
    uint64_t slot_bytes() const { return slot_bytes_; }

private:
    struct Subscription;
    explicit TopicFanout(FanoutOptions options);

    void ref(uint32_t index) { ++refs_[index]; }
    void unref(uint32_t index);
    // Takes in what the subscriber did since the last look (taken entries, releases). False when it
    // broke the protocol: the caller drops it.
    bool reconcile(Subscription& s);
    void release_all(Subscription& s);
    void drop(std::map<uint64_t, std::unique_ptr<Subscription>>::iterator it, const char* why);
    // Reconciles every subscriber (dropping the dishonest ones): releases reach the free list.
    void reconcile_all();
    // Latest-N: takes back the oldest entries until one more fits. False if the subscriber broke the protocol.
    bool make_room(Subscription& s);
    static bool queue_full(const Subscription& s);
    // Queues `entry` to `s`; a mediated topic's subscriber gets it only once the kernel stamped it
    // (a subscriber too far behind misses it, counted as dropped).
    void deliver(Subscription& s, const QueueEntry& entry);
    // Writes a poller's wake socket; true when a thread of the subscriber sleeps on the bell.
    bool wake(Subscription& s);
    void ring_bell();  // wakes every sleeping subscriber

    const FanoutOptions options_;
    uint64_t slot_bytes_ = 0;
    UniqueFd pool_fd_;
    UniqueFd pool_read_only_;
    Mapping pool_;
    TopicBell* bell_ = nullptr;  // at the pool's end
    bool hugepages_ = false;

    mutable std::mutex mutex_;
    std::vector<uint32_t> refs_;
    std::vector<uint32_t> free_;  // indices at zero references
    std::deque<QueueEntry> history_;  // the last samples published, oldest first
    std::map<uint64_t, std::unique_ptr<Subscription>> subscriptions_;
    uint64_t next_id_ = 1;
    uint64_t reserved_ = 0;  // depth + max_held over the subscriptions
    uint32_t loans_ = 0;
    uint64_t sequence_ = 0;
    uint64_t dropped_ = 0;
    uint64_t dropped_subscribers_ = 0;
    uint64_t bogus_releases_ = 0;
    uint64_t unstamped_ = 0;
};

}  // namespace liteipc::detail
