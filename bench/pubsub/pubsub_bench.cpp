// pubsub_bench: one publisher, 1/4/16 subscriber processes, 64 B and 1 MiB samples: liteipc topics
// against iceoryx's publish/subscribe (RouDi started here) and a shared-memory floor, in one run.
//
// Every publisher writes every payload byte in place and every subscriber reads every byte in place
// (a checksum), so zero-copy is measured as what it saves. Subscribers sleep when idle (futex,
// iceoryx WaitSet, liteipc take): a 2-core host cannot give 16 spinners a core each.
//   latency:    lock-step: the next sample goes once every subscriber has read the last; each
//               subscriber's publish-to-read time (CLOCK_MONOTONIC stamped into the sample).
//   throughput: the publisher publishes as fast as the slowest subscriber lets it (blocking policy)
//               for a fixed time; samples delivered per second, over all subscribers.
// Ratios (liteipc / peer) are printed from the same run.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "pubsub_peers.h"

namespace liteipc::bench {
namespace {

struct Cell {
    double median_us = 0, p99_us = 0, samples_per_s = 0;
    bool ok = false;
};

Cell run_cell(const PubSubPeer& peer, uint32_t subscribers, std::size_t size, const std::string& tag) {
    auto* shared = static_cast<SharedRun*>(::mmap(nullptr, sizeof(SharedRun), PROT_READ | PROT_WRITE,
                                                  MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    if (shared == MAP_FAILED) return {};
    new (shared) SharedRun{};
    shared->subscribers = subscribers;
    shared->size = size;
    shared->latency_samples = size >= (1u << 20) ? 200 : 2000;
    const std::string topic = "bench.pubsub." + tag;
    std::vector<pid_t> children;
    auto spawn = [&](std::function<int()> body) {
        std::fflush(nullptr);
        const pid_t pid = ::fork();
        if (pid == 0) std::exit(body());  // static destructors: iceoryx removes its runtime files in /tmp
        children.push_back(pid);
    };
    spawn([&] { return peer.publish(*shared, topic); });
    for (uint32_t s = 0; s < subscribers; ++s) spawn([&, s] { return peer.subscribe(*shared, topic, s); });
    bool ok = true;
    for (pid_t pid : children) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    Cell cell;
    std::vector<uint64_t> all;
    for (uint32_t s = 0; s < subscribers; ++s)
        all.insert(all.end(), shared->latency_ns[s], shared->latency_ns[s] + shared->latency_samples);
    std::sort(all.begin(), all.end());
    if (ok && !all.empty()) {
        cell.median_us = all[all.size() / 2] / 1000.0;
        cell.p99_us = all[all.size() * 99 / 100] / 1000.0;
        uint64_t delivered = 0;
        for (uint32_t s = 0; s < subscribers; ++s) delivered += shared->received[s].load();
        cell.samples_per_s = delivered / (shared->throughput_ns.load() / 1e9);
        cell.ok = shared->mismatches.load() == 0;
    }
    ::munmap(shared, sizeof(SharedRun));
    return cell;
}

}  // namespace
}  // namespace liteipc::bench

int main() {
    using namespace liteipc::bench;
    auto peers = make_peers();
    std::vector<std::string> names;
    for (auto& p : peers) {
        if (auto why = p->open(); !why.empty()) {
            std::printf("pubsub_bench: %s skipped: %s\n", p->name(), why.c_str());
            p.reset();
        }
    }
    std::printf("%-8s %4s %8s  %10s %10s %12s  %s\n", "peer", "subs", "bytes", "median_us", "p99_us", "samples/s",
                "liteipc ratios (latency median, p99 lower is better; throughput higher is better)");
    for (std::size_t size : {std::size_t{64}, std::size_t{1} << 20}) {
        for (uint32_t subscribers : {1u, 4u, 16u}) {
            Cell liteipc_cell;
            for (auto& p : peers) {
                if (!p) continue;
                const std::string tag = std::string(p->name()) + "-" + std::to_string(subscribers) + "-" + std::to_string(size);
                Cell cell = run_cell(*p, subscribers, size, tag);
                if (std::string(p->name()) == "liteipc") liteipc_cell = cell;
                std::string ratio;
                if (cell.ok && liteipc_cell.ok && std::string(p->name()) != "liteipc") {
                    char text[128];
                    std::snprintf(text, sizeof text, "%.2fx  %.2fx  %.2fx", liteipc_cell.median_us / cell.median_us,
                                  liteipc_cell.p99_us / cell.p99_us, liteipc_cell.samples_per_s / cell.samples_per_s);
                    ratio = text;
                }
                if (!cell.ok) std::printf("%-8s %4u %8zu  failed (see above)\n", p->name(), subscribers, size);
                else
                    std::printf("%-8s %4u %8zu  %10.1f %10.1f %12.0f  %s\n", p->name(), subscribers, size, cell.median_us,
                                cell.p99_us, cell.samples_per_s, ratio.c_str());
                std::fflush(stdout);
            }
        }
    }
    for (auto& p : peers)
        if (p) p->close();
    return 0;
}
