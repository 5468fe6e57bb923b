// pubsub_bench: one publisher, 1/4/16 subscriber processes, 64 B and 1 MiB samples: liteipc topics
// against iceoryx's publish/subscribe (RouDi started here) and a shared-memory floor, in one run.
//
// Every publisher writes every payload byte in place and every subscriber reads every byte in place
// (a checksum), so zero-copy is measured as what it saves. Two regimes: sleeping subscribers (futex,
// iceoryx WaitSet, liteipc take) and busy ones (the same spin-then-yield loop over each peer's
// non-blocking take; a 2-core host cannot give 16 spinners a core each, so they yield).
//   latency:    lock-step: the next sample goes once every subscriber has read the last; each
//               subscriber's publish-to-read time (CLOCK_MONOTONIC stamped into the sample).
//   publish cost: the publisher's thread CPU time in loan + publish per sample in the lock-step
//               phase (every subscriber waiting), and its ratio at 16 subscribers to 1.
//   throughput: the publisher publishes as fast as the slowest subscriber lets it (blocking policy)
//               for a fixed time; samples delivered per second, over all subscribers.
// Ratios (liteipc / peer) are printed from the same run. liteipc-med is liteipc with mediated topics
// (the kernel stamps each publish for each subscriber): its pub_cpu_ns against liteipc's is the
// stamp's cost per publish, printed after each size.
#include <signal.h>
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
    double median_us = 0, p99_us = 0, samples_per_s = 0, publish_cpu_ns = 0;
    bool ok = false;
};

Cell run_cell(const PubSubPeer& peer, Regime regime, uint32_t subscribers, std::size_t size, const std::string& tag) {
    auto* shared = static_cast<SharedRun*>(::mmap(nullptr, sizeof(SharedRun), PROT_READ | PROT_WRITE,
                                                  MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    if (shared == MAP_FAILED) return {};
    new (shared) SharedRun{};
    shared->subscribers = subscribers;
    shared->regime = regime;
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
    // A process that fails leaves the others waiting for it: they are killed, the cell fails. (Polled:
    // the loader and RouDi are this process's children too, so no waitpid(-1).)
    bool ok = true;
    std::vector<bool> done(children.size(), false);
    for (std::size_t left = children.size(); left > 0;) {
        for (std::size_t i = 0; i < children.size(); ++i) {
            int status = 0;
            if (done[i] || ::waitpid(children[i], &status, WNOHANG) != children[i]) continue;
            done[i] = true;
            --left;
            if (!ok || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) continue;
            ok = false;
            std::fprintf(stderr, "pubsub_bench: %s %s %zu %s %d\n", peer.name(), i == 0 ? "publisher" : "subscriber",
                         i - 1, WIFEXITED(status) ? "exited with" : "killed by signal",
                         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            for (std::size_t j = 0; j < children.size(); ++j)
                if (!done[j]) ::kill(children[j], SIGKILL);
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
        cell.ok = shared->mismatches.load() == 0;
    }
    ::munmap(shared, sizeof(SharedRun));
    return cell;
}

}  // namespace
}  // namespace liteipc::bench

// Usage: pubsub_bench [--peer NAME] [--subs N] [--bytes N] [--regime sleeping|busy]: only those cells
// (for profiling one); no arguments: the whole table.
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
    std::printf("%-11s %-8s %4s %8s  %10s %10s %12s %10s  %s\n", "peer", "regime", "subs", "bytes", "median_us", "p99_us",
                "samples/s", "pub_cpu_ns", "liteipc ratios (latency median, p99 lower is better; throughput higher is better)");
    for (Regime regime : {Regime::sleeping, Regime::busy}) {
        const char* regime_name = regime == Regime::sleeping ? "sleeping" : "busy";
        if (!only_regime.empty() && only_regime != regime_name) continue;
        for (std::size_t size : {std::size_t{64}, std::size_t{1} << 20}) {
            if (only_bytes && only_bytes != size) continue;
            std::vector<std::pair<std::string, Cell>> one, sixteen;  // per peer, for the publish-cost ratio
            for (uint32_t subscribers : {1u, 4u, 16u}) {
                if (only_subs && only_subs != subscribers) continue;
                Cell liteipc_cell;
                for (auto& p : peers) {
                    if (!p) continue;
                    const std::string name = p->name();
                    if (!only_peer.empty() && name == "liteipc" && only_peer != name) continue;
                    const std::string tag = name + "-" + regime_name + "-" + std::to_string(subscribers) + "-" + std::to_string(size);
                    Cell cell = run_cell(*p, regime, subscribers, size, tag);
                    if (name == "liteipc") liteipc_cell = cell;
                    if (subscribers == 1) one.emplace_back(name, cell);
                    if (subscribers == 16) sixteen.emplace_back(name, cell);
                    std::string ratio;
                    if (cell.ok && liteipc_cell.ok && name != "liteipc") {
                        char text[128];
                        std::snprintf(text, sizeof text, "%.2fx  %.2fx  %.2fx", liteipc_cell.median_us / cell.median_us,
                                      liteipc_cell.p99_us / cell.p99_us, liteipc_cell.samples_per_s / cell.samples_per_s);
                        ratio = text;
                    }
                    if (!cell.ok) std::printf("%-11s %-8s %4u %8zu  failed (see above)\n", name.c_str(), regime_name, subscribers, size);
                    else
                        std::printf("%-11s %-8s %4u %8zu  %10.1f %10.1f %12.0f %10.0f  %s\n", name.c_str(), regime_name,
                                    subscribers, size, cell.median_us, cell.p99_us, cell.samples_per_s, cell.publish_cpu_ns,
                                    ratio.c_str());
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
