// ipc_bench: round-trip time and one-way throughput of every registered transport, in one run.
//
// For each regime (busy, blocking), payload size and transport, one job: the harness forks a
// server and a client process (pinned to different CPUs when it can), the client measures
// round trips then a one-way stream and sends its figures back through a pipe. Tables and
// ratios come at the end, all from this one run: absolute times move between runs on shared
// machines, ratios measured together do not: on these shared 2-core VMs the same round trip can move 5x between runs.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "job.h"
#include "options.h"
#include "report.h"
#include "transport.h"

int main(int argc, char** argv) {
    using namespace liteipc::bench;
    using Clock = std::chrono::steady_clock;
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
    if (have_liteipc && !opts.gate) {
        print_liteipc_summary(results, opts, order);
    } else if (!have_liteipc) {
        std::printf("\n(no \"liteipc\" transport registered: liteipc targets not evaluated)\n");
    }

    if (!write_csv(results, opts.csv, have_liteipc)) {
        std::fprintf(stderr, "ipc_bench: cannot write %s\n", opts.csv.c_str());
        return 1;
    }
    std::printf("\nresults: %s (%.1f s)\n", opts.csv.c_str(),
                std::chrono::duration<double>(Clock::now() - started).count());
    if (g_interrupted) return 130;
    if (opts.gate && print_gate(results) != 0) return 3;
    const bool any_failed = std::any_of(results.all().begin(), results.all().end(),
                                        [](const JobResult& r) { return r.status == JobResult::Status::failed; });
    return any_failed ? 1 : 0;
}
