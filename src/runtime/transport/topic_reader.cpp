#include "transport/topic_reader.h"

#include <sys/mman.h>

#include <string>

#include "common/futex.h"
#include "common/log.h"
#include "transport/channel_ctrl.h"

namespace liteipc::detail {

Result<std::unique_ptr<TopicReader>> TopicReader::attach(int pool_fd, int queue_fd, int reader_fd, uint32_t max_held) {
    // A region the publisher could shrink would turn our next read into SIGBUS.
    for (auto [fd, name] : {std::pair{pool_fd, "topic pool"}, std::pair{queue_fd, "topic queue"},
                            std::pair{reader_fd, "topic reader"}})
        if (auto fixed = require_fixed_size(fd, name); !fixed) return std::unexpected(fixed.error());
    std::unique_ptr<TopicReader> owned(new TopicReader());
    TopicReader& reader = *owned;
    auto queue = Mapping::map_whole(queue_fd, PROT_READ);
    if (!queue) return std::unexpected(queue.error());
    if (queue->size() < sizeof(QueueHeader)) return fail(Errc::malformed, "topic queue region too small");
    // One private copy of the geometry, checked once.
    const auto* header = reinterpret_cast<const QueueHeader*>(queue->data());
    const uint64_t magic = header->magic;
    const uint32_t version = header->version, depth = header->depth, samples = header->sample_count,
                   release_capacity = header->release_capacity;
    const uint64_t slot_bytes = header->slot_bytes;
    if (magic != kTopicMagic || version != kTopicVersion)
        return fail(Errc::malformed, "topic queue: wrong magic or version " + std::to_string(version));
    const TopicGeometry geometry = TopicGeometry::for_depth(depth, release_capacity);
    if (depth == 0 || depth > kMaxTopicDepth || samples == 0 || samples > kMaxTopicSamples || slot_bytes == 0 ||
        slot_bytes % 64 != 0 || release_capacity == 0 || release_capacity > 4 * kMaxTopicDepth ||
        queue->size() < geometry.queue_bytes)
        return fail(Errc::malformed, "topic queue: geometry out of range");
    auto reader_map = Mapping::map(reader_fd, geometry.reader_bytes, PROT_READ | PROT_WRITE);
    if (!reader_map) return std::unexpected(reader_map.error());
    auto pool_size = file_size(pool_fd);
    if (!pool_size) return std::unexpected(pool_size.error());
    const uint64_t pool_bytes = topic_pool_bytes(slot_bytes, samples);
    if (*pool_size < pool_bytes) return fail(Errc::malformed, "topic pool smaller than its samples and bell");
    auto pool = Mapping::map(pool_fd, pool_bytes, PROT_READ);
    if (!pool) return std::unexpected(pool.error());
    reader.queue_map_ = std::move(*queue);
    reader.reader_map_ = std::move(*reader_map);
    reader.pool_ = std::move(*pool);
    reader.queue_ = header;
    reader.reader_ = reinterpret_cast<ReaderState*>(reader.reader_map_.data());
    reader.bell_ = reinterpret_cast<const TopicBell*>(reader.pool_.data() + slot_bytes * samples);
    reader.depth_ = depth;
    reader.sample_count_ = samples;
    reader.release_capacity_ = release_capacity;
    reader.slot_bytes_ = slot_bytes;
    reader.subscription_ = header->subscription;
    reader.max_held_ = max_held;
    return owned;
}

bool TopicReader::empty() const {
    return reader_->head.load(std::memory_order_acquire) == queue_->tail.load(std::memory_order_acquire);
}

Result<std::optional<TakenSample>> TopicReader::try_take() {
    // No lock unless a release still waits for room in the ring: a busy subscriber polls here.
    if (held_.load(std::memory_order_relaxed) >= max_held_)
        return fail(Errc::no_memory, "the subscriber holds its " + std::to_string(max_held_) +
                                         " samples (max_held): release one first");
    if (unsent_.load(std::memory_order_relaxed) != 0) {
        std::lock_guard lock(*release_mutex_);
        // A release still waiting for room in the ring is a sample the publisher counts as held:
        // taking past max_held in its eyes would get this subscriber dropped. Wait until it reads them.
        flush_releases();
        if (held_.load(std::memory_order_relaxed) + unsent_releases_.size() >= max_held_)
            return std::optional<TakenSample>{};
    }
    for (;;) {
        uint64_t head = reader_->head.load(std::memory_order_acquire);
        const uint64_t tail = queue_->tail.load(std::memory_order_acquire);
        if (head == tail) return std::optional<TakenSample>{};
        if (head > tail || tail - head > depth_) return fail(Errc::malformed, "topic queue: tail out of range");
        // Copy the entry, then claim it: if the publisher dropped it meanwhile, the claim fails.
        const QueueEntry& cell = queue_entries(queue_)[head % depth_];
        TakenSample sample;
        sample.index = std::atomic_ref<const uint32_t>(cell.sample).load(std::memory_order_relaxed);
        sample.size = std::atomic_ref<const uint64_t>(cell.size).load(std::memory_order_relaxed);
        sample.sequence = std::atomic_ref<const uint64_t>(cell.sequence).load(std::memory_order_relaxed);
        sample.publish_ns = std::atomic_ref<const uint64_t>(cell.publish_ns).load(std::memory_order_relaxed);
        if (!reader_->head.compare_exchange_strong(head, head + 1, std::memory_order_seq_cst)) continue;
        // A blocking publisher sleeps until our head reaches its mark: one wake, there.
        const uint32_t mark = reader_->publisher_waiting.load(std::memory_order_seq_cst);
        if (mark != 0 && static_cast<int32_t>(static_cast<uint32_t>(head + 1) - mark) >= 0 &&
            reader_->publisher_waiting.exchange(0, std::memory_order_seq_cst) != 0)
            futex_wake(head_futex(reader_));
        if (sample.index >= sample_count_ || sample.size > slot_bytes_) {
            LITEIPC_LOG(warn, "topic subscription %llu: publisher queued sample %u of %llu bytes, out of range",
                        static_cast<unsigned long long>(subscription_), sample.index,
                        static_cast<unsigned long long>(sample.size));
            return fail(Errc::malformed, "topic queue: the publisher queued a sample out of range");
        }
        held_.fetch_add(1, std::memory_order_relaxed);
        if (stamps_.valid() && !take_stamp(sample)) {
            refused_.fetch_add(1, std::memory_order_relaxed);
            release(sample.index);  // the publisher counts it as taken: hand it back
            continue;
        }
        return std::optional<TakenSample>{sample};
    }
}

bool TopicReader::take_stamp(TakenSample& sample) {
    // Stamps come in the order of the topic's sequence, which the kernel keeps rising; the ones of
    // samples dropped from our queue (latest-N) are skipped.
    for (;;) {
        if (!next_stamp_) {
            liteipc_message_record record;
            if (!stamps_.pop(record)) break;
            next_stamp_ = record;
        }
        const liteipc_message_record stamp = *next_stamp_;
        if (stamp.kind != LITEIPC_REC_SAMPLE || stamp.call_sequence < sample.sequence) {
            next_stamp_.reset();
            continue;
        }
        if (stamp.call_sequence > sample.sequence) break;  // the kernel never saw this one
        next_stamp_.reset();
        if (stamp.slot != sample.index || stamp.payload_length != sample.size) {
            LITEIPC_LOG(warn, "topic subscription %llu: sample %llu names slot %u of %llu bytes, its stamp slot %u "
                              "of %llu bytes: refused",
                        static_cast<unsigned long long>(subscription_), static_cast<unsigned long long>(sample.sequence),
                        sample.index, static_cast<unsigned long long>(sample.size), stamp.slot,
                        static_cast<unsigned long long>(stamp.payload_length));
            return false;
        }
        sample.stamped = true;
        sample.publisher_pid = stamp.pid;
        sample.publisher_uid = stamp.uid;
        return true;
    }
    LITEIPC_LOG(warn, "topic subscription %llu: sample %llu (slot %u) was queued without the kernel's stamp: refused",
                static_cast<unsigned long long>(subscription_), static_cast<unsigned long long>(sample.sequence),
                sample.index);
    return false;
}

void TopicReader::flush_releases() {
    std::atomic<uint32_t>* ring = release_ring(reader_);
    uint64_t tail = reader_->release_tail.load(std::memory_order_relaxed);
    const uint64_t read = queue_->release_head.load(std::memory_order_acquire);
    std::size_t sent = 0;
    for (; sent < unsent_releases_.size() && tail - read < release_capacity_; ++sent, ++tail)
        ring[tail % release_capacity_].store(unsent_releases_[sent], std::memory_order_relaxed);
    reader_->release_tail.store(tail, std::memory_order_release);
    unsent_releases_.erase(unsent_releases_.begin(), unsent_releases_.begin() + static_cast<std::ptrdiff_t>(sent));
    unsent_.store(static_cast<uint32_t>(unsent_releases_.size()), std::memory_order_relaxed);
}

void TopicReader::release(uint32_t index) {
    std::lock_guard lock(*release_mutex_);
    held_.fetch_sub(1, std::memory_order_relaxed);
    unsent_releases_.push_back(index);
    flush_releases();
}

bool TopicReader::wait(std::chrono::nanoseconds spin, Deadline deadline) {
    auto ready = [&] { return !empty() || publisher_closed() || interrupted(); };
    if (ready() || spin_until(spin, deadline, ready, [] { return false; })) return true;
    while (!deadline.expired()) {
        // The bell read before the waiting bit is set: a publish after our last look changes it.
        const uint32_t rung = bell_->rung.load(std::memory_order_acquire);
        reader_->waiting.fetch_or(kWakeFutex, std::memory_order_seq_cst);
        if (ready()) break;
        const FutexWaitTarget targets[] = {{&bell_->rung, rung, true}, {&interrupted_, 0, false}};
        futex_waitv(targets, deadline);
        if (ready()) break;
    }
    reader_->waiting.fetch_and(~kWakeFutex, std::memory_order_relaxed);
    return ready();
}

bool TopicReader::arm_socket() {
    reader_->waiting.fetch_or(kWakeSocket, std::memory_order_seq_cst);
    if (!empty() || publisher_closed()) {
        disarm_socket();
        return false;
    }
    return true;
}

void TopicReader::interrupt() {
    interrupted_.store(1, std::memory_order_release);
    futex_wake(&interrupted_, INT_MAX, false);
}

}  // namespace liteipc::detail
