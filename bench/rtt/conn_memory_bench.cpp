// conn_memory_bench: what an idle connection costs the service, at 1, 1,000 and 10,000 connections.
//
// A private liteipc-loader (private_loader.h), a service process (one worker, the default spin)
// and holder processes as the clients (up to 4,000 connections each). The service reports its resident memory
// (VmRSS: private pages and the shared ones it touched; private: the pages only it maps), the
// 2 MiB pages it maps and its open fds, first with no connection, then each time the count of open connections reaches the
// next step; the table divides the growth by the connections. The clients' growth (summed over
// the holders, each from just before its first connection) is printed beside it. Nobody calls: this is what a connection costs while it waits.
//
// Pools: a first run with the default pools (4 MiB each way: hugetlb when pages are reserved)
// holds one connection, to show what a default connection takes from the hugepage reserve. The
// counted runs use pools below one huge page (--pool-bytes, default 1 MiB, regular shared memory),
// so that 10,000 connections do not drain the machine's reserve that other processes rely on.
//
//   conn_memory_bench [--counts 1,1000,10000] [--pool-bytes N]      (root: it starts a loader)
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "liteipc/context.h"
#include "liteipc/ipc.h"
#include "../../tests/support/owned_pid.h"
#include "private_loader.h"

using namespace liteipc;
using namespace liteipc::bench;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct Footprint {
    double rss_kib = 0;     // VmRSS
    double private_kib = 0; // Private_Clean + Private_Dirty: pages no other process maps
    double hugepages = 0;   // 2 MiB pages mapped
    double fds = 0;
};
static_assert(std::is_trivially_copyable_v<Footprint>);

Footprint footprint_of_self() {
    Footprint f;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.starts_with("VmRSS:")) f.rss_kib = std::strtod(line.c_str() + 6, nullptr);
    }
    std::ifstream rollup("/proc/self/smaps_rollup");
    for (std::string line; std::getline(rollup, line);) {
        if (line.starts_with("Private_Clean:")) f.private_kib += std::strtod(line.c_str() + 14, nullptr);
        if (line.starts_with("Private_Dirty:")) f.private_kib += std::strtod(line.c_str() + 14, nullptr);
    }
    // Huge pages: the size of the hugetlb mappings. A hugetlb pool takes its pages from the
    // machine's reserve when it is mapped, before any is touched, so HugetlbPages (touched pages)
    // says nothing of an idle pool. The service maps both pools of a connection (its reply pool
    // and, read-only, the client's request pool): what it maps is what the connection takes.
    std::ifstream smaps("/proc/self/smaps");
    double size_kib = 0;
    for (std::string line; std::getline(smaps, line);) {
        if (line.starts_with("Size:")) size_kib = std::strtod(line.c_str() + 5, nullptr);
        if (line.starts_with("KernelPageSize:") && std::strtod(line.c_str() + 15, nullptr) == 2048)
            f.hugepages += size_kib / 2048;
    }
    if (DIR* d = opendir("/proc/self/fd")) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') f.fds += 1;
        closedir(d);
        f.fds -= 1;  // the directory's own fd
    }
    return f;
}

ContextOptions context_options(const BenchLoader& loader) {
    ContextOptions o;
    o.socket_path = loader.socket();
    o.pin_root = loader.pin_root();
    o.default_timeout = 30s;
    return o;
}

// The service process: after each count read from `commands`, waits until that many connections
// are open and writes its footprint to `figures`. Count 0 is the baseline; end of input stops it.
[[noreturn]] void serve(const BenchLoader& loader, const std::string& name, std::uint64_t pool_bytes, int commands,
                        int figures) {
    auto context = Context::open(context_options(loader));
    if (!context) {
        std::fprintf(stderr, "conn_memory_bench: service: %s\n", context.error().describe().c_str());
        std::_Exit(1);
    }
    ServiceOptions options;
    options.name = name;
    options.workers = 1;
    options.reply_pool_bytes = pool_bytes;
    auto service = Service::start(*context, options, [](Call&) { return 0; });
    if (!service) {
        std::fprintf(stderr, "conn_memory_bench: service: %s\n", service.error().describe().c_str());
        std::_Exit(1);
    }
    std::uint64_t count = 0;
    while (read(commands, &count, sizeof count) == sizeof count) {
        const auto deadline = Clock::now() + 120s;
        while (service->connection_count() < count && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
        std::this_thread::sleep_for(200ms);  // the last accepts settle (death subscriptions, epoll)
        const Footprint f = footprint_of_self();
        if (service->connection_count() < count || write(figures, &f, sizeof f) != sizeof f) std::_Exit(1);
    }
    std::_Exit(0);
}

struct Step {
    std::uint64_t connections;
    Footprint service, client;  // client: the growth summed over the holders
};

// Connections a holder process opens: each takes two fds on the client side, and a process may
// not raise its fd limit (20,000 here) without CAP_SYS_RESOURCE.
constexpr std::uint64_t kPerHolder = 4000;

struct Holder {
    testing::OwnedPid process;  // killed and reaped should the run end before it lets it go
    int release = -1;  // closing it lets the holder go
};

// A process that opens `n` connections to `name`, writes the growth of its footprint to `figures`
// and holds them until `release` reaches end of file.
std::optional<Holder> spawn_holder(const BenchLoader& loader, const std::string& name, std::uint64_t pool_bytes,
                                   std::uint64_t n, int figures) {
    int release[2];
    if (pipe(release) != 0) return std::nullopt;
    testing::OwnedPid process = testing::fork_child([&]() -> int {
        close(release[1]);
        auto context = Context::open(context_options(loader));
        if (!context) std::_Exit(1);
        const Footprint before = footprint_of_self();
        std::vector<Connection> connections;
        connections.reserve(n);
        ConnectOptions options;
        options.request_pool_bytes = pool_bytes;
        while (connections.size() < n) {
            auto c = Connection::open(*context, name, options);
            if (!c && c.error().code == Errc::not_found) {
                std::this_thread::sleep_for(1ms);  // the service is still registering
                continue;
            }
            if (!c) {
                std::fprintf(stderr, "conn_memory_bench: connection %zu of a holder: %s\n", connections.size() + 1,
                             c.error().describe().c_str());
                std::_Exit(1);
            }
            connections.push_back(std::move(*c));
        }
        const Footprint after = footprint_of_self();
        const Footprint growth{after.rss_kib - before.rss_kib, after.private_kib - before.private_kib, 0,
                               after.fds - before.fds};
        if (write(figures, &growth, sizeof growth) != sizeof growth) std::_Exit(1);
        char byte;
        while (read(release[0], &byte, 1) > 0) {
        }
        std::_Exit(0);
    });
    close(release[0]);
    if (!process) {
        close(release[1]);
        return std::nullopt;
    }
    return Holder{std::move(process), release[1]};
}

// One service with `pool_bytes` pools, and holders connecting to it up to each count.
std::optional<std::vector<Step>> run(const BenchLoader& loader, std::uint64_t pool_bytes,
                                     const std::vector<std::uint64_t>& counts) {
    static int runs = 0;
    const std::string name = "conn_memory_bench." + std::to_string(getpid()) + "." + std::to_string(++runs);
    int to_service[2], from_service[2], from_holders[2];
    if (pipe(to_service) != 0 || pipe(from_service) != 0 || pipe(from_holders) != 0) return std::nullopt;
    testing::OwnedPid service = testing::fork_child([&]() -> int {
        close(to_service[1]);
        close(from_service[0]);
        serve(loader, name, pool_bytes, to_service[0], from_service[1]);
    });
    close(to_service[0]);
    close(from_service[1]);
    auto ask = [&](std::uint64_t count, Footprint& out) {
        return write(to_service[1], &count, sizeof count) == sizeof count &&
               read(from_service[0], &out, sizeof out) == sizeof out;
    };
    std::vector<Step> steps;
    std::vector<Holder> holders;
    Step baseline{0, {}, {}};
    bool ok = service && ask(0, baseline.service);
    if (ok) steps.push_back(baseline);
    std::uint64_t held = 0;
    Footprint clients;
    for (std::uint64_t count : counts) {
        while (ok && held < count) {
            const std::uint64_t n = std::min(kPerHolder, count - held);
            auto holder = spawn_holder(loader, name, pool_bytes, n, from_holders[1]);
            Footprint growth;
            ok = holder && read(from_holders[0], &growth, sizeof growth) == sizeof growth;
            if (holder) holders.push_back(std::move(*holder));
            clients.rss_kib += growth.rss_kib;
            clients.private_kib += growth.private_kib;
            clients.fds += growth.fds;
            held += n;
        }
        Step step{count, {}, clients};
        ok = ok && ask(count, step.service);
        if (ok) steps.push_back(step);
    }
    for (const Holder& h : holders) close(h.release);
    for (Holder& h : holders) h.process.wait();
    close(to_service[1]);
    close(from_service[0]);
    close(from_holders[0]);
    close(from_holders[1]);
    service.wait();
    if (!ok) return std::nullopt;
    return steps;
}

// Targets for an idle connection on the service side at the largest count (docs/BENCHMARKS.md):
// its private memory, its fds and the huge pages its default pools take.
constexpr double kTargetPrivateKib = 16, kTargetFds = 1, kTargetHugepages = 4;

void print(const char* title, const std::vector<Step>& steps) {
    std::printf("\n%s\n", title);
    std::printf("  %-12s %9s %9s %10s %6s   %9s %9s %6s\n", "", "service", "", "", "", "clients", "", "");
    std::printf("  %-12s %9s %9s %10s %6s   %9s %9s %6s\n", "connections", "RSS KiB", "private", "hugepages",
                "fds", "RSS KiB", "private", "fds");
    const Step& base = steps.front();
    for (std::size_t i = 1; i < steps.size(); ++i) {
        const Step& s = steps[i];
        const double n = static_cast<double>(s.connections);
        std::printf("  %-12llu %9.1f %9.1f %10.2f %6.2f   %9.1f %9.1f %6.2f\n",
                    static_cast<unsigned long long>(s.connections), (s.service.rss_kib - base.service.rss_kib) / n,
                    (s.service.private_kib - base.service.private_kib) / n,
                    (s.service.hugepages - base.service.hugepages) / n, (s.service.fds - base.service.fds) / n,
                    s.client.rss_kib / n, s.client.private_kib / n, s.client.fds / n);
    }
    std::printf("  (growth over no connection, per connection; RSS counts the ctrl region both sides map)\n");
}

// The service's figures per connection at the last step against the targets.
bool check_targets(const std::vector<Step>& default_pools, const std::vector<Step>& counted) {
    const Step &base = counted.front(), &last = counted.back();
    const double n = static_cast<double>(last.connections);
    const double private_kib = (last.service.private_kib - base.service.private_kib) / n;
    const double fds = (last.service.fds - base.service.fds) / n;
    const double hugepages = default_pools.back().service.hugepages - default_pools.front().service.hugepages;
    std::printf("\ntargets (service, per idle connection):\n");
    std::printf("  private memory at %llu  <= %.0f KiB   %.1f KiB  %s\n", static_cast<unsigned long long>(last.connections),
                kTargetPrivateKib, private_kib, private_kib <= kTargetPrivateKib ? "met" : "NOT met");
    std::printf("  fds at %llu             <= %.0f       %.2f      %s\n", static_cast<unsigned long long>(last.connections),
                kTargetFds, fds, fds <= kTargetFds ? "met" : "NOT met");
    std::printf("  hugepages, default pools <= %.0f       %.0f         %s\n", kTargetHugepages, hugepages,
                hugepages <= kTargetHugepages ? "met" : "NOT met");
    return private_kib <= kTargetPrivateKib && fds <= kTargetFds && hugepages <= kTargetHugepages;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::uint64_t> counts{1, 1000, 10000};
    std::uint64_t pool_bytes = 1u << 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--pool-bytes") == 0) pool_bytes = std::strtoull(argv[i + 1], nullptr, 10);
        if (std::strcmp(argv[i], "--counts") == 0) {
            counts.clear();
            for (char* p = argv[i + 1]; *p != '\0';) {
                counts.push_back(std::strtoull(p, &p, 10));
                if (*p == ',') ++p;
            }
        }
    }
    if (geteuid() != 0) {
        std::fprintf(stderr, "conn_memory_bench: needs root (it starts its own liteipc-loader)\n");
        return 2;
    }
    BenchLoader loader;
    if (auto started = loader.start("mem-" + std::to_string(getpid())); !started) {
        std::fprintf(stderr, "conn_memory_bench: %s\n", started.error().describe().c_str());
        return 1;
    }
    std::printf("memory per idle connection (service: 1 worker; clients: holder processes)\n");
    const auto hugetlb = run(loader, ServiceOptions{}.reply_pool_bytes, {1});
    if (!hugetlb) return 1;
    print("default pools (4 MiB each way), 1 connection:", *hugetlb);
    const auto counted = run(loader, pool_bytes, counts);
    if (!counted) return 1;
    print(("pools of " + std::to_string(pool_bytes >> 10) + " KiB each way (regular shared memory):").c_str(), *counted);
    return check_targets(*hugetlb, *counted) ? 0 : 3;
}
