// pubsub_bench: one publisher, 1/4/16 subscriber processes, 64 B and 1 MiB samples: liteipc topics
// against iceoryx's publish/subscribe (RouDi started here) and a shared-memory floor, in one run.
//
// Every publisher writes every payload byte in place and every subscriber reads every byte in place
// (a checksum), so zero-copy is measured as what it saves. Two regimes: sleeping subscribers (futex,
// iceoryx WaitSet, liteipc take) and busy ones (the same spin-then-yield loop over each peer's
// non-blocking take; a 2-core host cannot give 16 spinners a core each, so they yield).
//   latency:    lock-step: the next sample goes once every subscriber has read the last; each
//               subscriber's publish-to-read time (CLOCK_MONOTONIC stamped into the sample), after
//               a tenth as many warm-up samples; the publisher waits for the reads the way the
//               subscribers wait for samples (asleep or spinning). same_cpu: the share of reads on
//               the CPU the sample was published from (those two processes took turns).
//   publish cost: the publisher's thread CPU time in loan + publish per sample in the lock-step
//               phase (every subscriber waiting), less the clock reads' own cost, and its ratio at
//               16 subscribers to 1.
//   throughput: the publisher publishes as fast as the slowest subscriber lets it (blocking policy)
//               for a fixed time; samples delivered per second, over all subscribers.
// Each cell runs in rounds, the peers by turns; a figure is the median of its rounds. Ratios
// (liteipc / peer) are printed from the same run. liteipc-med is liteipc with mediated topics
// (the kernel stamps each publish for each subscriber): its pub_cpu_ns against liteipc's is the
// stamp's cost per publish, printed after each size.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../../tests/support/owned_pid.h"
#include "pubsub_peers.h"

namespace liteipc::bench {
namespace {

struct Cell {
    double median_us = 0, p99_us = 0, samples_per_s = 0, publish_cpu_ns = 0;
    double same_cpu_percent = 0;  // latency reads on the CPU the sample was published from
    bool ok = false;
};

bool floor_wake_chain = false;  // --floor-wake chain
uint32_t round_count = 3;        // --rounds N

Cell run_cell(const PubSubPeer& peer, Regime regime, uint32_t subscribers, std::size_t size, const std::string& tag) {
    auto* shared = static_cast<SharedRun*>(::mmap(nullptr, sizeof(SharedRun), PROT_READ | PROT_WRITE,
                                                  MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    if (shared == MAP_FAILED) return {};
    new (shared) SharedRun{};
    shared->subscribers = subscribers;
    shared->regime = regime;
    shared->size = size;
    shared->latency_samples = size >= (1u << 20) ? 200 : 2000;
    shared->warmup_samples = shared->latency_samples / 10;
    shared->floor_wake_chain = floor_wake_chain;
    const std::string topic = "bench.pubsub." + tag;
    // Children are owned: one left running when this returns (a failed cell, an early return) is
    // killed and reaped, and each is killed should the bench itself die.
    std::vector<testing::OwnedPid> children;
    auto spawn = [&](auto body) {
        // std::exit, not _exit: static destructors run (iceoryx removes its runtime files in /tmp).
        children.push_back(testing::fork_child([&]() -> int { std::exit(body()); }));
    };
    spawn([&] { return peer.publish(*shared, topic); });
    for (uint32_t s = 0; s < subscribers; ++s) spawn([&] { return peer.subscribe(*shared, topic, s); });
    // A process that fails leaves the others waiting for it: they are killed, the cell fails. (Polled:
    // the loader and RouDi are this process's children too, so no waitpid(-1).)
    bool ok = true;
    for (std::size_t left = children.size(); left > 0;) {
        for (std::size_t i = 0; i < children.size(); ++i) {
            if (!children[i]) continue;
            const auto status = children[i].wait_for(std::chrono::milliseconds(0));
            if (!status) continue;
            --left;
            if (!ok || testing::exit_code(*status) == 0) continue;
            ok = false;
            std::fprintf(stderr, "pubsub_bench: %s %s %zu %s %d\n", peer.name(), i == 0 ? "publisher" : "subscriber",
                         i - 1, WIFEXITED(*status) ? "exited with" : "killed by signal",
                         WIFEXITED(*status) ? WEXITSTATUS(*status) : WTERMSIG(*status));
            for (auto& child : children)
                if (child) {
                    child.kill_and_wait();
                    --left;
                }
        }
        if (left > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
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
        cell.publish_cpu_ns = double(shared->publish_cpu_ns.load()) / shared->latency_samples;
        cell.same_cpu_percent = 100.0 * double(shared->same_cpu_reads.load()) / double(all.size());
        cell.ok = shared->mismatches.load() == 0;
    }
    ::munmap(shared, sizeof(SharedRun));
    return cell;
}

// A cell's figures over its rounds: each the median of the rounds' (a failed round fails the cell).
Cell median_of(std::vector<Cell> rounds) {
    Cell cell;
    cell.ok = !rounds.empty() && std::all_of(rounds.begin(), rounds.end(), [](const Cell& c) { return c.ok; });
    if (!cell.ok) return cell;
    auto median = [&](double Cell::*field) {
        std::vector<double> values;
        for (const Cell& c : rounds) values.push_back(c.*field);
        std::sort(values.begin(), values.end());
        return values[values.size() / 2];
    };
    cell.median_us = median(&Cell::median_us);
    cell.p99_us = median(&Cell::p99_us);
    cell.samples_per_s = median(&Cell::samples_per_s);
    cell.publish_cpu_ns = median(&Cell::publish_cpu_ns);
    cell.same_cpu_percent = median(&Cell::same_cpu_percent);
    return cell;
}

}  // namespace
}  // namespace liteipc::bench

// Usage: pubsub_bench [--peer NAME] [--subs N] [--bytes N] [--regime sleeping|busy]: only those cells
// (for profiling one); no arguments: the whole table. --rounds N (default 3): each cell N times, the
// peers by turns, each figure the median of the rounds. --floor-wake chain: the floor wakes its
// sleepers through each other (default all: one wake of every sleeper by the publisher).
int main(int argc, char** argv) {
    using namespace liteipc::bench;
    std::string only_peer, only_regime;
    uint32_t only_subs = 0;
    std::size_t only_bytes = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--peer") only_peer = value;
        else if (flag == "--subs") only_subs = uint32_t(std::stoul(value));
        else if (flag == "--bytes") only_bytes = std::stoul(value);
        else if (flag == "--regime") only_regime = value;
        else if (flag == "--floor-wake" && (value == "chain" || value == "all")) floor_wake_chain = value == "chain";
        else if (flag == "--rounds" && std::stoul(value) > 0) round_count = uint32_t(std::stoul(value));
        else {
            std::fprintf(stderr, "pubsub_bench: unknown flag %s\n", flag.c_str());
            return 2;
        }
    }
    auto peers = make_peers();
    for (auto& p : peers) {
        if (!only_peer.empty() && only_peer != p->name() && std::string(p->name()) != "liteipc") {
            p.reset();
            continue;
        }
        if (auto why = p->open(); !why.empty()) {
            std::printf("pubsub_bench: %s skipped: %s\n", p->name(), why.c_str());
            p.reset();
        }
    }
    std::printf("%-11s %-8s %4s %8s  %10s %10s %12s %10s %8s  %s\n", "peer", "regime", "subs", "bytes", "median_us", "p99_us",
                "samples/s", "pub_cpu_ns", "same_cpu", "liteipc ratios (latency median, p99 lower is better; throughput higher is better)");
    for (Regime regime : {Regime::sleeping, Regime::busy}) {
        const char* regime_name = regime == Regime::sleeping ? "sleeping" : "busy";
        if (!only_regime.empty() && only_regime != regime_name) continue;
        for (std::size_t size : {std::size_t{64}, std::size_t{1} << 20}) {
            if (only_bytes && only_bytes != size) continue;
            std::vector<std::pair<std::string, Cell>> one, sixteen;  // per peer, for the publish-cost ratio
            for (uint32_t subscribers : {1u, 4u, 16u}) {
                if (only_subs && only_subs != subscribers) continue;
                // By turns: every peer's round r runs before any peer's round r + 1, so that a
                // change of the host's load reaches every peer alike.
                std::vector<std::vector<Cell>> rounds(peers.size());
                for (uint32_t round = 0; round < round_count; ++round)
                    for (std::size_t i = 0; i < peers.size(); ++i) {
                        if (!peers[i]) continue;
                        const std::string name = peers[i]->name();
                        if (!only_peer.empty() && name == "liteipc" && only_peer != name) continue;
                        const std::string tag = name + "-" + regime_name + "-" + std::to_string(subscribers) + "-" +
                                                std::to_string(size) + "-" + std::to_string(round);
                        rounds[i].push_back(run_cell(*peers[i], regime, subscribers, size, tag));
                    }
                Cell liteipc_cell;
                for (std::size_t i = 0; i < peers.size(); ++i) {
                    if (rounds[i].empty()) continue;
                    const std::string name = peers[i]->name();
                    const Cell cell = median_of(rounds[i]);
                    if (name == "liteipc") liteipc_cell = cell;
                    if (subscribers == 1) one.emplace_back(name, cell);
                    if (subscribers == 16) sixteen.emplace_back(name, cell);
                    std::string ratio;
                    if (cell.ok && liteipc_cell.ok && name != "liteipc") {
                        char text[160];
                        // Latency from two processes that shared a CPU against two that did not is
                        // the scheduler's placement, not the transport: say so beside the ratio.
                        const bool placement_differs = std::abs(liteipc_cell.same_cpu_percent - cell.same_cpu_percent) > 50;
                        std::snprintf(text, sizeof text, "%.2fx  %.2fx  %.2fx%s", liteipc_cell.median_us / cell.median_us,
                                      liteipc_cell.p99_us / cell.p99_us, liteipc_cell.samples_per_s / cell.samples_per_s,
                                      placement_differs ? "  (placement differs)" : "");
                        ratio = text;
                    }
                    if (!cell.ok) std::printf("%-11s %-8s %4u %8zu  failed (see above)\n", name.c_str(), regime_name, subscribers, size);
                    else
                        std::printf("%-11s %-8s %4u %8zu  %10.1f %10.1f %12.0f %10.0f %7.0f%%  %s\n", name.c_str(), regime_name,
                                    subscribers, size, cell.median_us, cell.p99_us, cell.samples_per_s, cell.publish_cpu_ns,
                                    cell.same_cpu_percent, ratio.c_str());
                    std::fflush(stdout);
                }
            }
            // The stamp's cost: mediated against plain liteipc, at 1 and at 16 subscribers.
            auto stamp_cost = [&](const std::vector<std::pair<std::string, Cell>>& cells, uint32_t subscribers) {
                const Cell* plain = nullptr;
                const Cell* mediated = nullptr;
                for (const auto& [name, cell] : cells) {
                    if (name == "liteipc" && cell.ok) plain = &cell;
                    if (name == "liteipc-med" && cell.ok) mediated = &cell;
                }
                if (plain && mediated)
                    std::printf("stamp cost %-8s %8zu B %2u subs: mediated / plain publish cpu = %.2fx (+%.0f ns per publish)\n",
                                regime_name, size, subscribers, mediated->publish_cpu_ns / plain->publish_cpu_ns,
                                mediated->publish_cpu_ns - plain->publish_cpu_ns);
            };
            stamp_cost(one, 1);
            stamp_cost(sixteen, 16);
            for (const auto& [name, at16] : sixteen)
                for (const auto& [name1, at1] : one)
                    if (name == name1 && at1.ok && at16.ok)
                        std::printf("publish cost %-11s %-8s %8zu B: 16 subs / 1 sub = %.2fx (target <= 2x)\n", name.c_str(),
                                    regime_name, size, at16.publish_cpu_ns / at1.publish_cpu_ns);
        }
    }
    for (auto& p : peers)
        if (p) p->close();
    return 0;
}
