// pass_bench: where a large in-place round trip's time goes, pass by pass.
//
// Two threads pinned to CPUs 0 and 1 play the shm-spin floor's round trip on one shared mapping
// (2 MiB pages when reserved): the client fills the request in place, the service checks it there
// and fills the reply in place, the client checks the reply. Every pass is timed on its own. The
// same round trip is then run with the fills written by streaming (non-temporal) stores, and once
// with a copy in and a copy out each way (the copying floor, what a socket does without the
// kernel). The fill and check are ipc_bench's (payload.h), compiled as ipc_bench compiles them.
//
//   pass_bench [--size BYTES] [--rounds N] [--request-buffers K]   (defaults: 1 MiB, 400, 1)
//
// --request-buffers 2 rotates the requests through two buffers, as shm-spin does at 1 MiB (its
// request ring holds 2 MiB of slots); liteipc reuses one request block per slot.
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "payload.h"

namespace liteipc::bench {
namespace {

using Clock = std::chrono::steady_clock;

enum class Fill { cached, streaming, copied };

struct Passes {
    std::vector<double> round_trip, client_fill, service_check, service_fill, client_check;
};

void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

double micros(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double, std::micro>(to - from).count();
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[values.size() / 2];
}

// payload.h's bytes, the words after the tag written around the cache: a store to a line the
// peer holds then waits for no ownership transfer.
void fill_streaming(void* buf, std::size_t n, Op op, std::uint64_t seq) noexcept {
    fill_payload(buf, std::min<std::size_t>(n, 64), op, seq);
    auto* words = static_cast<long long*>(buf);
    const std::uint64_t base = seq * 0x9E3779B97F4A7C15ull;  // payload.h's base(seq)
    for (std::size_t i = 8; i < n / 8; ++i) _mm_stream_si64(words + i, static_cast<long long>(base + i));
    for (std::size_t j = n / 8 * 8; j < n; ++j) static_cast<unsigned char*>(buf)[j] = static_cast<unsigned char>(seq + j - n / 8 * 8);
    _mm_sfence();
}

// One side's fill of a message into `shared` (through `scratch` when copying).
void send(Fill fill, unsigned char* shared, unsigned char* scratch, std::size_t n, Op op, std::uint64_t seq) {
    switch (fill) {
        case Fill::cached: fill_payload(shared, n, op, seq); break;
        case Fill::streaming: fill_streaming(shared, n, op, seq); break;
        case Fill::copied:
            fill_payload(scratch, n, op, seq);
            std::memcpy(shared, scratch, n);
            break;
    }
}

bool receive(Fill fill, const unsigned char* shared, unsigned char* scratch, std::size_t n, Op op, std::uint64_t seq) {
    if (fill != Fill::copied) return payload_is(check_payload(shared, n), op, seq);
    std::memcpy(scratch, shared, n);
    return payload_is(check_payload(scratch, n), op, seq);
}

// One 8-byte word each way between the two CPUs (atomic8's round trip), median of many: how far
// apart the two vCPUs sit right now. On this kind of VM it moves between ~0.1 us and ~0.5 us.
double word_round_trip_us() {
    alignas(64) std::atomic<std::uint64_t> ping{0};
    alignas(64) std::atomic<std::uint64_t> pong{0};
    constexpr std::uint64_t kTrips = 20000;
    std::thread peer([&] {
        pin(1);
        for (std::uint64_t i = 1; i <= kTrips; ++i) {
            while (ping.load(std::memory_order_acquire) != i) {}
            pong.store(i, std::memory_order_release);
        }
    });
    pin(0);
    std::vector<double> trips;
    trips.reserve(kTrips);
    for (std::uint64_t i = 1; i <= kTrips; ++i) {
        const auto start = Clock::now();
        ping.store(i, std::memory_order_release);
        while (pong.load(std::memory_order_acquire) != i) {}
        trips.push_back(micros(start, Clock::now()));
    }
    peer.join();
    return median(trips);
}

Passes run(Fill fill, std::size_t n, int rounds, int request_buffers) {
    const std::size_t mapped = ((request_buffers + 1) * n + (2u << 20) - 1) / (2u << 20) * (2u << 20);
    void* memory = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
    if (memory == MAP_FAILED) memory = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (memory == MAP_FAILED) {
        std::perror("mmap");
        std::exit(1);
    }
    auto* requests = static_cast<unsigned char*>(memory);
    unsigned char* reply = requests + request_buffers * n;
    auto request_of = [&](std::uint64_t seq) { return requests + seq % request_buffers * n; };
    std::vector<unsigned char> client_scratch(n), service_scratch(n);
    std::atomic<std::uint64_t> requested{0}, replied{0};
    std::atomic<bool> intact{true};
    Passes passes;
    std::thread service([&] {
        pin(1);
        for (std::uint64_t seq = 1; seq <= static_cast<std::uint64_t>(rounds); ++seq) {
            while (requested.load(std::memory_order_acquire) != seq) {}
            const auto start = Clock::now();
            if (!receive(fill, request_of(seq), service_scratch.data(), n, Op::request, seq)) intact = false;
            const auto checked = Clock::now();
            send(fill, reply, service_scratch.data(), n, Op::reply, seq);
            passes.service_check.push_back(micros(start, checked));
            passes.service_fill.push_back(micros(checked, Clock::now()));
            replied.store(seq, std::memory_order_release);
        }
    });
    pin(0);
    for (std::uint64_t seq = 1; seq <= static_cast<std::uint64_t>(rounds); ++seq) {
        const auto start = Clock::now();
        send(fill, request_of(seq), client_scratch.data(), n, Op::request, seq);
        const auto filled = Clock::now();
        requested.store(seq, std::memory_order_release);
        while (replied.load(std::memory_order_acquire) != seq) {}
        const auto answered = Clock::now();
        if (!receive(fill, reply, client_scratch.data(), n, Op::reply, seq)) intact = false;
        const auto end = Clock::now();
        passes.client_fill.push_back(micros(start, filled));
        passes.client_check.push_back(micros(answered, end));
        passes.round_trip.push_back(micros(start, end));
    }
    service.join();
    munmap(memory, mapped);
    if (!intact) {
        std::fprintf(stderr, "pass_bench: a payload failed its check\n");
        std::exit(1);
    }
    return passes;
}

}  // namespace
}  // namespace liteipc::bench

int main(int argc, char** argv) {
    using namespace liteipc::bench;
    std::size_t size = 1u << 20;
    int rounds = 400;
    int request_buffers = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--size") size = std::max<std::size_t>(std::strtoull(argv[i + 1], nullptr, 0), kMinPayload);
        else if (flag == "--rounds") rounds = std::max(1, std::atoi(argv[i + 1]));
        else if (flag == "--request-buffers") request_buffers = std::clamp(std::atoi(argv[i + 1]), 1, 64);
    }
    std::printf("%zu-byte round trip, CPUs 0 and 1, %d request buffer(s), median of %d (us)\n", size, request_buffers,
                rounds);
    std::printf("one 8-byte word each way between the CPUs (before): %.2f us\n", word_round_trip_us());
    std::printf("  %-34s %8s %8s %8s %8s %8s\n", "fill", "RTT", "c.fill", "s.check", "s.fill", "c.check");
    const struct {
        Fill fill;
        const char* name;
    } kinds[] = {{Fill::cached, "in place, cached stores"},
                 {Fill::streaming, "in place, streaming stores"},
                 {Fill::copied, "copy in + copy out (scratch buffers)"}};
    for (const auto& kind : kinds) {
        const Passes p = run(kind.fill, size, rounds, request_buffers);
        std::printf("  %-34s %8.1f %8.1f %8.1f %8.1f %8.1f\n", kind.name, median(p.round_trip), median(p.client_fill),
                    median(p.service_check), median(p.service_fill), median(p.client_check));
    }
    std::printf("one 8-byte word each way between the CPUs (after): %.2f us\n", word_round_trip_us());
    return 0;
}
