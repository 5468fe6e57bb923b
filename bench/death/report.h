// death_bench's results: the latency table, the ratios against the floor and the DESIGN targets,
// the loss and duplicate counts, and the per-kill CSV.
#pragma once

#include "cycle.h"
#include "options.h"

namespace liteipc::bench::death {

struct RunSummary {
    const Cycle* cycles;
    int total;     // cycles, warmup included
    int failures;  // cycles that failed before their kill
    bool interrupted;
};

// Prints the results and writes the CSV; the exit status: 0 unless a notification was lost or
// doubled or a pending call did not fail with dead object (a missed latency target is a result).
int report(const Options& opt, const RunSummary& run, const Observations& observations);

}  // namespace liteipc::bench::death
