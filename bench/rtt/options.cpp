#include "options.h"

#include <algorithm>
#include <optional>

namespace liteipc::bench {

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
        "  --gate              the bench gate (make bench-check): 64 B and 1 MiB, liteipc and the\n"
        "                      floors, 3 interleaved rounds of short jobs; exit 3 if a guard is crossed\n"
        "  --no-pin            do not pin client and server to different CPUs\n"
        "  --timeout S         seconds before a job is killed (default 120)\n"
        "  --rounds N          run every job N times, transports taking turns each round, and\n"
        "                      report the median of the rounds (default 1)\n"
        "  --csv PATH          results file (default bench-results.csv)\n"
        "  --list              print the transports and exit\n");
}

namespace {

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
}  // namespace

std::string size_label(std::size_t n) {
    if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + " MiB";
    if (n >= (1u << 10) && n % (1u << 10) == 0) return std::to_string(n >> 10) + " KiB";
    return std::to_string(n) + " B";
}

bool parse_options(int argc, char** argv, Options& o, bool& list_only) {
    // --quick and --gate first, so explicit flags after or before them still win.
    auto budgets = [&o](std::uint64_t iters, std::uint64_t min_iters, std::uint64_t rtt_mib, std::uint64_t warmup,
                        std::uint64_t stream_max, std::uint64_t stream_mib) {
        o.iters = iters;
        o.min_iters = min_iters;
        o.rtt_bytes = rtt_mib << 20;
        o.warmup_max = warmup;
        o.stream_max = stream_max;
        o.stream_bytes = stream_mib << 20;
        o.job_timeout_s = 30;
    };
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--gate") == 0) {
            o.gate = true;
            o.sizes = {64, 1u << 20};
            o.transports = {"liteipc", "shm-spin", "shm-futex", "shm-copy-spin", "shm-copy-futex"};
            o.rounds = 3;
            budgets(20000, 100, 100, 100, 20000, 64);
        }
        if (std::strcmp(argv[i], "--quick") == 0) {
            o.quick = true;
            budgets(5000, 16, 256, 300, 50000, 256);
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
        if (a == "--quick" || a == "--gate") continue;
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

}  // namespace liteipc::bench
