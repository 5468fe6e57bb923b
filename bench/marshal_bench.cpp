// Marshalling cost of a typical request (16 int32, 2 short strings, a 4 KiB buffer, an fd):
// liteipc's Parcel against the floor (memcpy of the same bytes into a message) and protobuf.
//
// As in every liteipc payload benchmark, the sender writes every payload byte and the receiver
// reads every payload byte (a checksum over the buffer as it received it), so what a format
// saves in copies shows as time saved, not as skipped work. Scalars and strings are copied out
// into the receiver's struct in every case. Ratios use the median CPU time of each case in
// this one run and are printed at the end.
//
// The process replaces global operator new to count allocations: the liteipc cases must
// allocate nothing per message (the binary exits 1 if they do).
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "liteipc/parcel.h"
#include "marshal_bench.pb.h"

namespace {
std::atomic<uint64_t> g_allocations{0};
}

void* operator new(size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace {

constexpr size_t kValues = 16;
constexpr size_t kPayloadSize = 4096;
constexpr std::string_view kService = "org.liteipc.demo";
constexpr std::string_view kMethod = "Echo";
constexpr int kFd = 3;

// The payload of this case: the benchmark argument says how many bytes (4096 or 0).
std::span<const std::byte> payload_of(const benchmark::State& state);
size_t message_bytes(std::span<const std::byte> payload);

// What the receiver ends up with, whichever way the request travelled.
struct Received {
    std::array<int32_t, kValues> values;
    std::array<char, 32> service;
    std::array<char, 32> method;
    uint64_t payload_checksum;
    int fd;
};

// The receiver reading every payload byte where it lies.
uint64_t checksum(std::span<const std::byte> payload) {
    uint64_t sum = 0;
    size_t i = 0;
    for (; i + sizeof(uint64_t) <= payload.size(); i += sizeof(uint64_t)) {
        uint64_t word;
        std::memcpy(&word, payload.data() + i, sizeof word);
        sum += word;
    }
    for (; i < payload.size(); ++i) sum += std::to_integer<uint64_t>(payload[i]);
    return sum;
}

struct Sample {
    std::array<int32_t, kValues> values;
    std::array<std::byte, kPayloadSize> payload;
    Sample() {
        for (size_t i = 0; i < kValues; ++i) values[i] = static_cast<int32_t>(i * 7919);
        for (size_t i = 0; i < kPayloadSize; ++i) payload[i] = static_cast<std::byte>(i * 31);
    }
};
const Sample& sample() {
    static const Sample s;
    return s;
}

void copy_string(std::array<char, 32>& to, std::string_view from) {
    const size_t n = std::min(from.size(), to.size() - 1);
    std::memcpy(to.data(), from.data(), n);
    to[n] = '\0';
}

// Allocations per iteration, reported as a counter.
class AllocationProbe {
public:
    explicit AllocationProbe(benchmark::State& state) : state_(state), before_(g_allocations.load()) {}
    ~AllocationProbe() {
        const double per_iteration =
            static_cast<double>(g_allocations.load() - before_) / static_cast<double>(std::max<int64_t>(state_.iterations(), 1));
        state_.counters["allocs/msg"] = per_iteration;
    }

private:
    benchmark::State& state_;
    uint64_t before_;
};

// The floor: the same bytes memcpy'd into a message buffer and out again.
void BM_MemcpyFloor(benchmark::State& state) {
    const Sample& in = sample();
    const std::span<const std::byte> payload = payload_of(state);
    alignas(64) static std::array<std::byte, 8192> wire;
    static Received out;
    AllocationProbe probe(state);
    for (auto _ : state) {
        std::byte* at = wire.data();
        auto put = [&](const void* p, size_t n) { std::memcpy(at, p, n); at += n; };
        put(in.values.data(), sizeof in.values);
        put(kService.data(), kService.size());
        put(kMethod.data(), kMethod.size());
        put(payload.data(), payload.size());
        put(&kFd, sizeof kFd);
        benchmark::ClobberMemory();
        const std::byte* from = wire.data();
        auto get = [&](void* p, size_t n) { std::memcpy(p, from, n); from += n; };
        get(out.values.data(), sizeof out.values);
        get(out.service.data(), kService.size());
        get(out.method.data(), kMethod.size());
        out.payload_checksum = checksum({from, payload.size()});
        from += payload.size();
        get(&out.fd, sizeof out.fd);
        benchmark::DoNotOptimize(out);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(message_bytes(payload)));
}

// Parcel write and read of the request; with a pool, the buffer is a pool reference.
void run_parcel(benchmark::State& state, liteipc::PoolAllocator* pool, std::span<const std::byte> peer_pool) {
    const Sample& in = sample();
    const std::span<const std::byte> payload = payload_of(state);
    alignas(64) static std::array<std::byte, 8192> wire;
    static Received out;
    std::array<int, 1> fds{kFd};
    bool all_ok = true;
    AllocationProbe probe(state);
    for (auto _ : state) {
        liteipc::Writer writer(wire, pool);
        for (const int32_t v : in.values) writer.write_int32(v);
        writer.write_string(kService);
        writer.write_string(kMethod);
        writer.write_buffer(payload);
        writer.write_fd(kFd);
        const std::span<const std::byte> message = writer.seal();
        benchmark::ClobberMemory();

        liteipc::Reader reader(message, {.peer_pool = peer_pool, .fds = fds});
        for (int32_t& v : out.values) v = reader.read_int32();
        copy_string(out.service, reader.read_string_view());
        copy_string(out.method, reader.read_string_view());
        out.payload_checksum = checksum(reader.read_buffer());
        out.fd = reader.read_fd();
        all_ok &= reader.ok();
        benchmark::DoNotOptimize(out);
    }
    if (!all_ok) state.SkipWithError("parcel round trip failed");
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(message_bytes(payload)));
}

void BM_LiteipcParcel(benchmark::State& state) { run_parcel(state, nullptr, {}); }

// A bump allocator over one region that stands for the sender's pool (and the receiver's mapping).
class BenchPool final : public liteipc::PoolAllocator {
public:
    std::optional<liteipc::PoolSpan> allocate(size_t size) override {
        if (size > memory_.size()) return std::nullopt;
        return liteipc::PoolSpan{0, std::span(memory_).first(size)};
    }
    std::span<const std::byte> mapping() const { return memory_; }

private:
    alignas(64) std::array<std::byte, 8192> memory_{};
};

void BM_LiteipcParcelPool(benchmark::State& state) {
    static BenchPool pool;
    run_parcel(state, &pool, pool.mapping());
}

void BM_Protobuf(benchmark::State& state) {
    const Sample& in = sample();
    const std::span<const std::byte> payload = payload_of(state);
    static Received out;
    liteipc::bench::TypicalRequest request;
    liteipc::bench::TypicalRequest parsed;
    std::string wire;
    wire.reserve(8192);
    bool all_ok = true;
    AllocationProbe probe(state);
    for (auto _ : state) {
        request.Clear();
        for (const int32_t v : in.values) request.add_values(v);
        request.set_service(kService.data(), kService.size());
        request.set_method(kMethod.data(), kMethod.size());
        request.set_payload(payload.data(), payload.size());
        request.set_fd(kFd);
        all_ok &= request.SerializeToString(&wire);
        benchmark::ClobberMemory();

        all_ok &= parsed.ParseFromString(wire);
        for (size_t i = 0; i < kValues && i < static_cast<size_t>(parsed.values_size()); ++i)
            out.values[i] = parsed.values(static_cast<int>(i));
        copy_string(out.service, parsed.service());
        copy_string(out.method, parsed.method());
        out.payload_checksum = checksum(std::as_bytes(std::span(parsed.payload())));
        out.fd = parsed.fd();
        benchmark::DoNotOptimize(out);
    }
    if (!all_ok) state.SkipWithError("protobuf round trip failed");
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(message_bytes(payload)));
}

// Medians of interleaved repetitions: on a shared machine, load shifts between cases otherwise.
void shared_settings(benchmark::internal::Benchmark* case_) {
    case_->Repetitions(9)->ReportAggregatesOnly(true)->MinTime(0.05);
}

BENCHMARK(BM_MemcpyFloor)->Arg(kPayloadSize)->Arg(0)->Apply(shared_settings);
BENCHMARK(BM_LiteipcParcel)->Arg(kPayloadSize)->Arg(0)->Apply(shared_settings);
BENCHMARK(BM_LiteipcParcelPool)->Arg(kPayloadSize)->Arg(0)->Apply(shared_settings);
BENCHMARK(BM_Protobuf)->Arg(kPayloadSize)->Arg(0)->Apply(shared_settings);

// Keeps each case's time per message and allocation count for the ratios.
class RatioReporter final : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& run : runs) {
            if (run.error_occurred) continue;
            if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
            // "BM_Protobuf/4096": the function and the payload size, repetitions aside.
            const std::string key = run.run_name.function_name + "/" + run.run_name.args;
            nanoseconds_[key] = run.GetAdjustedCPUTime();
            const auto allocs = run.counters.find("allocs/msg");
            if (allocs != run.counters.end()) allocations_[key] = allocs->second.value;
        }
        ConsoleReporter::ReportRuns(runs);
    }
    // The median over repetitions (or the single run without repetitions).
    double time(const std::string& name) const { return find(nanoseconds_, name, 0.0); }
    double allocations(const std::string& name) const { return find(allocations_, name, -1.0); }

private:
    static double find(const std::map<std::string, double>& values, const std::string& name, double missing) {
        const auto it = values.find(name);
        return it == values.end() ? missing : it->second;
    }

    std::map<std::string, double> nanoseconds_;
    std::map<std::string, double> allocations_;
};

std::span<const std::byte> payload_of(const benchmark::State& state) {
    return std::span(sample().payload).first(std::min<size_t>(static_cast<size_t>(state.range(0)), kPayloadSize));
}

size_t message_bytes(std::span<const std::byte> payload) {
    return sizeof(int32_t) * kValues + kService.size() + kMethod.size() + payload.size() + sizeof(int);
}

}  // namespace

int main(int argc, char** argv) {
    // Interleave repetitions of the cases unless the command line says otherwise.
    std::vector<char*> args(argv, argv + argc);
    std::string interleave = "--benchmark_enable_random_interleaving=true";
    args.insert(args.begin() + 1, interleave.data());
    int arg_count = static_cast<int>(args.size());
    benchmark::Initialize(&arg_count, args.data());
    argc = arg_count;
    argv = args.data();
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();

    bool complete = true;
    std::printf("\nratios of median CPU time per message, this run (targets: liteipc/memcpy <= 2, protobuf/liteipc >= 3)\n");
    for (const std::string& payload : {std::to_string(kPayloadSize), std::string("0")}) {
        const double floor = reporter.time("BM_MemcpyFloor/" + payload);
        const double parcel = reporter.time("BM_LiteipcParcel/" + payload);
        const double pooled = reporter.time("BM_LiteipcParcelPool/" + payload);
        const double protobuf = reporter.time("BM_Protobuf/" + payload);
        if (floor <= 0 || parcel <= 0 || pooled <= 0 || protobuf <= 0) {
            complete = false;
            continue;
        }
        std::printf("  payload %4s B: liteipc/memcpy %.2f  liteipc(pool)/memcpy %.2f  protobuf/liteipc %.2f  protobuf/liteipc(pool) %.2f\n",
                    payload.c_str(), parcel / floor, pooled / floor, protobuf / parcel, protobuf / pooled);
    }
    if (!complete) std::printf("  (some cases did not run: run without --benchmark_filter for every ratio)\n");
    // The framework allocates a handful of times per run; anything per message shows as >= 1.
    std::string typical = "/";  // appended, not "/" + ...: GCC 12 raises a false -Wrestrict there
    typical += std::to_string(kPayloadSize);
    const double allocations = std::max(0.0, reporter.allocations("BM_LiteipcParcel" + typical)) +
                               std::max(0.0, reporter.allocations("BM_LiteipcParcelPool" + typical));
    std::printf("  heap allocations per message: liteipc %.4f, protobuf %.2f\n", allocations,
                reporter.allocations("BM_Protobuf" + typical));
    return allocations < 0.01 ? 0 : 1;
}
