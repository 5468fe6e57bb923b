// ipc_bench: round-trip time and one-way throughput of every registered transport, in one run.
//
// For each regime (busy, blocking), payload size and transport, one job: the harness forks a
// server and a client process (pinned to different CPUs when it can), the client measures
// round trips then a one-way stream and sends its figures back through a pipe. Tables and
// ratios come at the end, all from this one run: absolute times move between runs on shared
// machines, ratios measured together do not: on these shared 2-core VMs the same round trip can move 5x between runs.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "transport.h"

namespace liteipc::bench {
namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
    std::vector<std::size_t> sizes{64, 4u << 10, 64u << 10, 1u << 20, 16u << 20};
    std::vector<Regime> regimes{Regime::busy, Regime::blocking};
    std::vector<std::string> transports;  // empty: all
    std::uint64_t iters = 20000;          // round trips per size at most
    std::uint64_t min_iters = 20;         // round trips per size at least
    std::uint64_t rtt_bytes = 1ull << 30; // round trips per size: at most this many payload bytes
    std::uint64_t warmup_max = 1000;      // warm-up round trips at most
    std::uint64_t stream_max = 200000;    // stream messages per size at most
    std::uint64_t stream_bytes = 1ull << 30;
    bool pin = true;
    bool quick = false;
    int job_timeout_s = 120;
    int rounds = 1;  // each job this many times, the transports taking turns round by round
    std::string csv = "bench-results.csv";
};

void usage(FILE* out) {
    std::fprintf(out,
        "usage: ipc_bench [options]\n"
        "  --sizes LIST        payload sizes, e.g. 64,4k,64k,1m,16m (default: all five)\n"
        "  --regimes LIST      busy,blocking (default: both)\n"
        "  --transports LIST   transport names (default: all; --list shows them)\n"
        "  --iters N           round trips per size at most (default 20000; fewer for large sizes)\n"
        "  --min-iters N       round trips per size at least (default 20)\n"
        "  --stream N          one-way messages per size at most (default 200000)\n"
        "  --quick             CI mode: small budgets, whole run well under a minute\n"
        "  --no-pin            do not pin client and server to different CPUs\n"
        "  --timeout S         seconds before a job is killed (default 120)\n"
        "  --rounds N          run every job N times, transports taking turns each round, and\n"
        "                      report the median of the rounds (default 1)\n"
        "  --csv PATH          results file (default bench-results.csv)\n"
        "  --list              print the transports and exit\n");
}

std::optional<std::size_t> parse_size(std::string s) {
    if (s.empty()) return std::nullopt;
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const char* suffix : {"ib", "b"}) {
        const std::size_t n = std::strlen(suffix);
        if (s.size() > n && s.ends_with(suffix) && !std::isdigit(static_cast<unsigned char>(s[s.size() - n - 1])))
            s.resize(s.size() - n);
    }
    std::size_t mult = 1;
    switch (s.back()) {
        case 'k': mult = 1u << 10; s.pop_back(); break;
        case 'm': mult = 1u << 20; s.pop_back(); break;
        case 'g': mult = 1u << 30; s.pop_back(); break;
        default: break;
    }
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (end == s.c_str() || *end != '\0' || v == 0) return std::nullopt;
    return static_cast<std::size_t>(v) * mult;
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        const std::size_t comma = s.find(',', start);
        const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!item.empty()) out.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

std::string size_label(std::size_t n) {
    if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + " MiB";
    if (n >= (1u << 10) && n % (1u << 10) == 0) return std::to_string(n >> 10) + " KiB";
    return std::to_string(n) + " B";
}

bool parse_options(int argc, char** argv, Options& o, bool& list_only) {
    // --quick first, so explicit flags after or before it still win.
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            o.quick = true;
            o.iters = 5000;
            o.min_iters = 16;
            o.rtt_bytes = 256ull << 20;
            o.warmup_max = 300;
            o.stream_max = 50000;
            o.stream_bytes = 256ull << 20;
            o.job_timeout_s = 30;
        }
    }
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "ipc_bench: %s needs a value\n", a.c_str());
                return std::nullopt;
            }
            return std::string(argv[++i]);
        };
        auto number = [&](std::uint64_t& out) {
            auto v = value();
            if (!v) return false;
            char* end = nullptr;
            out = std::strtoull(v->c_str(), &end, 10);
            if (*end != '\0' || out == 0) {
                std::fprintf(stderr, "ipc_bench: %s: not a positive number: %s\n", a.c_str(), v->c_str());
                return false;
            }
            return true;
        };
        if (a == "--quick") continue;
        if (a == "-h" || a == "--help") {
            usage(stdout);
            std::exit(0);
        } else if (a == "--list") {
            list_only = true;
        } else if (a == "--no-pin") {
            o.pin = false;
        } else if (a == "--pin") {
            o.pin = true;
        } else if (a == "--sizes") {
            auto v = value();
            if (!v) return false;
            o.sizes.clear();
            for (const auto& item : split(*v)) {
                auto n = parse_size(item);
                if (!n || *n < 8) {
                    std::fprintf(stderr, "ipc_bench: bad size '%s' (at least 8 bytes)\n", item.c_str());
                    return false;
                }
                o.sizes.push_back(*n);
            }
        } else if (a == "--regimes") {
            auto v = value();
            if (!v) return false;
            o.regimes.clear();
            for (const auto& item : split(*v)) {
                if (item == "busy") o.regimes.push_back(Regime::busy);
                else if (item == "blocking") o.regimes.push_back(Regime::blocking);
                else {
                    std::fprintf(stderr, "ipc_bench: unknown regime '%s' (busy, blocking)\n", item.c_str());
                    return false;
                }
            }
        } else if (a == "--transports") {
            auto v = value();
            if (!v) return false;
            o.transports = split(*v);
        } else if (a == "--iters") {
            if (!number(o.iters)) return false;
            o.min_iters = std::min(o.min_iters, o.iters);
        } else if (a == "--min-iters") {
            if (!number(o.min_iters)) return false;
        } else if (a == "--stream") {
            if (!number(o.stream_max)) return false;
        } else if (a == "--timeout") {
            std::uint64_t t = 0;
            if (!number(t)) return false;
            o.job_timeout_s = static_cast<int>(t);
        } else if (a == "--rounds") {
            std::uint64_t n = 0;
            if (!number(n) || n == 0 || n > 100) return false;
            o.rounds = static_cast<int>(n);
        } else if (a == "--csv") {
            auto v = value();
            if (!v) return false;
            o.csv = *v;
        } else {
            std::fprintf(stderr, "ipc_bench: unknown option %s\n", a.c_str());
            usage(stderr);
            return false;
        }
    }
    return !o.sizes.empty() && !o.regimes.empty();
}

// ---------------------------------------------------------------------------------------------
// One job

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

Budget budget_for(const Options& o, std::size_t payload) {
    Budget b{};
    b.rtt_iters = std::clamp<std::uint64_t>(o.rtt_bytes / payload, o.min_iters, std::max(o.iters, o.min_iters));
    b.rtt_warmup = std::clamp<std::uint64_t>(b.rtt_iters / 10, std::min<std::uint64_t>(10, o.warmup_max), o.warmup_max);
    b.stream_msgs = std::clamp<std::uint64_t>(o.stream_bytes / payload, 8, std::max<std::uint64_t>(o.stream_max, 8));
    b.stream_warmup = std::max<std::uint64_t>(b.stream_msgs / 10, 2);
    return b;
}

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

void pin_to(int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);  // best effort: an unpinned run is still a run
}

volatile sig_atomic_t g_interrupted = 0;
void on_signal(int) { g_interrupted = 1; }

// Common start of both children: default signals, die with the harness, own CPU.
void enter_child(int cpu) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pin_to(cpu);
}

void copy_error(ClientReport& r, const std::string& s) {
    std::snprintf(r.error, sizeof r.error, "%s", s.c_str());
}

// The calls-in-flight row: 64 B jobs, this many calls in flight.
constexpr std::size_t kInFlightPayload = 64;
constexpr std::size_t kInFlightDepth = 16;

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

    const pid_t server = fork();
    if (server == 0) {
        close(report_pipe[0]);
        close(report_pipe[1]);
        enter_child(cpus.server);
        auto r = t.serve();
        if (!r) std::fprintf(stderr, "ipc_bench: %s server: %s\n", res.transport.c_str(), r.error().describe().c_str());
        std::fflush(nullptr);
        std::exit(r ? 0 : 1);  // exit, not _exit: runtimes (iceoryx) unregister at exit
    }
    const pid_t client = server > 0 ? fork() : -1;
    if (client == 0) {
        close(report_pipe[0]);
        enter_child(cpus.client);
        const ClientReport r = run_client(t, b, job.payload);
        [[maybe_unused]] auto n = write(report_pipe[1], &r, sizeof r);
        std::fflush(nullptr);
        std::exit(r.ok ? 0 : 1);
    }
    close(report_pipe[1]);

    // Wait for the report; give up when a child dies early, the job times out or the user
    // interrupts. Only our two children are ever killed, by pid.
    bool server_done = false, client_done = false, got_report = false;
    int server_status = 0, client_status = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
    if (server < 0 || client < 0) res.note = "fork failed";
    while (server > 0 && client > 0 && !got_report) {
        pollfd pfd{report_pipe[0], POLLIN, 0};
        const int pr = poll(&pfd, 1, 50);
        if (pr > 0) {
            got_report = read_full(report_pipe[0], &res.report, sizeof res.report);
            if (!got_report) res.note = "client exited without a report";
            break;
        }
        if (!server_done && waitpid(server, &server_status, WNOHANG) == server) {
            server_done = true;
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
    auto reap = [](pid_t pid, bool& done, int& status, std::chrono::milliseconds grace) {
        if (pid <= 0 || done) return;
        const auto until = Clock::now() + grace;
        while (Clock::now() < until) {
            if (waitpid(pid, &status, WNOHANG) == pid) {
                done = true;
                return;
            }
            usleep(2000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        done = true;
    };
    const auto grace = got_report ? std::chrono::milliseconds(5000) : std::chrono::milliseconds(0);
    reap(client, client_done, client_status, grace);
    reap(server, server_done, server_status, grace);
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

// ---------------------------------------------------------------------------------------------
// Report

std::string_view floor_of(Regime r) { return r == Regime::busy ? kShmSpin : kShmFutex; }

// One job's rounds as one result: the median of each figure over the rounds (a failed round
// fails the job). Rounds of all transports interleave, so a load that changes within the run
// weighs on each transport alike instead of on whichever ran during a busy second.
JobResult combine_rounds(std::vector<JobResult> rounds) {
    for (auto& r : rounds)
        if (r.status != JobResult::Status::ok) return std::move(r);
    auto median_of = [&](auto field) {
        std::vector<double> v;
        for (const auto& r : rounds) v.push_back(r.report.*field);
        std::sort(v.begin(), v.end());
        const std::size_t n = v.size();
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    };
    JobResult out = rounds.front();
    out.report.rtt_median_ns = median_of(&ClientReport::rtt_median_ns);
    out.report.rtt_p99_ns = median_of(&ClientReport::rtt_p99_ns);
    out.report.rtt_mean_ns = median_of(&ClientReport::rtt_mean_ns);
    out.report.stream_ns = median_of(&ClientReport::stream_ns);
    out.report.async_calls_per_s = median_of(&ClientReport::async_calls_per_s);
    out.report.threads_calls_per_s = median_of(&ClientReport::threads_calls_per_s);
    for (const auto& r : rounds) out.report.rtt_min_ns = std::min(out.report.rtt_min_ns, r.report.rtt_min_ns);
    return out;
}

class Results {
public:
    void add(JobResult r) { all_.push_back(std::move(r)); }
    const std::vector<JobResult>& all() const { return all_; }

    const JobResult* find(std::string_view transport, Regime regime, std::size_t payload) const {
        for (const auto& r : all_)
            if (r.transport == transport && r.regime == regime && r.payload == payload &&
                r.status == JobResult::Status::ok)
                return &r;
        return nullptr;
    }
    // median(transport) / median(reference), if both ran.
    std::optional<double> rtt_ratio(const JobResult& r, std::string_view reference) const {
        const JobResult* ref = find(reference, r.regime, r.payload);
        if (ref == nullptr || ref->report.rtt_median_ns <= 0) return std::nullopt;
        return r.report.rtt_median_ns / ref->report.rtt_median_ns;
    }

private:
    std::vector<JobResult> all_;
};

std::string fmt_ratio(std::optional<double> v) {
    if (!v) return "-";
    char b[32];
    std::snprintf(b, sizeof b, *v >= 100 ? "%.0fx" : *v >= 10 ? "%.1fx" : "%.2fx", *v);
    return b;
}

std::string fmt_rate(double v) {
    char b[32];
    if (v >= 1e6) std::snprintf(b, sizeof b, "%.2fM", v / 1e6);
    else if (v >= 1e3) std::snprintf(b, sizeof b, "%.1fk", v / 1e3);
    else std::snprintf(b, sizeof b, "%.0f", v);
    return b;
}

std::vector<std::string_view> reference_columns(Regime regime, bool have_liteipc) {
    std::vector<std::string_view> cols{floor_of(regime), kUnixSeqpacket, kIceoryx};
    if (have_liteipc) cols.push_back(kLiteipc);
    return cols;
}

void print_tables(const Results& results, const Options& o, bool have_liteipc,
                  const std::vector<std::string>& order) {
    for (Regime regime : o.regimes) {
        for (std::size_t payload : o.sizes) {
            const Budget b = budget_for(o, payload);
            std::printf("\n== %s, %s ==  (round trips: %llu after %llu warm-up; stream: %llu messages)\n",
                        std::string(to_string(regime)).c_str(), size_label(payload).c_str(),
                        static_cast<unsigned long long>(b.rtt_iters), static_cast<unsigned long long>(b.rtt_warmup),
                        static_cast<unsigned long long>(b.stream_msgs));
            const auto cols = reference_columns(regime, have_liteipc);
            std::printf("%-16s %11s %11s %10s %9s", "transport", "median us", "p99 us", "msg/s", "GiB/s");
            for (auto c : cols) {
                std::string head(1, '/');  // built by append: GCC 12 -O3 warns (-Wrestrict) on "/" + s
                head.append(c);
                std::printf(" %13s", head.c_str());
            }
            std::printf("\n");
            for (const auto& name : order) {
                for (const auto& r : results.all()) {
                    if (r.transport != name || r.regime != regime || r.payload != payload) continue;
                    if (r.status != JobResult::Status::ok) {
                        if (r.status == JobResult::Status::failed)
                            std::printf("%-16s FAILED: %s\n", r.transport.c_str(), r.note.c_str());
                        continue;
                    }
                    std::printf("%-16s %11.2f %11.2f %10s %9.3f", r.transport.c_str(), r.report.rtt_median_ns / 1e3,
                                r.report.rtt_p99_ns / 1e3, fmt_rate(r.msgs_per_s()).c_str(), r.gib_per_s());
                    for (auto c : cols) std::printf(" %13s", fmt_ratio(results.rtt_ratio(r, c)).c_str());
                    if (!r.note.empty()) std::printf("  (%s)", r.note.c_str());
                    std::printf("\n");
                }
            }
        }
    }
}

// The targets liteipc is held to (README.md, Benchmarks), checked when a "liteipc" transport ran.
struct Target {
    const char* label;
    Regime regime;
    std::size_t payload;
    bool throughput;         // false: median RTT, lower is better; true: msg/s, higher is better
    std::string_view peer;   // compared with the peer's figure in the same regime and size
    double bound;            // RTT: liteipc <= bound x peer; throughput: liteipc >= bound x peer
};

const Target kTargets[] = {
    {"blocking 64 B RTT   <= 1.2x shm-futex", Regime::blocking, 64, false, kShmFutex, 1.2},
    {"blocking 64 B RTT   <= 0.8x unix-seqpacket", Regime::blocking, 64, false, kUnixSeqpacket, 0.8},
    {"busy 64 B RTT       <= 2x shm-spin", Regime::busy, 64, false, kShmSpin, 2.0},
    {"busy 64 B RTT       <= 0.3x iceoryx (busy)", Regime::busy, 64, false, kIceoryx, 0.3},
    {"blocking 1 MiB RTT  <= 0.6x unix-seqpacket", Regime::blocking, 1u << 20, false, kUnixSeqpacket, 0.6},
    {"busy 1 MiB RTT      <= 0.6x unix-seqpacket", Regime::busy, 1u << 20, false, kUnixSeqpacket, 0.6},
    {"one-way 64 B msg/s  >= 0.5x shm-spin stream", Regime::busy, 64, true, kShmSpin, 0.5},
};

// A mediated service beside a direct one, in the same run: what one BPF_PROG_RUN per message costs.
// Targets: with busy receivers at most 2.5 us above direct; with sleeping receivers at most 1.3x.
constexpr double kMediatedBusyExtraUs = 2.5;
constexpr double kMediatedBlockingRatio = 1.3;

void print_mediated_summary(const Results& results, const Options& o) {
    std::printf("\nmediated vs direct (median RTT; every message of the mediated service passes the kernel):\n");
    for (Regime regime : o.regimes) {
        for (std::size_t payload : o.sizes) {
            const JobResult* direct = results.find(kLiteipc, regime, payload);
            const JobResult* mediated = results.find(kLiteipcMediated, regime, payload);
            const std::string where = std::string(to_string(regime)) + " " + size_label(payload);
            if (direct == nullptr || mediated == nullptr) {
                std::printf("  %-14s not measured (%s missing)\n", where.c_str(),
                            direct == nullptr ? "liteipc" : "liteipc-mediated");
                continue;
            }
            const double d = direct->report.rtt_median_ns / 1e3, m = mediated->report.rtt_median_ns / 1e3;
            std::printf("  %-14s %.2f vs %.2f us = %+.2f us, %.2fx", where.c_str(), m, d, m - d, d > 0 ? m / d : 0);
            if (payload == 64) {
                const bool busy = regime == Regime::busy;
                const bool met = busy ? m - d <= kMediatedBusyExtraUs : m <= kMediatedBlockingRatio * d;
                if (busy) std::printf("   target <= +%.1f us: %s", kMediatedBusyExtraUs, met ? "met" : "NOT met");
                else std::printf("   target <= %.1fx: %s", kMediatedBlockingRatio, met ? "met" : "NOT met");
            }
            std::printf("\n");
        }
    }
}

void print_liteipc_summary(const Results& results, const Options& o, const std::vector<std::string>& order) {
    std::printf("\n==================== liteipc vs peers ====================\n");
    std::printf("median RTT of liteipc / median RTT of the peer (below 1.00x: liteipc is faster)\n");
    for (Regime regime : o.regimes) {
        std::printf("\n%-9s %-8s", std::string(to_string(regime)).c_str(), "payload");
        for (const auto& peer : order)
            if (peer != kLiteipc) std::printf(" %15s", peer.c_str());
        std::printf("\n");
        for (std::size_t payload : o.sizes) {
            const JobResult* l = results.find(kLiteipc, regime, payload);
            std::printf("%-9s %-8s", "", size_label(payload).c_str());
            for (const auto& peer : order) {
                if (peer == kLiteipc) continue;
                std::printf(" %15s", l ? fmt_ratio(results.rtt_ratio(*l, peer)).c_str() : "-");
            }
            std::printf("\n");
        }
    }
    std::printf("\ntargets (DESIGN):\n");
    for (const auto& t : kTargets) {
        const JobResult* l = results.find(kLiteipc, t.regime, t.payload);
        const JobResult* p = results.find(t.peer, t.regime, t.payload);
        if (l == nullptr || p == nullptr) {
            std::printf("  %-46s  not measured (%s missing)\n", t.label, l == nullptr ? "liteipc" : std::string(t.peer).c_str());
            continue;
        }
        double ratio, mine, theirs;
        bool met;
        if (t.throughput) {
            mine = l->msgs_per_s();
            theirs = p->msgs_per_s();
            ratio = theirs > 0 ? mine / theirs : 0;
            met = ratio >= t.bound;
            std::printf("  %-46s  %s vs %s msg/s = %.2fx  %s\n", t.label, fmt_rate(mine).c_str(),
                        fmt_rate(theirs).c_str(), ratio, met ? "met" : "NOT met");
        } else {
            mine = l->report.rtt_median_ns / 1e3;
            theirs = p->report.rtt_median_ns / 1e3;
            ratio = mine / theirs;
            met = ratio <= t.bound;
            std::printf("  %-46s  %.2f vs %.2f us = %.2fx  %s\n", t.label, mine, theirs, ratio, met ? "met" : "NOT met");
        }
    }
    print_mediated_summary(results, o);
    std::printf("\ncalls in flight (64 B, %zu at once; no target: the two ways to keep %zu calls going):\n",
                kInFlightDepth, kInFlightDepth);
    for (Regime regime : o.regimes) {
        const JobResult* l = results.find(kLiteipc, regime, kInFlightPayload);
        if (l == nullptr || l->report.async_calls_per_s <= 0) {
            std::printf("  %-9s not measured\n", std::string(to_string(regime)).c_str());
            continue;
        }
        std::printf("  %-9s one thread, call_async: %s calls/s   %zu blocking threads: %s calls/s   = %.2fx\n",
                    std::string(to_string(regime)).c_str(), fmt_rate(l->report.async_calls_per_s).c_str(),
                    kInFlightDepth, fmt_rate(l->report.threads_calls_per_s).c_str(),
                    l->report.threads_calls_per_s > 0 ? l->report.async_calls_per_s / l->report.threads_calls_per_s : 0);
    }
    std::printf("===========================================================\n");
}

std::string csv_escape(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c == '\n' ? ' ' : c;
    }
    return out + "\"";
}

bool write_csv(const Results& results, const std::string& path, bool have_liteipc) {
    std::ofstream f(path);
    if (!f) return false;
    f << "regime,payload_bytes,transport,status,rtt_iters,rtt_median_us,rtt_p99_us,rtt_min_us,rtt_mean_us,"
         "stream_msgs,msgs_per_s,gib_per_s,x_floor,x_unix_seqpacket,x_iceoryx,x_liteipc,note\n";
    for (const auto& r : results.all()) {
        const char* status = r.status == JobResult::Status::ok ? "ok" : r.status == JobResult::Status::skipped ? "skipped" : "failed";
        char line[512];
        if (r.status == JobResult::Status::ok) {
            auto ratio = [&](std::string_view ref) {
                auto v = results.rtt_ratio(r, ref);
                return v ? std::to_string(*v) : std::string();
            };
            std::snprintf(line, sizeof line, "%llu,%.3f,%.3f,%.3f,%.3f,%llu,%.1f,%.4f,",
                          static_cast<unsigned long long>(r.report.rtt_iters), r.report.rtt_median_ns / 1e3,
                          r.report.rtt_p99_ns / 1e3, r.report.rtt_min_ns / 1e3, r.report.rtt_mean_ns / 1e3,
                          static_cast<unsigned long long>(r.report.stream_msgs), r.msgs_per_s(), r.gib_per_s());
            f << to_string(r.regime) << ',' << r.payload << ',' << r.transport << ',' << status << ',' << line
              << ratio(floor_of(r.regime)) << ',' << ratio(kUnixSeqpacket) << ',' << ratio(kIceoryx) << ','
              << (have_liteipc ? ratio(kLiteipc) : std::string()) << ',' << csv_escape(r.note) << '\n';
        } else {
            f << to_string(r.regime) << ',' << r.payload << ',' << r.transport << ',' << status
              << ",,,,,,,,,,,,," << csv_escape(r.note) << '\n';
        }
    }
    return static_cast<bool>(f);
}

}  // namespace
}  // namespace liteipc::bench

int main(int argc, char** argv) {
    using namespace liteipc::bench;
    Options opts;
    bool list_only = false;
    if (!parse_options(argc, argv, opts, list_only)) return 2;

    auto all = make_all_transports();
    if (list_only) {
        for (const auto& t : all) std::printf("%s\n", std::string(t->name()).c_str());
        return 0;
    }
    std::vector<Transport*> chosen;
    for (const auto& t : all) {
        if (opts.transports.empty() ||
            std::find(opts.transports.begin(), opts.transports.end(), t->name()) != opts.transports.end())
            chosen.push_back(t.get());
    }
    for (const auto& want : opts.transports) {
        if (std::none_of(all.begin(), all.end(), [&](const auto& t) { return t->name() == want; })) {
            std::fprintf(stderr, "ipc_bench: unknown transport '%s' (--list)\n", want.c_str());
            return 2;
        }
    }

    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    const CpuPair cpus = opts.pin ? pick_cpus() : CpuPair{};
    std::printf("ipc_bench: %zu transport(s), pinning: %s\n", chosen.size(),
                cpus.client >= 0 ? ("client cpu " + std::to_string(cpus.client) + ", server cpu " +
                                    std::to_string(cpus.server)).c_str()
                                 : (opts.pin ? "off (fewer than 2 CPUs)" : "off"));
    if (opts.rounds > 1)
        std::printf("ipc_bench: %d rounds per job, transports taking turns; each figure is the median of the rounds\n",
                    opts.rounds);
    std::fflush(stdout);

    // Start what transports need for the whole run; a transport that cannot start is skipped.
    std::vector<Transport*> running;
    Results results;
    for (Transport* t : chosen) {
        if (auto r = t->open_run(); !r) {
            std::printf("ipc_bench: %s skipped: %s\n", std::string(t->name()).c_str(), r.error().describe().c_str());
            for (Regime regime : opts.regimes)
                for (std::size_t payload : opts.sizes)
                    results.add(JobResult{std::string(t->name()), regime, payload, JobResult::Status::skipped,
                                          r.error().describe(), {}});
            continue;
        }
        running.push_back(t);
    }

    // Transports take turns within each (regime, size), and again each round, so slow drift of a
    // shared machine spreads over all of them instead of landing on one.
    std::uint64_t job_id = 0;
    const auto started = Clock::now();
    for (Regime regime : opts.regimes) {
        for (std::size_t payload : opts.sizes) {
            const Budget b = budget_for(opts, payload);
            std::map<Transport*, std::vector<JobResult>> rounds;
            for (int round = 1; round <= opts.rounds && !g_interrupted; ++round) {
                for (Transport* t : running) {
                    if (g_interrupted) break;
                    const std::string name(t->name());
                    if (auto why = t->unsupported(regime, payload)) {
                        if (round == 1) results.add(JobResult{name, regime, payload, JobResult::Status::skipped, *why, {}});
                        continue;
                    }
                    std::fprintf(stderr, "  %-9s %-8s %-16s", std::string(to_string(regime)).c_str(),
                                 size_label(payload).c_str(), name.c_str());
                    if (opts.rounds > 1) std::fprintf(stderr, " round %d/%d", round, opts.rounds);
                    const JobSpec job{regime, payload, ++job_id, b.stream_msgs};
                    const auto t0 = Clock::now();
                    JobResult r = run_job(*t, job, b, cpus, opts.job_timeout_s);
                    std::fprintf(stderr, " %6.2f s  %s\n", std::chrono::duration<double>(Clock::now() - t0).count(),
                                 r.status == JobResult::Status::ok ? "ok" : ("FAILED: " + r.note).c_str());
                    rounds[t].push_back(std::move(r));
                }
            }
            for (Transport* t : running)
                if (auto it = rounds.find(t); it != rounds.end()) results.add(combine_rounds(std::move(it->second)));
        }
    }
    for (Transport* t : running) t->close_run();

    // Skip reasons, once per transport and reason, with how many jobs each one skipped.
    std::map<std::pair<std::string, std::string>, std::pair<std::string, int>> skipped;
    for (const auto& r : results.all()) {
        if (r.status != JobResult::Status::skipped) continue;
        auto& [first, count] = skipped[{r.transport, r.note}];
        if (count++ == 0) first = std::string(to_string(r.regime)) + " " + size_label(r.payload);
    }
    for (const auto& [key, seen] : skipped) {
        std::printf("skipped %s (%s%s): %s\n", key.first.c_str(), seen.first.c_str(),
                    seen.second > 1 ? (" and " + std::to_string(seen.second - 1) + " more").c_str() : "",
                    key.second.c_str());
    }

    std::vector<std::string> order;
    for (Transport* t : chosen) order.emplace_back(t->name());
    const bool have_liteipc = std::find(order.begin(), order.end(), kLiteipc) != order.end();
    print_tables(results, opts, have_liteipc, order);
    if (have_liteipc) {
        print_liteipc_summary(results, opts, order);
    } else {
        std::printf("\n(no \"liteipc\" transport registered: liteipc targets not evaluated)\n");
    }

    if (!write_csv(results, opts.csv, have_liteipc)) {
        std::fprintf(stderr, "ipc_bench: cannot write %s\n", opts.csv.c_str());
        return 1;
    }
    std::printf("\nresults: %s (%.1f s)\n", opts.csv.c_str(),
                std::chrono::duration<double>(Clock::now() - started).count());
    if (g_interrupted) return 130;
    const bool any_failed = std::any_of(results.all().begin(), results.all().end(),
                                        [](const JobResult& r) { return r.status == JobResult::Status::failed; });
    return any_failed ? 1 : 0;
}
