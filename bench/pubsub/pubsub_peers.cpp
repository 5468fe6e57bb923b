// The shared loops, the shared-memory floor and liteipc's topics (iceoryx: pubsub_iceoryx.cpp).
#include "pubsub_peers.h"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <thread>

#include "liteipc/topic.h"
#include "private_loader.h"

namespace liteipc::bench {
namespace {

using namespace std::chrono_literals;

uint64_t now_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return uint64_t(t.tv_sec) * 1'000'000'000u + uint64_t(t.tv_nsec);
}

uint64_t thread_cpu_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return uint64_t(t.tv_sec) * 1'000'000'000u + uint64_t(t.tv_nsec);
}

void futex_wait(std::atomic<uint32_t>* word, uint32_t expected) {
    timespec limit{0, 50'000'000};
    ::syscall(SYS_futex, word, FUTEX_WAIT, expected, &limit, nullptr, 0);
}
void futex_wake(std::atomic<uint32_t>* word) { ::syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0); }

// Sample layout: publish time, sequence, then bytes that follow from the sequence.
void fill(std::byte* sample, std::size_t size, uint64_t sequence) {
    std::memcpy(sample + 8, &sequence, 8);
    for (std::size_t i = 16; i < size; ++i) sample[i] = std::byte(uint8_t(sequence * 7 + i));
    const uint64_t stamp = now_ns();
    std::memcpy(sample, &stamp, 8);
}

// Reads every byte; returns the publish time, or 0 when a byte is wrong.
uint64_t check(const std::byte* sample, std::size_t size) {
    uint64_t stamp = 0, sequence = 0;
    std::memcpy(&stamp, sample, 8);
    std::memcpy(&sequence, sample + 8, 8);
    uint8_t wrong = 0;
    for (std::size_t i = 16; i < size; ++i) wrong |= uint8_t(sample[i]) ^ uint8_t(sequence * 7 + i);
    return wrong ? 0 : stamp;
}

void wait_for(const std::atomic<uint32_t>& word, uint32_t value) {
    while (word.load() < value) std::this_thread::sleep_for(1ms);
}

// ---- the floor: a ring of slots in the shared run; a futex broadcast per publish ----

class FloorPublishing final : public Publishing {
public:
    explicit FloorPublishing(SharedRun& run) : run_(run) {}
    std::byte* loan(std::size_t) override {
        const uint32_t slot = next_ % kFloorSlots;
        for (uint32_t pending; (pending = run_.floor_pending[slot].load()) != 0;) {
            run_.floor_loaner_waiting.store(1);
            if (run_.floor_pending[slot].load() == pending) futex_wait(&run_.floor_pending[slot], pending);
            run_.floor_loaner_waiting.store(0);
        }
        run_.floor_pending[slot].store(run_.subscribers);
        return run_.floor_slots[slot];
    }
    bool publish(std::byte*, std::size_t) override {
        run_.floor_published.store(++next_);
        if (run_.floor_sleepers.load() != 0) futex_wake(&run_.floor_published);  // Dekker: seq_cst both sides
        return true;
    }

private:
    SharedRun& run_;
    uint32_t next_ = 0;
};

class FloorReceiving final : public Receiving {
public:
    explicit FloorReceiving(SharedRun& run) : run_(run) {}
    const std::byte* take(std::size_t& size, std::chrono::milliseconds timeout) override {
        const uint64_t deadline = now_ns() + uint64_t(timeout.count()) * 1'000'000;
        for (uint32_t published; (published = run_.floor_published.load()) == cursor_;) {
            if (now_ns() > deadline) return nullptr;
            run_.floor_sleepers.fetch_add(1);
            if (run_.floor_published.load() == published) futex_wait(&run_.floor_published, published);
            run_.floor_sleepers.fetch_sub(1);
        }
        size = run_.size;
        return run_.floor_slots[cursor_++ % kFloorSlots];
    }
    const std::byte* try_take(std::size_t& size) override {
        if (run_.floor_published.load() == cursor_) return nullptr;
        size = run_.size;
        return run_.floor_slots[cursor_++ % kFloorSlots];
    }
    void release(const std::byte* sample) override {
        const uint32_t slot = uint32_t((sample - run_.floor_slots[0]) / kMaxSample);
        if (run_.floor_pending[slot].fetch_sub(1) == 1 && run_.floor_loaner_waiting.load() != 0)
            futex_wake(&run_.floor_pending[slot]);
    }

private:
    SharedRun& run_;
    uint32_t cursor_ = 0;
};

class FloorPeer final : public PubSubPeer {
public:
    const char* name() const override { return "shm-floor"; }
    int publish(SharedRun& run, const std::string&) const override {
        run.topic_up.store(1);
        wait_for(run.ready, run.subscribers);
        FloorPublishing out(run);
        return run_publisher(run, out);
    }
    int subscribe(SharedRun& run, const std::string&, uint32_t index) const override {
        wait_for(run.topic_up, 1);
        FloorReceiving in(run);
        run.ready.fetch_add(1);
        return run_subscriber(run, in, index);
    }
};

// ---- liteipc topics ----

uint32_t depth_for(std::size_t size) { return size >= (1u << 20) ? 4 : 16; }

class LiteipcPublishing final : public Publishing {
public:
    explicit LiteipcPublishing(Publisher& publisher) : publisher_(publisher) {}
    std::byte* loan(std::size_t) override {
        auto sample = publisher_.loan(std::chrono::seconds(30));
        if (!sample) return nullptr;
        loaned_ = std::move(*sample);
        return loaned_.data().data();
    }
    bool publish(std::byte*, std::size_t size) override {
        auto sent = publisher_.publish(loaned_, size, std::chrono::seconds(30));
        if (!sent) std::fprintf(stderr, "liteipc publish: %s\n", sent.error().describe().c_str());
        return sent.has_value();
    }

private:
    Publisher& publisher_;
    Sample loaned_;
};

class LiteipcReceiving final : public Receiving {
public:
    explicit LiteipcReceiving(Subscriber& subscriber) : subscriber_(subscriber) {}
    const std::byte* take(std::size_t& size, std::chrono::milliseconds timeout) override {
        return hold(subscriber_.take(timeout), size);
    }
    const std::byte* try_take(std::size_t& size) override { return hold(subscriber_.try_take(), size); }
    void release(const std::byte*) override { held_ = ReceivedSample(); }

private:
    const std::byte* hold(Result<ReceivedSample> sample, std::size_t& size) {
        if (!sample || !*sample) return nullptr;
        held_ = std::move(*sample);
        size = held_.data().size();
        return held_.data().data();
    }
    Subscriber& subscriber_;
    ReceivedSample held_;
};

// Plain topics, or mediated ones (every publish stamped by the kernel for each subscriber): the same
// code on its own loader, so that the stamp's cost shows beside the plain row of the same run.
class LiteipcPeer final : public PubSubPeer {
public:
    explicit LiteipcPeer(bool mediated) : mediated_(mediated) {}
    const char* name() const override { return mediated_ ? "liteipc-med" : "liteipc"; }
    std::string open() override {
        auto started = loader_.start(mediated_ ? "pubsub-med" : "pubsub");
        return started ? std::string() : started.error().describe();
    }
    void close() override { loader_.stop(); }

    int publish(SharedRun& run, const std::string& topic) const override {
        auto context = Context::open(options());
        if (!context) return fail(context.error());
        const uint32_t per_subscriber = depth_for(run.size) + 1;
        auto publisher = Publisher::create(*context, {.name = topic, .subscriber_policy = Policy::anyone,
                                                      .sample_size = run.size,
                                                      .sample_count = run.subscribers * per_subscriber + 2,
                                                      .mediated = mediated_});
        if (!publisher) return fail(publisher.error());
        if (publisher->stats().hugepages == false && run.size >= (1u << 20))
            std::fprintf(stderr, "liteipc: the 1 MiB pool is on 4 KiB pages (no free hugepages)\n");
        run.topic_up.store(1);
        wait_for(run.ready, run.subscribers);
        LiteipcPublishing out(*publisher);
        return run_publisher(run, out);
    }
    int subscribe(SharedRun& run, const std::string& topic, uint32_t index) const override {
        wait_for(run.topic_up, 1);
        auto context = Context::open(options());
        if (!context) return fail(context.error());
        auto subscriber = Subscriber::open(*context, topic, {.depth = depth_for(run.size), .max_held = 1,
                                                             .overflow = Overflow::block_publisher,
                                                             .spin = std::chrono::nanoseconds(0)});  // the bench spins
        if (!subscriber) return fail(subscriber.error());
        run.ready.fetch_add(1);
        LiteipcReceiving in(*subscriber);
        return run_subscriber(run, in, index);
    }

private:
    ContextOptions options() const {
        ContextOptions o;
        o.socket_path = loader_.socket();
        o.pin_root = loader_.pin_root();
        o.default_timeout = std::chrono::seconds(30);
        return o;
    }
    static int fail(const Error& error) {
        std::fprintf(stderr, "liteipc: %s\n", error.describe().c_str());
        return 1;
    }
    bool mediated_;
    BenchLoader loader_;
};

}  // namespace

int run_publisher(SharedRun& run, Publishing& out) {
    // Latency: one sample at a time, the next once every subscriber read the last. The publisher's
    // thread CPU in loan and publish (not in writing the bytes) is its cost per publish.
    uint64_t cpu_ns = 0;
    for (uint32_t i = 0; i < run.latency_samples; ++i) {
        for (uint32_t acks; (acks = run.acks.load()) < i * run.subscribers;) futex_wait(&run.acks, acks);
        uint64_t cpu = thread_cpu_ns();
        std::byte* sample = out.loan(run.size);
        cpu_ns += thread_cpu_ns() - cpu;
        if (!sample) return 2;
        fill(sample, run.size, i);
        cpu = thread_cpu_ns();
        if (!out.publish(sample, run.size)) return 3;
        cpu_ns += thread_cpu_ns() - cpu;
    }
    run.publish_cpu_ns.store(cpu_ns);
    for (uint32_t acks; (acks = run.acks.load()) < run.latency_samples * run.subscribers;) futex_wait(&run.acks, acks);
    // Throughput: as fast as the slowest subscriber allows, for a second.
    const uint64_t start = now_ns();
    uint64_t sequence = run.latency_samples;
    while (now_ns() - start < 1'000'000'000) {
        std::byte* sample = out.loan(run.size);
        if (!sample) return 4;
        fill(sample, run.size, sequence++);
        if (!out.publish(sample, run.size)) return 5;
    }
    run.published_total.store(sequence - run.latency_samples);
    run.stop.store(1);
    for (uint32_t s = 0; s < run.subscribers; ++s)
        while (run.received[s].load() < sequence - run.latency_samples) std::this_thread::sleep_for(100us);
    run.throughput_ns.store(now_ns() - start);
    return 0;
}

// The next sample in the run's regime: the peer's sleeping take, or one spin loop for every peer.
const std::byte* next_sample(const SharedRun& run, Receiving& in, std::size_t& size, std::chrono::milliseconds timeout) {
    if (run.regime == Regime::sleeping) return in.take(size, timeout);
    const uint64_t deadline = now_ns() + uint64_t(timeout.count()) * 1'000'000;
    for (uint32_t spins = 1;; ++spins) {
        if (const std::byte* sample = in.try_take(size)) return sample;
        if (spins % 64 == 0) {
            if (now_ns() > deadline) return nullptr;
            ::sched_yield();  // 2 CPUs, up to 17 processes: let the publisher run
        } else {
            __builtin_ia32_pause();
        }
    }
}

int run_subscriber(SharedRun& run, Receiving& in, uint32_t index) {
    for (uint32_t i = 0; i < run.latency_samples; ++i) {
        std::size_t size = 0;
        const std::byte* sample = next_sample(run, in, size, std::chrono::seconds(30));
        if (!sample) return 6;
        const uint64_t stamp = check(sample, size);
        const uint64_t now = now_ns();
        in.release(sample);
        if (stamp == 0) run.mismatches.fetch_add(1);
        run.latency_ns[index][i] = now - stamp;
        if ((run.acks.fetch_add(1) + 1) % run.subscribers == 0) futex_wake(&run.acks);
    }
    for (;;) {
        if (run.stop.load() && run.received[index].load() >= run.published_total.load()) return 0;
        std::size_t size = 0;
        const std::byte* sample = next_sample(run, in, size, std::chrono::milliseconds(20));
        if (!sample) continue;
        if (check(sample, size) == 0) run.mismatches.fetch_add(1);
        in.release(sample);
        run.received[index].fetch_add(1);
    }
}

std::vector<std::unique_ptr<PubSubPeer>> make_peers() {
    std::vector<std::unique_ptr<PubSubPeer>> peers;
    peers.push_back(std::make_unique<LiteipcPeer>(false));
    peers.push_back(std::make_unique<LiteipcPeer>(true));
    if (auto iceoryx = make_iceoryx_peer()) peers.push_back(std::move(iceoryx));
    peers.push_back(std::make_unique<FloorPeer>());
    return peers;
}

}  // namespace liteipc::bench
