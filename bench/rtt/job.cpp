#include "job.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../../tests/support/owned_pid.h"

namespace liteipc::bench {

Budget budget_for(const Options& o, std::size_t payload) {
    Budget b{};
    b.rtt_iters = std::clamp<std::uint64_t>(o.rtt_bytes / payload, o.min_iters, std::max(o.iters, o.min_iters));
    b.rtt_warmup = std::clamp<std::uint64_t>(b.rtt_iters / 10, std::min<std::uint64_t>(10, o.warmup_max), o.warmup_max);
    b.stream_msgs = std::clamp<std::uint64_t>(o.stream_bytes / payload, 8, std::max<std::uint64_t>(o.stream_max, 8));
    b.stream_warmup = std::max<std::uint64_t>(b.stream_msgs / 10, 2);
    return b;
}

CpuPair pick_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return {};
    CpuPair p;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (!CPU_ISSET(c, &set)) continue;
        if (p.client < 0) p.client = c;
        else if (p.server < 0) {
            p.server = c;
            break;
        }
    }
    return p.server >= 0 ? p : CpuPair{};
}

volatile sig_atomic_t g_interrupted = 0;
void on_signal(int) { g_interrupted = 1; }

namespace {

using Clock = std::chrono::steady_clock;

void pin_to(int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);  // best effort: an unpinned run is still a run
}

// Common start of both children: default signals, die with the harness, own CPU.
void enter_child(int cpu) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    pin_to(cpu);
}

void copy_error(ClientReport& r, const std::string& s) {
    std::snprintf(r.error, sizeof r.error, "%s", s.c_str());
}

ClientReport run_client(Transport& t, const Budget& b, std::size_t payload) {
    ClientReport r;
    std::uint64_t seq = 1;
    auto failed = [&](const char* step, const Error& e) {
        copy_error(r, std::string(step) + ": " + e.describe());
        return r;
    };
    if (auto c = t.connect(); !c) return failed("connect", c.error());
    for (std::uint64_t i = 0; i < b.rtt_warmup; ++i)
        if (auto x = t.round_trip(seq++); !x) return failed("warm-up round trip", x.error());

    std::vector<double> ns(b.rtt_iters);
    for (auto& sample : ns) {
        const auto t0 = Clock::now();
        if (auto x = t.round_trip(seq++); !x) return failed("round trip", x.error());
        sample = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    }
    double sum = 0;
    for (double v : ns) sum += v;
    std::sort(ns.begin(), ns.end());
    const std::size_t n = ns.size();
    r.rtt_iters = n;
    r.rtt_median_ns = n % 2 ? ns[n / 2] : (ns[n / 2 - 1] + ns[n / 2]) / 2;
    r.rtt_p99_ns = ns[std::min(n - 1, static_cast<std::size_t>(std::ceil(0.99 * n)) - 1)];
    r.rtt_min_ns = ns.front();
    r.rtt_mean_ns = sum / n;

    if (auto x = t.stream(seq, b.stream_warmup); !x) return failed("warm-up stream", x.error());
    seq += b.stream_warmup;
    const auto t0 = Clock::now();
    if (auto x = t.stream(seq, b.stream_msgs); !x) return failed("stream", x.error());
    r.stream_ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    r.stream_msgs = b.stream_msgs;
    seq += b.stream_msgs;

    if (payload == kInFlightPayload) {
        auto x = t.in_flight(kInFlightDepth, std::max<std::uint64_t>(b.rtt_iters, 1000));
        if (!x) return failed("calls in flight", x.error());
        r.async_calls_per_s = x->async_calls_per_s;
        r.threads_calls_per_s = x->threads_calls_per_s;
    }

    if (auto x = t.stop(); !x) return failed("stop", x.error());
    r.ok = 1;
    return r;
}

bool read_full(int fd, void* buf, std::size_t len) {
    auto* p = static_cast<unsigned char*>(buf);
    while (len > 0) {
        const ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= static_cast<std::size_t>(n);
    }
    return true;
}

// Exit status of a child as text, for failure notes.
std::string describe_exit(int status) {
    if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("killed by ") + strsignal(WTERMSIG(status));
    return "?";
}

}  // namespace

JobResult run_job(Transport& t, const JobSpec& job, const Budget& b, CpuPair cpus, int timeout_s) {
    JobResult res{std::string(t.name()), job.regime, job.payload, JobResult::Status::failed, {}, {}};
    if (auto s = t.setup(job); !s) {
        res.note = "setup: " + s.error().describe();
        t.teardown();
        return res;
    }
    int report_pipe[2];
    if (pipe2(report_pipe, O_CLOEXEC) != 0) {
        res.note = "pipe2 for the report failed";
        t.teardown();
        return res;
    }
    std::fflush(nullptr);

    // Both children are owned: each is killed and reaped on every way out of this function, and
    // gets SIGKILL should the bench itself die.
    testing::OwnedPid server = testing::fork_child([&]() -> int {
        close(report_pipe[0]);
        close(report_pipe[1]);
        enter_child(cpus.server);
        auto r = t.serve();
        if (!r) std::fprintf(stderr, "ipc_bench: %s server: %s\n", res.transport.c_str(), r.error().describe().c_str());
        std::fflush(nullptr);
        std::exit(r ? 0 : 1);  // exit, not _exit: runtimes (iceoryx) unregister at exit
    });
    testing::OwnedPid client;
    if (server) client = testing::fork_child([&]() -> int {
        close(report_pipe[0]);
        enter_child(cpus.client);
        const ClientReport r = run_client(t, b, job.payload);
        [[maybe_unused]] auto n = write(report_pipe[1], &r, sizeof r);
        std::fflush(nullptr);
        std::exit(r.ok ? 0 : 1);
    });
    close(report_pipe[1]);

    // Wait for the report; give up when a child dies early, the job times out or the user
    // interrupts. Only our two children are ever killed, by pid.
    bool got_report = false;
    int server_status = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
    if (!server || !client) res.note = "fork failed";
    while (server && client && !got_report) {
        pollfd pfd{report_pipe[0], POLLIN, 0};
        const int pr = poll(&pfd, 1, 50);
        if (pr > 0) {
            got_report = read_full(report_pipe[0], &res.report, sizeof res.report);
            if (!got_report) res.note = "client exited without a report";
            break;
        }
        if (auto status = server.wait_for(std::chrono::milliseconds(0))) {
            server_status = *status;
            res.note = "server ended before the client reported (" + describe_exit(server_status) + ")";
            break;
        }
        if (g_interrupted) {
            res.note = "interrupted";
            break;
        }
        if (Clock::now() > deadline) {
            res.note = "timed out after " + std::to_string(timeout_s) + " s";
            break;
        }
    }
    close(report_pipe[0]);

    // The server returns after the client's stop; allow it a moment, then make sure.
    const auto grace = got_report ? std::chrono::milliseconds(5000) : std::chrono::milliseconds(0);
    client.wait_or_kill(grace);
    if (server) server_status = server.wait_or_kill(grace);
    t.teardown();

    if (got_report && res.report.ok) {
        res.status = JobResult::Status::ok;
        if (!(WIFEXITED(server_status) && WEXITSTATUS(server_status) == 0))
            res.note = "server " + describe_exit(server_status) + " after the run";
    } else if (got_report) {
        res.note = res.report.error;
    }
    return res;
}

}  // namespace liteipc::bench
