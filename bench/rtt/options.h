// ipc_bench's command line: which transports, regimes and sizes, how many round trips, where
// the figures go.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "transport.h"

namespace liteipc::bench {

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
    bool gate = false;  // --gate: the short interleaved run of make bench-check, guards checked
    int job_timeout_s = 120;
    int rounds = 1;  // each job this many times, the transports taking turns round by round
    std::string csv = "bench-results.csv";
};

void usage(FILE* out);
std::string size_label(std::size_t n);  // 64 B, 4 KiB, 1 MiB, ...
// False (after saying why) on a bad command line; `list_only` for --list.
bool parse_options(int argc, char** argv, Options& o, bool& list_only);

}  // namespace liteipc::bench
