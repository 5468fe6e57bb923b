#include "report.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace liteipc::bench::death {
namespace {

struct Stats {
    size_t n = 0;
    double median = 0, p90 = 0, p99 = 0, max = 0;
};

Stats stats_of(std::vector<double> v) {
    Stats s;
    s.n = v.size();
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    auto rank = [&](double q) {
        size_t i = static_cast<size_t>(q * static_cast<double>(v.size()) + 0.999999);  // nearest rank
        if (i == 0) i = 1;
        return v[std::min(i, v.size()) - 1];
    };
    s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    s.p90 = rank(0.90);
    s.p99 = rank(0.99);
    s.max = v.back();
    return s;
}

void print_row(const char* name, const Stats& s) {
    if (s.n == 0) {
        std::printf("  %-36s %5zu %10s %10s %10s %10s\n", name, s.n, "-", "-", "-", "-");
        return;
    }
    std::printf("  %-36s %5zu %10.1f %10.1f %10.1f %10.1f\n", name, s.n, s.median, s.p90, s.p99, s.max);
}

}  // namespace

int report(const Options& opt, const RunSummary& run, const Observations& observations) {
    std::vector<double> floor_us, cb_us, wait_us, floor_k_us, cb_k_us, cb_minus_floor;
    std::vector<double> floor_by_first[2], cb_by_first[2];  // [0]: the floor's program ran first
    std::vector<double> liteipc_prog_us;  // liteipc first: from its stamp to the floor's stamp
    long kills_all = 0, floor_seen = 0, cb_seen = 0, floor_dups = 0, cb_dups = 0, status_mismatch = 0;
    long kills_measured = 0, floor_seen_m = 0, cb_seen_m = 0;
    std::vector<double> pending_us, pending_minus_cb;
    long pending_dead_all = 0, pending_dead_m = 0;
    for (int i = 0; i < run.total; ++i) {
        const Cycle& c = run.cycles[i];
        if (!c.started) continue;
        ++kills_all;
        int fc = c.floor_count.load(), cc = c.callback_count.load();
        floor_seen += fc > 0;
        cb_seen += cc > 0;
        floor_dups += fc > 1 ? fc - 1 : 0;
        cb_dups += cc > 1 ? cc - 1 : 0;
        if (cc > 0 && c.callback_status.load() != c.wait_status) ++status_mismatch;
        pending_dead_all += c.dead_object ? 1 : 0;
        if (!c.measured) continue;
        ++kills_measured;
        if (c.dead_object) {
            ++pending_dead_m;
            pending_us.push_back(us(c.pending_ns, c.kill_ns));
            if (cc > 0)
                pending_minus_cb.push_back(
                    static_cast<double>(static_cast<int64_t>(c.pending_ns - c.callback_ns)) / 1000.0);
        }
        floor_seen_m += fc > 0;
        cb_seen_m += cc > 0;
        if (fc > 0) {
            floor_us.push_back(us(c.floor_ns, c.kill_ns));
            floor_k_us.push_back(us(c.floor_kernel_ns, c.kill_ns));
        }
        if (cc > 0) {
            cb_us.push_back(us(c.callback_ns, c.kill_ns));
            cb_k_us.push_back(us(c.callback_kernel_ns, c.kill_ns));
        }
        if (fc > 0 && cc > 0) {
            int g = c.floor_kernel_ns.load() <= c.callback_kernel_ns.load() ? 0 : 1;
            if (g == 1) liteipc_prog_us.push_back(us(c.floor_kernel_ns, c.callback_kernel_ns));
            floor_by_first[g].push_back(us(c.floor_ns, c.kill_ns));
            cb_by_first[g].push_back(us(c.callback_ns, c.kill_ns));
        }
        if (fc > 0 && cc > 0)
            cb_minus_floor.push_back(static_cast<double>(static_cast<int64_t>(c.callback_ns - c.floor_ns)) / 1000.0);
        if (c.wait_ns) wait_us.push_back(us(c.wait_ns, c.kill_ns));
    }

    Stats sf = stats_of(floor_us), sc = stats_of(cb_us), sw = stats_of(wait_us);
    Stats sfk = stats_of(floor_k_us), sck = stats_of(cb_k_us), sd = stats_of(cb_minus_floor);

    std::printf("\nSIGKILL -> observer latency, microseconds (CLOCK_MONOTONIC), %ld kills\n", kills_measured);
    std::printf("  %-36s %5s %10s %10s %10s %10s\n", "observer", "n", "median", "p90", "p99", "max");
    print_row("raw kernel floor (own ringbuf)", sf);
    print_row("liteipc on_death callback", sc);
    Stats sp = stats_of(pending_us);
    print_row("pending call fails (dead object)", sp);
    print_row("waitpid in the parent", sw);
    std::printf("  in the kernel (bpf_ktime_get_ns at sched_process_exit):\n");
    print_row("  floor program ran", sfk);
    print_row("  liteipc program ran", sck);
    std::printf("  per kill, callback minus floor:\n");
    print_row("  liteipc - floor", sd);
    print_row("  pending call - callback", stats_of(pending_minus_cb));

    std::printf("  by which sched_process_exit program ran first (kernel timestamps; the floor is honest only\n"
                "  when it runs first, else it waits for liteipc's program):\n");
    for (int g = 0; g < 2; ++g) {
        Stats f = stats_of(floor_by_first[g]), l = stats_of(cb_by_first[g]);
        if (f.n == 0) continue;
        std::printf("    %-14s %5zu kills: floor median %.1f, liteipc median %.1f, ratio %.2fx\n",
                    g == 0 ? "floor first" : "liteipc first", f.n, f.median, l.median,
                    f.median > 0 ? l.median / f.median : 0.0);
    }

    if (!liteipc_prog_us.empty())
        print_row("  liteipc program run time (estimate)", stats_of(liteipc_prog_us));

    // The target is judged on the kills where the floor's program ran first (all of them with
    // the default order): only there is the floor free of liteipc's own kernel work.
    Stats ff = stats_of(floor_by_first[0]), lf = stats_of(cb_by_first[0]);
    double ratio_median = ff.n && ff.median > 0 ? lf.median / ff.median : 0;
    double ratio_p99 = ff.n && ff.p99 > 0 ? lf.p99 / ff.p99 : 0;
    std::printf("\nratio liteipc/floor (%zu kills, floor first): median %.2fx, p99 %.2fx\n", ff.n, ratio_median,
                ratio_p99);
    bool met = ff.n > 0 && ratio_median <= 2.0;
    if (ff.n == 0)
        std::printf("DESIGN target \"callback median within 2x of the floor\": not judged (no kill ran the floor first)\n");
    else
        std::printf("DESIGN target \"callback median within 2x of the floor\": %s (%.2fx)\n", met ? "met" : "NOT met",
                    ratio_median);


    // Pending calls: judged on every measured kill (the absolute figure is what the target names).
    std::printf("ratio pending call/floor (%zu kills, all orders): median %.2fx, p99 %.2fx\n", sp.n,
                sp.n && sf.median > 0 ? sp.median / sf.median : 0.0, sp.n && sf.p99 > 0 ? sp.p99 / sf.p99 : 0.0);
    if (sp.n == 0)
        std::printf("DESIGN target \"pending calls fail within 1 ms at p99\": not judged (no call failed with dead object)\n");
    else
        std::printf("DESIGN target \"pending calls fail within 1 ms at p99\": %s (p99 %.1f us)\n",
                    sp.p99 <= 1000.0 ? "met" : "NOT met", sp.p99);

    std::printf("\nnotifications (measured kills): liteipc %ld/%ld, floor %ld/%ld\n", cb_seen_m, kills_measured,
                floor_seen_m, kills_measured);
    std::printf("notifications (all %ld kills, warmup included, after a %d ms settle): liteipc %ld received, "
                "%ld lost, %ld duplicates; floor %ld received, %ld lost, %ld duplicates, %d strays\n",
                kills_all, opt.settle_ms, cb_seen, kills_all - cb_seen, cb_dups, floor_seen, kills_all - floor_seen,
                floor_dups, observations.floor_strays.load());
    std::printf("pending calls: %ld/%ld measured kills failed with dead object (%ld/%ld with warmup); "
                "any other outcome is a failure\n",
                pending_dead_m, kills_measured, pending_dead_all, kills_all);
    if (status_mismatch) std::printf("exit status in the death notice differed from waitpid's in %ld kills\n", status_mismatch);
    if (run.failures) std::printf("%d cycles failed before the kill (see stderr)\n", run.failures);
    if (run.interrupted) std::printf("interrupted: results cover the kills made so far\n");
    bool clean = cb_seen == kills_all && floor_seen == kills_all && cb_dups == 0 && floor_dups == 0 &&
                 status_mismatch == 0 && run.failures == 0;
    std::printf("no loss, no duplicates: %s\n", clean ? "yes" : "NO");
    bool pending_clean = pending_dead_all == kills_all && run.failures == 0;
    std::printf("every pending call failed with dead object: %s\n", pending_clean ? "yes" : "NO");

    if (FILE* f = std::fopen(opt.csv.c_str(), "w")) {
        std::fprintf(f, "kill,pid,warmup,floor_us,liteipc_us,waitpid_us,floor_kernel_us,liteipc_kernel_us,"
                        "floor_count,liteipc_count,wait_status,notice_status,first,pending_us,pending_outcome\n");
        for (int i = 0; i < run.total; ++i) {
            const Cycle& c = run.cycles[i];
            if (!c.started) continue;
            auto cell = [&](bool have, double v) {
                if (have) std::fprintf(f, "%.3f,", v);
                else std::fputs(",", f);
            };
            std::fprintf(f, "%d,%d,%d,", i - opt.warmup, c.pid, c.measured ? 0 : 1);
            bool hf = c.floor_count.load() > 0, hc = c.callback_count.load() > 0;
            cell(hf, hf ? us(c.floor_ns, c.kill_ns) : 0);
            cell(hc, hc ? us(c.callback_ns, c.kill_ns) : 0);
            cell(c.wait_ns != 0, c.wait_ns ? us(c.wait_ns, c.kill_ns) : 0);
            cell(hf, hf ? us(c.floor_kernel_ns, c.kill_ns) : 0);
            cell(hc, hc ? us(c.callback_kernel_ns, c.kill_ns) : 0);
            const char* first = !(hf && hc) ? "" : c.floor_kernel_ns.load() <= c.callback_kernel_ns.load() ? "floor"
                                                                                                          : "liteipc";
            std::fprintf(f, "%d,%d,%d,%d,%s,", c.floor_count.load(), c.callback_count.load(), c.wait_status,
                         c.callback_status.load(), first);
            bool hp = c.call_returned.load();
            cell(hp, hp ? us(c.pending_ns, c.kill_ns) : 0);
            std::string outcome = !hp ? "no return" : c.dead_object ? "dead object" : c.pending_error;
            for (char& ch : outcome)
                if (ch == ',' || ch == '"' || ch == '\n') ch = ' ';
            std::fprintf(f, "%s\n", outcome.c_str());
        }
        std::fclose(f);
        std::printf("per-kill results: %s\n", opt.csv.c_str());
    } else {
        std::fprintf(stderr, "cannot write %s: %s\n", opt.csv.c_str(), std::strerror(errno));
    }

    // Missing a latency target is a result; lost or doubled notifications, or a pending call that
    // did not fail with dead object, are a failure.
    return clean && pending_clean ? 0 : 1;
}

}  // namespace liteipc::bench::death
