// ipc_bench's results: the rounds of a job as one figure, the tables with ratios against the
// peers, the targets liteipc is held to, and the CSV.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "job.h"
#include "options.h"

namespace liteipc::bench {

// One job's rounds as one result: the median of each figure over the rounds (a failed round
// fails the job). Rounds of all transports interleave, so a load that changes within the run
// weighs on each transport alike instead of on whichever ran during a busy second.
JobResult combine_rounds(std::vector<JobResult> rounds);

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


// One table per regime and size: each transport's figures and its ratios against the peers.
void print_tables(const Results& results, const Options& o, bool have_liteipc, const std::vector<std::string>& order);
// liteipc against its targets (docs/BENCHMARKS.md), when a "liteipc" transport ran.
void print_liteipc_summary(const Results& results, const Options& o, const std::vector<std::string>& order);
// The bench gate's guards (ipc_bench --gate): prints them; returns how many were crossed or not measured.
int print_gate(const Results& results);
bool write_csv(const Results& results, const std::string& path, bool have_liteipc);

}  // namespace liteipc::bench
