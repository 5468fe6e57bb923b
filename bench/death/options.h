// death_bench's command line: how many kills, how long each waits, which sched_process_exit
// program runs first, where the per-kill figures go.
#pragma once

#include <optional>
#include <string>

#ifndef LITEIPC_LOADER_PATH
#define LITEIPC_LOADER_PATH "liteipc-loader"
#endif

namespace liteipc::bench::death {

struct Options {
    int kills = 200;
    int warmup = 3;
    int timeout_ms = 2000;
    int settle_ms = 300;
    int call_timeout_ms = 30000;
    bool waitpid = true;
    // floor-first is the honest floor: attached last, liteipc's program would run before it and
    // the floor's record would wait for liteipc's own kernel work.
    std::string order = "floor-first";  // floor-first | liteipc-first | alternate
    std::string csv = "death-results.csv";
    std::string loader = LITEIPC_LOADER_PATH;
    std::string log_level = "warn";
};

// The options, or nothing after printing the usage (--help exits 0 here).
std::optional<Options> parse(int argc, char** argv);

}  // namespace liteipc::bench::death
