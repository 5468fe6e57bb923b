// One job of ipc_bench: a server and a client child of one transport, one regime and payload
// size; the client's figures come back through a pipe.
#pragma once

#include <signal.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "options.h"
#include "transport.h"

namespace liteipc::bench {

// What the client child sends back. Plain bytes through a pipe.
struct ClientReport {
    std::int32_t ok = 0;
    char error[256] = {};
    std::uint64_t rtt_iters = 0;
    double rtt_median_ns = 0, rtt_p99_ns = 0, rtt_min_ns = 0, rtt_mean_ns = 0;
    std::uint64_t stream_msgs = 0;
    double stream_ns = 0;
    double async_calls_per_s = 0, threads_calls_per_s = 0;  // Transport::in_flight, 64 B jobs only
};
static_assert(std::is_trivially_copyable_v<ClientReport>);

struct Budget {
    std::uint64_t rtt_iters, rtt_warmup, stream_msgs, stream_warmup;
};
// How many round trips and stream messages a job of this payload size makes.
Budget budget_for(const Options& o, std::size_t payload);

struct JobResult {
    std::string transport;
    Regime regime;
    std::size_t payload;
    enum class Status { ok, skipped, failed } status = Status::failed;
    std::string note;  // why skipped / failed
    ClientReport report;

    double msgs_per_s() const { return report.stream_ns > 0 ? report.stream_msgs * 1e9 / report.stream_ns : 0; }
    double gib_per_s() const { return msgs_per_s() * static_cast<double>(payload) / double(1ull << 30); }
};

struct CpuPair {
    int client = -1, server = -1;
};
// Two CPUs to pin the client and the server to; none when fewer than two are ours.
CpuPair pick_cpus();

// The calls-in-flight row: 64 B jobs, this many calls in flight.
inline constexpr std::size_t kInFlightPayload = 64;
inline constexpr std::size_t kInFlightDepth = 16;

// Set by on_signal (SIGINT, SIGTERM): the run stops after the job under way.
extern volatile sig_atomic_t g_interrupted;
void on_signal(int);

// Sets the transport up for `job`, forks its server and its client (pinned to `cpus`), and returns
// the client's report; a job still running after `timeout_s` is killed and fails.
JobResult run_job(Transport& t, const JobSpec& job, const Budget& b, CpuPair cpus, int timeout_s);

}  // namespace liteipc::bench
