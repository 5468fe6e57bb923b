// What pubsub_bench's processes share, and the peers it compares: each peer gives a publisher and a
// subscriber endpoint; the loops that drive them (lock-step latency, then throughput) are shared.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace liteipc::bench {

inline constexpr uint32_t kMaxSubscribers = 16;
inline constexpr uint32_t kMaxLatencySamples = 2000;
inline constexpr uint32_t kFloorSlots = 4;
inline constexpr std::size_t kMaxSample = std::size_t{1} << 20;

// One cell's shared memory (MAP_SHARED | MAP_ANONYMOUS, made before the fork).
// How subscribers wait for the next sample: asleep in the peer's blocking take, or spinning on its
// non-blocking take (the same spin loop for every peer: pause, then yield the CPU).
enum class Regime : uint32_t { sleeping, busy };

struct SharedRun {
    uint32_t subscribers = 0;
    Regime regime = Regime::sleeping;
    uint32_t latency_samples = 0;  // counted, after warmup_samples that are not
    uint32_t warmup_samples = 0;
    std::size_t size = 0;
    std::atomic<uint32_t> topic_up{0};  // the publisher's topic exists
    std::atomic<uint32_t> ready{0};     // subscribers subscribed
    std::atomic<uint32_t> acks{0};      // latency phase: reads done (futex word of the publisher)
    std::atomic<uint32_t> stop{0};      // throughput phase over: published_total is final
    std::atomic<uint64_t> published_total{0};
    std::atomic<uint64_t> throughput_ns{1};
    std::atomic<uint64_t> mismatches{0};
    std::atomic<uint64_t> publish_cpu_ns{0};  // the publisher's thread CPU in loan + publish, latency phase
    std::atomic<uint64_t> received[kMaxSubscribers]{};
    uint64_t latency_ns[kMaxSubscribers][kMaxLatencySamples]{};
    // Where each counted latency sample was published, and how many reads were on that same CPU:
    // two processes that share a CPU take turns, which no transport can make faster.
    uint32_t publisher_cpu[kMaxLatencySamples]{};
    std::atomic<uint64_t> same_cpu_reads{0};
    // The floor's ring: per slot the readers still reading it, and the published count (futex).
    std::atomic<uint32_t> floor_published{0};
    std::atomic<uint32_t> floor_sleepers{0};  // subscribers in futex_wait: the publisher wakes only then
    // The floor's publisher wakes one sleeper, each woken one the next (--floor-wake chain), instead
    // of all of them in one call: what a wake chain would cost and save, measured.
    bool floor_wake_chain = false;
    std::atomic<uint32_t> floor_loaner_waiting{0};  // the publisher waits for a slot's last reader
    std::atomic<uint32_t> floor_pending[kFloorSlots]{};
    alignas(4096) std::byte floor_slots[kFloorSlots][kMaxSample];
};

class Publishing {
public:
    virtual ~Publishing() = default;
    virtual std::byte* loan(std::size_t size) = 0;  // nullptr: failed
    virtual bool publish(std::byte* sample, std::size_t size) = 0;
};

class Receiving {
public:
    virtual ~Receiving() = default;
    // A sample, or nullptr when none came within `timeout` (sleeping between samples).
    virtual const std::byte* take(std::size_t& size, std::chrono::milliseconds timeout) = 0;
    // A sample if one is queued, else nullptr at once.
    virtual const std::byte* try_take(std::size_t& size) = 0;
    virtual void release(const std::byte* sample) = 0;
};

// The publisher's and a subscriber's side of one cell, driven by the shared loops.
int run_publisher(SharedRun& run, Publishing& out);
int run_subscriber(SharedRun& run, Receiving& in, uint32_t index);

class PubSubPeer {
public:
    virtual ~PubSubPeer() = default;
    virtual const char* name() const = 0;
    virtual std::string open() { return {}; }  // empty, or why the peer cannot run here
    virtual void close() {}
    // In the forked publisher and subscriber processes; exit statuses.
    virtual int publish(SharedRun& run, const std::string& topic) const = 0;
    virtual int subscribe(SharedRun& run, const std::string& topic, uint32_t index) const = 0;
};

// liteipc first: the ratios of the peers after it are against it.
std::vector<std::unique_ptr<PubSubPeer>> make_peers();
std::unique_ptr<PubSubPeer> make_iceoryx_peer();  // nullptr when built without iceoryx

}  // namespace liteipc::bench
