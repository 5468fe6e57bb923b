// The subscriber's half of a topic: the publisher's pool and this subscription's queue mapped
// read-only, its reader region read-write (layout in topic_layout.h).
//
// The publisher is a peer like any other: the queue's geometry is copied and checked once at attach,
// and every entry is copied out and bounds-checked before a sample is handed to the user. A mediated
// topic's entry is handed over only with the kernel's stamp of the same sample (its ring is written
// by the send program alone): an entry the kernel did not see is refused and handed back.
#pragma once

#include <chrono>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "common/deadline.h"
#include "common/mapping.h"
#include "liteipc/error.h"
#include "liteipc_abi.h"
#include "transport/mediated.h"
#include "transport/topic_layout.h"

namespace liteipc::detail {

struct TakenSample {
    uint32_t index = 0;
    uint64_t size = 0;
    uint64_t sequence = 0;
    uint64_t publish_ns = 0;
    bool stamped = false;  // a mediated topic's: the publisher as the kernel saw the publish
    uint32_t publisher_pid = 0;
    uint32_t publisher_uid = 0;
};

class TopicReader {
public:
    // Maps the three regions; the fds stay the caller's.
    static Result<std::unique_ptr<TopicReader>> attach(int pool_fd, int queue_fd, int reader_fd, uint32_t max_held);
    // A mediated topic: from now on every sample needs its stamp in `ring`.
    void expect_stamps(MessageRing ring) { stamps_ = std::move(ring); }

    // The oldest queued sample, or nullopt when the queue is empty. Errc::no_memory when max_held
    // samples are out already; Errc::malformed when the publisher wrote an entry out of range.
    Result<std::optional<TakenSample>> try_take();
    // Waits (spin, then futex) until a sample is queued, the publisher closed, or the deadline.
    // True when something may be there.
    bool wait(std::chrono::nanoseconds spin, Deadline deadline);
    void release(uint32_t index);

    std::span<const std::byte> bytes(const TakenSample& sample) const {
        return {pool_.data() + uint64_t{sample.index} * slot_bytes_, sample.size};
    }
    bool publisher_closed() const { return queue_->publisher_closed.load(std::memory_order_acquire) != 0; }
    bool empty() const;
    uint64_t dropped() const { return queue_->dropped.load(std::memory_order_relaxed); }
    uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
    uint64_t subscription() const { return subscription_; }
    // A poller: the next publish writes the wake socket. False when samples are queued already.
    bool arm_socket();
    void disarm_socket() { reader_->waiting.fetch_and(~kWakeSocket, std::memory_order_relaxed); }
    // Ends every wait() of this process for good (the publisher died: its word will not change).
    void interrupt();
    bool interrupted() const { return interrupted_.load(std::memory_order_acquire) != 0; }

private:
    TopicReader() = default;
    void flush_releases();  // with release_mutex_ held
    // Finds the kernel's stamp of `sample` and copies the publisher from it; false (and a log line)
    // when there is none or it names another slot or size.
    bool take_stamp(TakenSample& sample);

    Mapping pool_;
    Mapping queue_map_;
    Mapping reader_map_;
    const QueueHeader* queue_ = nullptr;
    const TopicBell* bell_ = nullptr;  // in the pool mapping
    ReaderState* reader_ = nullptr;
    uint32_t depth_ = 0;
    uint32_t sample_count_ = 0;
    uint32_t release_capacity_ = 0;
    uint64_t slot_bytes_ = 0;
    uint64_t subscription_ = 0;
    uint32_t max_held_ = 0;
    std::atomic<uint32_t> held_{0};  // taken and not released
    std::atomic<uint32_t> interrupted_{0};  // a private futex word next to the shared one
    std::unique_ptr<std::mutex> release_mutex_ = std::make_unique<std::mutex>();
    std::vector<uint32_t> unsent_releases_;  // the ring was full: sent with the next release
    std::atomic<uint32_t> unsent_{0};  // its size, for try_take's lock-free look
    MessageRing stamps_;  // valid for a mediated topic
    std::optional<liteipc_message_record> next_stamp_;  // popped, for a sample further on in the queue
    std::atomic<uint64_t> refused_{0};
};

}  // namespace liteipc::detail
