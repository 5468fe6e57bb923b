#include "transport/topic_fanout.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <thread>

#include "common/futex.h"
#include "common/log.h"
#include "liteipc_abi.h"
#include "transport/channel_ctrl.h"

namespace liteipc::detail {

struct TopicFanout::Subscription {
    uint64_t id = 0;
    PeerId peer;
    uint32_t depth = 0;
    uint32_t max_held = 0;
    bool block = false;
    TopicGeometry geometry;
    UniqueFd queue_fd;  // read-only re-open handed to the subscriber
    UniqueFd reader_fd;
    UniqueFd wake_socket;
    Mapping queue_map;
    Mapping reader_map;
    QueueHeader* queue = nullptr;
    ReaderState* reader = nullptr;
    // Private truth: positions [head, tail) are queued, queued[p % depth] their samples; held[i] is 1
    // while the subscriber took sample i and has not released it.
    uint64_t head = 0;
    uint64_t tail = 0;
    uint64_t release_head = 0;
    std::optional<MediatedSender> stamps;
    uint64_t unstamped = 0;
    std::vector<uint32_t> queued;
    std::vector<uint8_t> held;
    uint32_t held_count = 0;
};

namespace {

uint64_t monotonic_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return uint64_t(now.tv_sec) * 1'000'000'000u + uint64_t(now.tv_nsec);
}

}  // namespace

TopicFanout::TopicFanout(FanoutOptions options) : options_(options) {}

Result<std::unique_ptr<TopicFanout>> TopicFanout::create(const std::string& name, FanoutOptions options) {
    if (options.sample_size == 0 || options.sample_count == 0 || options.sample_count > kMaxTopicSamples ||
        options.max_loans == 0)
        return fail(Errc::invalid_argument, "topic '" + name + "': sample_size and sample_count (1.." +
                                                std::to_string(kMaxTopicSamples) + ") and max_loans must be set");
    if (uint64_t{options.history} + options.max_loans > options.sample_count)
        return fail(Errc::invalid_argument, "topic '" + name + "': history + max_loans exceed sample_count");
    std::unique_ptr<TopicFanout> fanout(new TopicFanout(options));
    fanout->slot_bytes_ = (options.sample_size + 63) / 64 * 64;
    if (fanout->slot_bytes_ > (uint64_t{1} << 40) / options.sample_count)
        return fail(Errc::invalid_argument, "topic '" + name + "': pool larger than 1 TiB");
    const uint64_t pool_bytes = topic_pool_bytes(fanout->slot_bytes_, options.sample_count);
    auto pool = create_pool("liteipc-topic", pool_bytes, options.try_hugepages);
    if (!pool) return std::unexpected(pool.error());
    auto mapping = map_writer_pool(pool->fd.get());  // sealed: nobody else can ever write it
    if (!mapping) return std::unexpected(mapping.error());
    auto read_only = reopen_read_only(pool->fd.get());
    if (!read_only) return std::unexpected(read_only.error());
    fanout->pool_fd_ = std::move(pool->fd);
    fanout->pool_read_only_ = std::move(*read_only);
    fanout->pool_ = std::move(*mapping);
    fanout->bell_ = reinterpret_cast<TopicBell*>(fanout->pool_.data() + fanout->slot_bytes_ * options.sample_count);
    fanout->hugepages_ = pool->hugepages;
    fanout->refs_.assign(options.sample_count, 0);
    for (uint32_t i = options.sample_count; i-- > 0;) fanout->free_.push_back(i);
    return fanout;
}

TopicFanout::~TopicFanout() { close(); }

void TopicFanout::close() {
    std::lock_guard lock(mutex_);
    for (auto& [id, s] : subscriptions_) s->queue->publisher_closed.store(1, std::memory_order_release);
    ring_bell();
}

Result<SubscriptionGrant> TopicFanout::subscribe(SubscriptionRequest request) {
    if (request.depth == 0 || request.depth > kMaxTopicDepth || request.max_held == 0 ||
        request.max_held > kMaxTopicDepth)
        return fail(Errc::invalid_argument, "subscription depth and max_held must be 1.." + std::to_string(kMaxTopicDepth));
    if (request.stamps && request.depth > LITEIPC_MEDIATED_TOPIC_DEPTH)
        return fail(Errc::invalid_argument, "a mediated topic's subscription depth must be 1.." +
                                                std::to_string(LITEIPC_MEDIATED_TOPIC_DEPTH));
    std::lock_guard lock(mutex_);
    request.history = std::min<uint32_t>(request.history, static_cast<uint32_t>(history_.size()));
    request.history = std::min(request.history, request.depth);
    const uint64_t need = uint64_t{request.depth} + request.max_held;
    const uint64_t fixed = uint64_t{options_.history} + options_.max_loans;
    if (reserved_ + need + fixed > options_.sample_count)
        return fail(Errc::no_memory, "the topic's pool has room for " +
                                         std::to_string(options_.sample_count - fixed - reserved_) +
                                         " more queued or held samples, the subscription asks for " +
                                         std::to_string(need) + " (depth + max_held)");
    auto s = std::make_unique<Subscription>();
    s->id = next_id_++;
    s->peer = request.peer;
    s->depth = request.depth;
    s->max_held = request.max_held;
    s->block = request.block;
    s->wake_socket = std::move(request.wake_socket);
    s->stamps = request.stamps;
    // Releases the publisher has not read yet are at most what the subscriber may hold plus its queue.
    s->geometry = TopicGeometry::for_depth(request.depth, std::bit_ceil(2 * static_cast<uint32_t>(need)));
    auto queue_fd = create_memfd("liteipc-topic-queue", s->geometry.queue_bytes);
    auto reader_fd = create_memfd("liteipc-topic-reader", s->geometry.reader_bytes);
    if (!queue_fd) return std::unexpected(queue_fd.error());
    if (!reader_fd) return std::unexpected(reader_fd.error());
    for (int fd : {queue_fd->get(), reader_fd->get()})
        if (auto sealed = add_seals(fd, F_SEAL_SHRINK | F_SEAL_GROW); !sealed) return std::unexpected(sealed.error());
    auto queue_map = map_writer_pool(queue_fd->get());  // sealed F_SEAL_FUTURE_WRITE: the subscriber only reads it
    if (!queue_map) return std::unexpected(queue_map.error());
    auto reader_map = Mapping::map(reader_fd->get(), s->geometry.reader_bytes, PROT_READ | PROT_WRITE);
    if (!reader_map) return std::unexpected(reader_map.error());
    auto queue_read_only = reopen_read_only(queue_fd->get());
    if (!queue_read_only) return std::unexpected(queue_read_only.error());
    s->queue_fd = std::move(*queue_read_only);
    s->reader_fd = std::move(*reader_fd);
    s->queue_map = std::move(*queue_map);
    s->reader_map = std::move(*reader_map);
    s->queue = reinterpret_cast<QueueHeader*>(s->queue_map.data());
    s->reader = reinterpret_cast<ReaderState*>(s->reader_map.data());
    QueueHeader& q = *s->queue;
    q.magic = kTopicMagic;
    q.version = kTopicVersion;
    q.depth = s->depth;
    q.sample_count = options_.sample_count;
    q.release_capacity = s->geometry.release_capacity;
    q.slot_bytes = slot_bytes_;
    q.pool_bytes = pool_.size();
    q.subscription = s->id;
    s->queued.assign(s->depth, 0);
    s->held.assign(options_.sample_count, 0);

    // A late joiner gets the last samples first, oldest first.
    for (auto it = history_.end() - request.history; it != history_.end(); ++it) deliver(*s, *it);
    reserved_ += need;
    SubscriptionGrant grant;
    grant.id = s->id;
    grant.pool_fd = pool_read_only_.get();
    grant.queue_fd = s->queue_fd.get();
    grant.reader_fd = s->reader_fd.get();
    grant.sample_count = options_.sample_count;
    grant.slot_bytes = slot_bytes_;
    grant.depth = s->depth;
    grant.release_capacity = s->geometry.release_capacity;
    subscriptions_.emplace(s->id, std::move(s));
    return grant;
}

bool TopicFanout::unsubscribe(uint64_t id, const PeerId& peer) {
    std::lock_guard lock(mutex_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end() || !(it->second->peer == peer)) return false;
    release_all(*it->second);
    reserved_ -= uint64_t{it->second->depth} + it->second->max_held;
    subscriptions_.erase(it);
    return true;
}

bool TopicFanout::has_subscription(uint64_t id) const {
    std::lock_guard lock(mutex_);
    return subscriptions_.contains(id);
}

void TopicFanout::unref(uint32_t index) {
    if (--refs_[index] == 0) free_.push_back(index);
}

bool TopicFanout::reconcile(Subscription& s) {
    // The release ring's tail first: a subscriber releases only what it took, so every release
    // seen here has its take (the head's advance) seen by the load after it. Read the other way
    // round, a take and its release between the two loads would leave a release of a sample not
    // yet counted as held (ignored) and then a hold never released. Takes whose releases came
    // after the first load are counted held although they are not: when the tail moved between
    // the loads (the view is not one instant), the holdings are judged with that many more, at
    // most a queue's worth (no more can be taken while this publisher holds the lock).
    uint64_t release_tail = 0, head = 0, moved = 0;
    for (int look = 0; look < 4; ++look) {
        release_tail = s.reader->release_tail.load(std::memory_order_acquire);
        head = s.reader->head.load(std::memory_order_acquire);
        moved = s.reader->release_tail.load(std::memory_order_acquire) - release_tail;
        if (moved == 0) break;
    }
    const uint64_t slack = std::min<uint64_t>(moved, s.depth);
    if (head < s.head || head > s.tail) return false;
    for (; s.head < head; ++s.head) {
        const uint32_t index = s.queued[s.head % s.depth];
        if (s.held[index]) return false;
        s.held[index] = 1;
        ++s.held_count;
    }
    const uint32_t capacity = s.geometry.release_capacity;
    if (release_tail < s.release_head || release_tail - s.release_head > capacity) return false;
    std::atomic<uint32_t>* ring = release_ring(s.reader);
    for (; s.release_head < release_tail; ++s.release_head) {
        const uint32_t index = ring[s.release_head % capacity].load(std::memory_order_relaxed);
        if (index < options_.sample_count && s.held[index]) {
            s.held[index] = 0;
            --s.held_count;
            unref(index);
        } else {
            ++bogus_releases_;  // a stale or invented index: ignored, it frees nothing
        }
    }
    s.queue->release_head.store(s.release_head, std::memory_order_release);
    // What it holds now, after its releases: it may have taken and released several meanwhile.
    return s.held_count <= s.max_held + slack;
}

void TopicFanout::release_all(Subscription& s) {
    for (uint64_t p = s.head; p < s.tail; ++p) unref(s.queued[p % s.depth]);
    s.head = s.tail;
    for (uint32_t i = 0; i < options_.sample_count; ++i)
        if (s.held[i]) {
            s.held[i] = 0;
            unref(i);
        }
    s.held_count = 0;
    s.queue->publisher_closed.store(1, std::memory_order_release);
    ring_bell();
}

void TopicFanout::drop(std::map<uint64_t, std::unique_ptr<Subscription>>::iterator it, const char* why) {
    Subscription& s = *it->second;
    LITEIPC_LOG(warn, "topic subscriber pid %u (subscription %llu) dropped: %s", s.peer.pid,
                static_cast<unsigned long long>(s.id), why);
    release_all(s);
    reserved_ -= uint64_t{s.depth} + s.max_held;
    ++dropped_subscribers_;
    subscriptions_.erase(it);
}

void TopicFanout::reconcile_all() {
    for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
        auto next = std::next(it);
        if (!reconcile(*it->second)) drop(it, "its head or release ring broke the protocol");
        it = next;
    }
}

Result<uint32_t> TopicFanout::loan(Deadline deadline) {
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (loans_ >= options_.max_loans)
                return fail(Errc::no_memory, "the publisher holds its " + std::to_string(options_.max_loans) +
                                                 " loaned samples: publish or drop one first");
            if (free_.empty()) reconcile_all();
            if (!free_.empty()) {
                const uint32_t index = free_.back();
                free_.pop_back();
                refs_[index] = 1;
                ++loans_;
                return index;
            }
        }
        // Only a dishonest subscriber beyond its reservation can get here; wait for releases.
        if (deadline.expired()) return fail(Errc::no_memory, "every sample of the topic's pool is held");
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
}

std::span<std::byte> TopicFanout::sample_bytes(uint32_t index) const {
    return {pool_.data() + uint64_t{index} * slot_bytes_, options_.sample_size};
}

void TopicFanout::give_back(uint32_t index) {
    std::lock_guard lock(mutex_);
    --loans_;
    unref(index);
}

bool TopicFanout::queue_full(const Subscription& s) {
    // The private head only lags the subscriber's, so a queue with room here has room: only a queue
    // that looks full is worth reading the subscriber's cache lines for.
    return s.tail - s.head >= s.depth;
}

bool TopicFanout::make_room(Subscription& s) {
    while (s.tail - s.head >= s.depth) {
        uint64_t expected = s.head;
        if (s.reader->head.compare_exchange_strong(expected, s.head + 1, std::memory_order_acq_rel)) {
            unref(s.queued[s.head % s.depth]);
            ++s.head;
            s.queue->dropped.fetch_add(1, std::memory_order_relaxed);
            ++dropped_;
        } else if (!reconcile(s)) {
            return false;  // the subscriber took entries meanwhile: look again
        }
    }
    return true;
}

void TopicFanout::deliver(Subscription& s, const QueueEntry& entry) {
    if (s.stamps) {
        if (auto stamped = s.stamps->stamp(entry.sample, entry.size, entry.sequence); !stamped) {
            // The first miss of a subscription, then one line in 1024: a stopped subscriber misses every one.
            if (s.unstamped++ % 1024 == 0)
                LITEIPC_LOG(warn, "topic subscription %llu (pid %u): sample %llu not delivered, the kernel did not stamp it: %s",
                        static_cast<unsigned long long>(s.id), s.peer.pid,
                        static_cast<unsigned long long>(entry.sequence), stamped.error().describe().c_str());
            s.queue->dropped.fetch_add(1, std::memory_order_relaxed);
            ++dropped_;
            ++unstamped_;
            return;
        }
    }
    QueueEntry* slot = &queue_entries(s.queue)[s.tail % s.depth];
    std::atomic_ref<uint32_t>(slot->sample).store(entry.sample, std::memory_order_relaxed);
    std::atomic_ref<uint64_t>(slot->size).store(entry.size, std::memory_order_relaxed);
    std::atomic_ref<uint64_t>(slot->sequence).store(entry.sequence, std::memory_order_relaxed);
    std::atomic_ref<uint64_t>(slot->publish_ns).store(entry.publish_ns, std::memory_order_relaxed);
    s.queued[s.tail % s.depth] = entry.sample;
    ref(entry.sample);
    ++s.tail;
    s.queue->tail.store(s.tail, std::memory_order_release);
}

void TopicFanout::ring_bell() {
    bell_->rung.fetch_add(1, std::memory_order_release);
    futex_wake(&bell_->rung);
}

bool TopicFanout::wake(Subscription& s) {
    const uint32_t waiting = s.reader->waiting.load(std::memory_order_relaxed);
    if ((waiting & kWakeSocket) && s.wake_socket) {
        // MSG_DONTWAIT per call: a subscriber cannot make this block (it could clear an eventfd's
        // O_NONBLOCK, which it shares); a full socket already reads as "wake up".
        const char byte = 1;
        (void)::send(s.wake_socket.get(), &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    return (waiting & kWakeFutex) != 0;
}

Result<uint64_t> TopicFanout::publish(uint32_t index, uint64_t size, Deadline deadline) {
    if (index >= options_.sample_count || size > options_.sample_size)
        return fail(Errc::invalid_argument, "publish: sample index or size out of range");
    std::unique_lock lock(mutex_);
    // Room first, in every queue, so that a sample reaches every subscriber or none.
    for (;;) {
        Subscription* full = nullptr;
        for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
            auto next = std::next(it);
            Subscription& s = *it->second;
            if (queue_full(s) && (!reconcile(s) || (!s.block && !make_room(s)))) {
                drop(it, "its head or release ring broke the protocol");
            } else if (s.block && queue_full(s)) {
                full = &s;
            }
            it = next;
        }
        if (!full) break;
        if (deadline.expired())
            return fail(Errc::timed_out, "subscriber pid " + std::to_string(full->peer.pid) +
                                             " kept its queue of " + std::to_string(full->depth) +
                                             " full past the publish deadline; nothing was delivered");
        // Sleep on the subscriber's head until it has taken a quarter of its queue: it wakes us once
        // there, not at every take (a wake per sample made publisher and subscriber take turns). A
        // subscriber that stops short, or lies, costs at most the 10 ms re-check.
        ReaderState* reader = full->reader;
        const uint64_t wake_at = full->tail - full->depth + std::max<uint32_t>(1, full->depth / 4);
        const uint32_t seen = head_futex(reader)->load(std::memory_order_relaxed);
        reader->publisher_waiting.store(std::max<uint32_t>(1, static_cast<uint32_t>(wake_at)), std::memory_order_seq_cst);
        const bool still_full = reader->head.load(std::memory_order_seq_cst) < wake_at;
        const uint64_t id = full->id;
        lock.unlock();
        if (still_full) futex_wait(head_futex(reader), seen, deadline.min(Deadline::after(std::chrono::milliseconds(10))));
        lock.lock();
        // The subscription may have gone meanwhile (its death): `reader` is only used through the map.
        if (auto it = subscriptions_.find(id); it != subscriptions_.end())
            it->second->reader->publisher_waiting.store(0, std::memory_order_relaxed);
    }
    const QueueEntry entry{index, 0, size, ++sequence_, monotonic_ns()};
    for (auto& [id, s] : subscriptions_) deliver(*s, entry);
    if (options_.history > 0) {
        ref(index);
        history_.push_back(entry);
        if (history_.size() > options_.history) {
            unref(history_.front().sample);
            history_.pop_front();
        }
    }
    --loans_;
    unref(index);
    // Dekker with the subscriber: tails are stored, then its waiting bits are read.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    bool sleeper = false;
    for (auto& [id, s] : subscriptions_) sleeper = wake(*s) || sleeper;
    if (sleeper) ring_bell();
    return entry.sequence;
}

FanoutStats TopicFanout::stats() {
    std::lock_guard lock(mutex_);
    reconcile_all();  // count what the subscribers released since the last publish
    FanoutStats stats;
    stats.subscribers = static_cast<uint32_t>(subscriptions_.size());
    stats.samples_in_use = static_cast<uint32_t>(options_.sample_count - free_.size());
    stats.sample_count = options_.sample_count;
    stats.loans = loans_;
    stats.published = sequence_;
    stats.dropped = dropped_;
    stats.dropped_subscribers = dropped_subscribers_;
    stats.bogus_releases = bogus_releases_;
    stats.unstamped = unstamped_;
    stats.hugepages = hugepages_;
    return stats;
}

}  // namespace liteipc::detail
