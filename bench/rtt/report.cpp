#include "report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <span>

namespace liteipc::bench {

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


namespace {


std::string_view floor_of(Regime r) { return r == Regime::busy ? kShmSpin : kShmFutex; }
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

std::string_view copying_floor_of(Regime r) { return r == Regime::busy ? kShmCopySpin : kShmCopyFutex; }

std::vector<std::string_view> reference_columns(Regime regime, bool have_liteipc) {
    std::vector<std::string_view> cols{floor_of(regime), copying_floor_of(regime), kUnixSeqpacket, kIceoryx};
    if (have_liteipc) cols.push_back(kLiteipc);
    return cols;
}

// The targets liteipc is held to (docs/BENCHMARKS.md), checked when a "liteipc" transport ran.
struct Target {
    const char* label;
    Regime regime;
    std::size_t payload;
    bool throughput;         // false: median RTT, lower is better; true: msg/s, higher is better
    std::string_view peer;   // compared with the peer's figure in the same regime and size
    double bound;            // RTT: liteipc <= bound x peer; throughput: liteipc >= bound x peer
};

constexpr std::size_t k64K = 64u << 10, k1M = 1u << 20;

const Target kTargets[] = {
    {"busy 64 B RTT       <= 1.2x shm-spin", Regime::busy, 64, false, kShmSpin, 1.2},
    {"busy 64 B RTT       <= 0.3x iceoryx (busy)", Regime::busy, 64, false, kIceoryx, 0.3},
    {"blocking 64 B RTT   <= 1.0x shm-futex", Regime::blocking, 64, false, kShmFutex, 1.0},
    {"blocking 64 B RTT   <= 0.8x unix-seqpacket", Regime::blocking, 64, false, kUnixSeqpacket, 0.8},
    {"busy 64 KiB RTT     <= 1.15x shm-spin", Regime::busy, k64K, false, kShmSpin, 1.15},
    {"blocking 64 KiB RTT <= 1.15x shm-futex", Regime::blocking, k64K, false, kShmFutex, 1.15},
    {"busy 64 KiB RTT     <= 0.7x unix-seqpacket", Regime::busy, k64K, false, kUnixSeqpacket, 0.7},
    {"blocking 64 KiB RTT <= 0.7x unix-seqpacket", Regime::blocking, k64K, false, kUnixSeqpacket, 0.7},
    {"busy 1 MiB RTT      <= 1.15x shm-spin", Regime::busy, k1M, false, kShmSpin, 1.15},
    {"blocking 1 MiB RTT  <= 1.15x shm-futex", Regime::blocking, k1M, false, kShmFutex, 1.15},
    {"busy 1 MiB RTT      <= 0.6x unix-seqpacket", Regime::busy, k1M, false, kUnixSeqpacket, 0.6},
    {"blocking 1 MiB RTT  <= 0.6x unix-seqpacket", Regime::blocking, k1M, false, kUnixSeqpacket, 0.6},
    {"busy 1 MiB RTT      <= 0.7x shm-copy-spin", Regime::busy, k1M, false, kShmCopySpin, 0.7},
    {"blocking 1 MiB RTT  <= 0.7x shm-copy-futex", Regime::blocking, k1M, false, kShmCopyFutex, 0.7},
    {"one-way 64 B msg/s  >= 0.5x shm-spin stream", Regime::busy, 64, true, kShmSpin, 0.5},
};

// The bench gate (ipc_bench --gate, make bench-check): loose enough for a noisy shared host, tight
// enough that a lost zero-copy path or a lost fast path (a syscall or a sleep on every busy call,
// a lost batch, a sender that sleeps a fixed time for pool space) crosses one. At 1 MiB a round trip is four passes over the payload (fill and check
// each way) plus the wake; one copy more each way makes six: measured 1.29-1.33x the in-place
// floor, against 1.01-1.16x without it (docs/BENCHMARKS.md). 1.5x would let that copy through.
const Target kGuards[] = {
    {"busy 1 MiB RTT      <= 1.25x shm-spin", Regime::busy, k1M, false, kShmSpin, 1.25},
    {"blocking 1 MiB RTT  <= 1.25x shm-futex", Regime::blocking, k1M, false, kShmFutex, 1.25},
    {"busy 64 B RTT       <= 6x shm-spin", Regime::busy, 64, false, kShmSpin, 6.0},
    {"blocking 64 B RTT   <= 1.5x shm-futex", Regime::blocking, 64, false, kShmFutex, 1.5},
    {"one-way 64 B msg/s  >= 0.2x shm-spin stream", Regime::busy, 64, true, kShmSpin, 0.2},
    {"one-way 1 MiB msg/s >= 0.25x shm-spin stream", Regime::busy, k1M, true, kShmSpin, 0.25},
};

// Prints each bound with liteipc's figure against its peer's; returns how many were not kept or
// could not be measured (a transport missing or failed).
int check_bounds(const Results& results, std::span<const Target> bounds, const char* kept, const char* crossed) {
    int failures = 0;
    for (const auto& t : bounds) {
        const JobResult* l = results.find(kLiteipc, t.regime, t.payload);
        const JobResult* p = results.find(t.peer, t.regime, t.payload);
        if (l == nullptr || p == nullptr) {
            std::printf("  %-46s  not measured (%s missing)\n", t.label, l == nullptr ? "liteipc" : std::string(t.peer).c_str());
            ++failures;
            continue;
        }
        bool ok;
        if (t.throughput) {
            const double mine = l->msgs_per_s(), theirs = p->msgs_per_s();
            const double ratio = theirs > 0 ? mine / theirs : 0;
            ok = ratio >= t.bound;
            std::printf("  %-46s  %s vs %s msg/s = %.2fx  %s\n", t.label, fmt_rate(mine).c_str(),
                        fmt_rate(theirs).c_str(), ratio, ok ? kept : crossed);
        } else {
            const double mine = l->report.rtt_median_ns / 1e3, theirs = p->report.rtt_median_ns / 1e3;
            const double ratio = mine / theirs;
            ok = ratio <= t.bound;
            std::printf("  %-46s  %.2f vs %.2f us = %.2fx  %s\n", t.label, mine, theirs, ratio, ok ? kept : crossed);
        }
        failures += ok ? 0 : 1;
    }
    return failures;
}

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

std::string csv_escape(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c == '\n' ? ' ' : c;
    }
    return out + "\"";
}

}  // namespace

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
    std::printf("\ntargets (docs/BENCHMARKS.md):\n");
    check_bounds(results, kTargets, "met", "NOT met");
    if (const JobResult* limit = results.find(kAtomic8, Regime::busy, 64)) {
        const JobResult* l = results.find(kLiteipc, Regime::busy, 64);
        std::printf("  physical limit, busy: one 8-byte word each way (atomic8) %.2f us", limit->report.rtt_median_ns / 1e3);
        if (l != nullptr) std::printf("; liteipc 64 B %.2fx it", l->report.rtt_median_ns / limit->report.rtt_median_ns);
        std::printf("\n");
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


int print_gate(const Results& results) {
    std::printf("\nbench gate (guards against a lost zero-copy or fast path):\n");
    const int crossed = check_bounds(results, kGuards, "ok", "CROSSED");
    std::printf("bench gate: %s\n", crossed == 0 ? "passed" : (std::to_string(crossed) + " guard(s) crossed").c_str());
    return crossed;
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

}  // namespace liteipc::bench
