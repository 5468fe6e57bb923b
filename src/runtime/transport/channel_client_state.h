// What a ChannelClient and the objects it hands out (Reply, PayloadBuffer) share: the mappings, the
// call slots' bookkeeping, and the completion thread of asynchronous calls. Private to the client half
// of a channel (channel_client.cpp, channel_client_async.cpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "transport/channel_client.h"
#include "transport/channel_descriptor.h"

namespace liteipc::detail {

struct ClientState {
    ClientState(Mapping ctrl_mapping, Mapping request_mapping, Mapping reply_mapping, ControlView view,
                UniqueFd doorbell_fd, ClientOptions client_options)
        : ctrl(std::move(ctrl_mapping)), request_pool(std::move(request_mapping)),
          reply_pool(std::move(reply_mapping)), control(view), doorbell(std::move(doorbell_fd)),
          request_allocator(request_pool.size()),
          options(client_options), request_block_of_slot(view.slot_count(), kNoBlock),
          call_of_slot(view.slot_count(), 0), reply_before_of_slot(view.slot_count(), 0),
          attachments_of_slot(view.slot_count()), free_slot_words((view.slot_count() + 63) / 64),
          free_slot_bits(std::make_unique<std::atomic<uint64_t>[]>(free_slot_words)) {
        for (uint32_t word = 0; word < free_slot_words; ++word) {
            const uint32_t slots_here = std::min<uint32_t>(64, view.slot_count() - word * 64);
            free_slot_bits[word].store(slots_here == 64 ? ~uint64_t{0} : (uint64_t{1} << slots_here) - 1,
                                       std::memory_order_relaxed);
        }
        awaiting_service.reserve(view.slot_count());
    }

    bool dead() const noexcept { return dead_word.load(std::memory_order_acquire) != 0; }
    // The service answered the slot's call: the reply's sequence moved since the request went out.
    bool answered(uint32_t slot) const noexcept {
        return sequence_of(control.slot(slot).reply).load(std::memory_order_acquire) != reply_before_of_slot[slot];
    }

    // A free call slot: one compare-and-swap while any is free; otherwise waits (under `mutex`) until
    // a call releases one, reclaiming answered oneway and abandoned slots, until the deadline.
    Result<uint32_t> claim_slot(Deadline deadline);
    bool try_claim_slot(uint32_t& slot) noexcept;
    // The service is done with the slot and we hold no view into its reply: hand it back. Announcing
    // the call in released_sequence tells the service it may reuse the slot's reply block; with no
    // block (an inline reply) nothing is written, sparing a cache-line round trip per call.
    void release_slot(uint32_t slot, bool announce_free = true) noexcept;
    void free_slot(uint32_t slot) noexcept;  // sets its bit; release_slot also wakes a waiting claimer
    // A oneway or abandoned call: reclaim the slot once the service has answered it.
    void await_service(uint32_t slot);
    void reclaim_answered_locked() noexcept;
    // Sleeps until the oldest slot awaiting service is answered (the service wakes a slot's sleeper)
    // or `until`, with that slot pinned; false at once when no slot awaits service.
    bool wait_for_oldest_answer(Deadline until) noexcept;
    static constexpr uint32_t kNoSlot = UINT32_MAX;
    void free_request_block(uint32_t slot) noexcept;

    Mapping ctrl;
    Mapping request_pool;
    Mapping reply_pool;
    ControlView control;
    UniqueFd doorbell;  // eventfd: wakes the service's workers when they armed the connection
    PoolBlockAllocator request_allocator;
    ClientOptions options;
    std::atomic<uint32_t> dead_word{0};  // private futex: waiters sleep on it with their slot
    std::atomic<uint64_t> next_sequence{1};
    // Batches take their place in the connection's stream and reach the ring under one lock, so
    // that stream order is ring order (a batch whose push fails gives its place back).
    std::mutex stream_mutex;
    uint64_t next_batch = 1;

    // Guards awaiting_service; claimers that found no free slot wait on slot_released under it.
    std::mutex mutex;
    std::condition_variable slot_released;
    std::vector<uint32_t> awaiting_service;
    // The slot a caller waiting for the oldest answer sleeps on (kNoSlot: none): not reclaimed while
    // pinned. One such caller at a time, under oldest_answer_mutex.
    uint32_t pinned_slot = kNoSlot;
    std::mutex oldest_answer_mutex;
    // The request block each slot's call still owns; the calling thread's alone while it waits.
    std::vector<uint64_t> request_block_of_slot;
    // The sequence of the call each slot carries, and the reply's call_sequence when that call went
    // out (the service answered once it moved). The calling thread's while it publishes; read after.
    std::vector<uint64_t> call_of_slot;
    std::vector<uint64_t> reply_before_of_slot;
    // Further blocks (attachments) each slot's call owns, freed with its request block.
    std::vector<std::vector<uint64_t>> attachments_of_slot;
    // The free call slots, a bit each (set: free), in our own memory: a call claims and releases its
    // slot with one atomic operation and takes no lock unless it has to wait.
    uint32_t free_slot_words;
    std::unique_ptr<std::atomic<uint64_t>[]> free_slot_bits;
    std::atomic<uint32_t> slot_waiters{0};  // claimers waiting on slot_released

    // Async calls: the slots whose reply the completion fd has not announced yet, and the thread
    // that sleeps on them (channel_client_async.cpp).
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

}  // namespace liteipc::detail
