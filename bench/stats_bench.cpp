// What per-service counting adds to each message: ServiceTraffic::count_message (two or three
// relaxed atomic adds into the service's mmapped BPF array) against the same call with counting
// off, on one thread and on two threads sharing the map as a service's workers do. Needs root
// (it creates the BPF map the loader would); without it the mapped cases are skipped.
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include "api/service_stats.h"

namespace {

using liteipc::detail::ServiceTraffic;

ServiceTraffic& mapped_counters() {
    static ServiceTraffic traffic = [] {
        LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
        int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bench_traffic", 4, sizeof(liteipc_svc_traffic), 1, &opts);
        if (fd < 0) return ServiceTraffic{};
        auto attached = ServiceTraffic::attach(fd);
        ::close(fd);  // the mapping keeps the map
        return attached ? std::move(*attached) : ServiceTraffic{};
    }();
    return traffic;
}

void BM_CountMessage_Mapped(benchmark::State& state) {
    if (::geteuid() != 0) {
        state.SkipWithError("needs root to create the BPF map");
        return;
    }
    ServiceTraffic& traffic = mapped_counters();
    int32_t status = 0;
    for (auto _ : state) {
        traffic.count_message(false, 64, status);
        benchmark::DoNotOptimize(status);
    }
}
BENCHMARK(BM_CountMessage_Mapped)->Threads(1)->Threads(2);

void BM_CountMessage_Off(benchmark::State& state) {
    ServiceTraffic off;
    int32_t status = 0;
    for (auto _ : state) {
        off.count_message(false, 64, status);
        benchmark::DoNotOptimize(status);
    }
}
BENCHMARK(BM_CountMessage_Off)->Threads(1);

}  // namespace

BENCHMARK_MAIN();
