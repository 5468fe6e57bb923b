#include "options.h"

#include <cstdio>
#include <cstdlib>

namespace liteipc::bench::death {
namespace {

void usage(const char* argv0) {
    std::fprintf(stderr,
                 "usage: %s [--kills N] [--warmup N] [--timeout-ms MS] [--settle-ms MS] [--call-timeout-ms MS] [--no-waitpid]\n"
                 "          [--order floor-first|liteipc-first|alternate] [--csv PATH] [--loader PATH] [--log-level LEVEL]\n"
                 "  --kills N       kills measured (default 200), after --warmup N unmeasured ones (default 3)\n"
                 "  --timeout-ms MS how long each kill waits for the notifications and the pending call (default 2000)\n"
                 "  --call-timeout-ms MS  the pending call's own timeout (default 30000; its handler sleeps 30 s)\n"
                 "  --settle-ms MS  wait at the end for late or duplicate notifications (default 300)\n"
                 "  --order O       which sched_process_exit program runs first (the one attached first);\n"
                 "                  floor-first (default), liteipc-first, or alternate: half and half\n"
                 "  --no-waitpid    reap after the notifications instead of timing waitpid\n"
                 "  --csv PATH      per-kill figures (default death-results.csv)\n"
                 "Runs as root: starts its own liteipc-loader on /sys/fs/bpf/liteipc-bench-<pid>.\n",
                 argv0);
}

}  // namespace

std::optional<Options> parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                return nullptr;
            }
            return argv[++i];
        };
        const char* v = nullptr;
        if (a == "--kills" && (v = value())) o.kills = std::atoi(v);
        else if (a == "--warmup" && (v = value())) o.warmup = std::atoi(v);
        else if (a == "--timeout-ms" && (v = value())) o.timeout_ms = std::atoi(v);
        else if (a == "--settle-ms" && (v = value())) o.settle_ms = std::atoi(v);
        else if (a == "--call-timeout-ms" && (v = value())) o.call_timeout_ms = std::atoi(v);
        else if (a == "--csv" && (v = value())) o.csv = v;
        else if (a == "--loader" && (v = value())) o.loader = v;
        else if (a == "--log-level" && (v = value())) o.log_level = v;
        else if (a == "--order" && (v = value())) o.order = v;
        else if (a == "--no-waitpid") o.waitpid = false;
        else if (a == "--help" || a == "-h") {
            usage(argv[0]);
            std::exit(0);
        } else {
            usage(argv[0]);
            return std::nullopt;
        }
    }
    if (o.order != "floor-first" && o.order != "liteipc-first" && o.order != "alternate") {
        usage(argv[0]);
        return std::nullopt;
    }
    if (o.kills <= 0 || o.warmup < 0 || o.timeout_ms <= 0 || o.settle_ms < 0 || o.call_timeout_ms <= 0) {
        usage(argv[0]);
        return std::nullopt;
    }
    return o;
}

}  // namespace liteipc::bench::death
