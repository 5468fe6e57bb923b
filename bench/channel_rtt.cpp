// Round trip of a 64-byte call between two processes pinned to different CPUs, against the raw
// mechanisms it is built from, all measured in one run (these VMs drift run to run: compare ratios).
//
//   raw spin      two words in shared memory, each side polls
//   raw futex     the same, each side sleeps on FUTEX_WAIT and is woken by FUTEX_WAKE
//   channel busy  ChannelClient / Dispatcher with long spins (never sleeps)
//   channel block ChannelClient / Dispatcher with no spin (always sleeps)
//
// usage: channel_rtt [round_trips] [busy|blocking]   (default 20000, both)
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "channel.h"
#include "futex.h"

using namespace liteipc::detail;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kBatches = 40;
constexpr std::size_t kPayload = 64;

void pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)), &set);
    sched_setaffinity(0, sizeof set, &set);
}

struct Result {
    double median_us;
    double best_us;
};

// Median and best of per-batch mean round-trip times.
template <typename RoundTrip>
Result measure(int round_trips, RoundTrip&& round_trip) {
    for (int i = 0; i < round_trips / 10; ++i) round_trip();  // warm up
    std::vector<double> batches;
    const int per_batch = std::max(1, round_trips / kBatches);
    for (int b = 0; b < kBatches; ++b) {
        const auto start = Clock::now();
        for (int i = 0; i < per_batch; ++i) round_trip();
        batches.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count() / per_batch);
    }
    std::sort(batches.begin(), batches.end());
    return {batches[batches.size() / 2], batches.front()};
}

void report(const char* name, Result result, double baseline_us = 0) {
    std::printf("%-28s median %8.3f us  best %8.3f us", name, result.median_us, result.best_us);
    if (baseline_us > 0) std::printf("  ratio %.2fx", result.median_us / baseline_us);
    std::printf("\n");
}

// Two 32-bit words in a shared anonymous mapping: ping (parent -> child) and pong.
struct PingPong {
    std::atomic<uint32_t> ping;
    uint8_t pad1[60];
    std::atomic<uint32_t> pong;
    uint8_t pad2[60];
};

Result raw_ping_pong(int round_trips, bool sleep) {
    auto* words = static_cast<PingPong*>(
        mmap(nullptr, sizeof(PingPong), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    new (words) PingPong{};
    const int total = round_trips + round_trips / 10 + (round_trips / kBatches) * kBatches + 1;
    const pid_t child = fork();
    if (child == 0) {
        pin_to_cpu(1);
        for (uint32_t expected = 1; expected <= static_cast<uint32_t>(total); ++expected) {
            while (words->ping.load(std::memory_order_acquire) != expected) {
                if (sleep) futex_wait(&words->ping, expected - 1, Deadline::forever());
                else cpu_relax();
            }
            words->pong.store(expected, std::memory_order_release);
            if (sleep) futex_wake(&words->pong, 1);
        }
        _exit(0);
    }
    pin_to_cpu(0);
    uint32_t sent = 0;
    Result result = measure(round_trips, [&] {
        ++sent;
        words->ping.store(sent, std::memory_order_release);
        if (sleep) futex_wake(&words->ping, 1);
        while (words->pong.load(std::memory_order_acquire) != sent) {
            if (sleep) futex_wait(&words->pong, sent - 1, Deadline::forever());
            else cpu_relax();
        }
    });
    // Let the child run out its remaining expected pings.
    while (sent < static_cast<uint32_t>(total)) {
        ++sent;
        words->ping.store(sent, std::memory_order_release);
        if (sleep) futex_wake(&words->ping, 1);
        while (words->pong.load(std::memory_order_acquire) != sent) {
            if (sleep) futex_wait(&words->pong, sent - 1, Deadline::forever());
            else cpu_relax();
        }
    }
    waitpid(child, nullptr, 0);
    munmap(words, sizeof(PingPong));
    return result;
}

int32_t echo(const Request& request, ReplyWriter& reply) {
    auto space = reply.allocate(request.payload.size());
    if (!space) return -1;
    std::memcpy(space->data(), request.payload.data(), request.payload.size());  // service reads and writes every byte
    return 0;
}

Result channel_round_trip(int round_trips, std::chrono::nanoseconds spin) {
    auto regions = ChannelRegions::create({.slot_count = 8});
    if (!regions) {
        std::fprintf(stderr, "%s\n", regions.error().describe().c_str());
        std::exit(1);
    }
    int stop_pipe[2];
    if (pipe(stop_pipe) != 0) std::exit(1);
    const pid_t child = fork();
    if (child == 0) {
        pin_to_cpu(1);
        close(stop_pipe[1]);
        auto fds = regions->for_service();
        auto server = fds ? ChannelServer::attach(fds->view()) : std::unexpected(fds.error());
        if (!server) _exit(2);
        Dispatcher dispatcher(echo, {.workers = 1, .spin = spin});
        if (!dispatcher.add(*server) || !dispatcher.start()) _exit(3);
        char byte;
        while (read(stop_pipe[0], &byte, 1) < 0) {
        }
        dispatcher.stop();
        _exit(0);
    }
    close(stop_pipe[0]);
    pin_to_cpu(0);
    auto fds = regions->for_client();
    auto client = fds ? ChannelClient::attach(fds->view(), {.spin = spin}) : std::unexpected(fds.error());
    if (!client) {
        std::fprintf(stderr, "%s\n", client.error().describe().c_str());
        std::exit(1);
    }
    std::byte request[kPayload];
    std::memset(request, 0x42, sizeof request);
    uint64_t checksum = 0;
    Result result = measure(round_trips, [&] {
        request[0] = std::byte(checksum);  // the client writes every byte ...
        auto reply = client->call(1, request, {.deadline = Deadline::after(5s)});
        if (!reply || reply->status() != 0) {
            std::fprintf(stderr, "call failed: %s\n", reply ? "status" : reply.error().describe().c_str());
            std::exit(1);
        }
        for (std::byte b : reply->payload()) checksum += static_cast<uint8_t>(b);  // ... and reads every byte back
    });
    close(stop_pipe[1]);
    waitpid(child, nullptr, 0);
    return result;
}

}  // namespace

int main(int argc, char** argv) {
    const int round_trips = argc > 1 ? std::atoi(argv[1]) : 20000;
    const char* only = argc > 2 ? argv[2] : "";
    if (std::strcmp(only, "busy") == 0) {
        report("channel busy poll", channel_round_trip(round_trips, std::chrono::seconds(1)));
        return 0;
    }
    if (std::strcmp(only, "blocking") == 0) {
        report("channel blocking", channel_round_trip(round_trips, std::chrono::nanoseconds(0)));
        return 0;
    }
    std::printf("64-byte round trips, two processes on CPUs 0 and 1, %d round trips per figure\n", round_trips);
    const Result spin = raw_ping_pong(round_trips, false);
    const Result futex = raw_ping_pong(round_trips / 4, true);
    const Result busy = channel_round_trip(round_trips, std::chrono::seconds(1));
    const Result blocking = channel_round_trip(round_trips / 4, std::chrono::nanoseconds(0));
    report("raw spin ping-pong", spin);
    report("channel busy poll", busy, spin.median_us);
    report("raw futex ping-pong", futex);
    report("channel blocking", blocking, futex.median_us);
    return 0;
}
