// death_bench: how long after kill(pid, SIGKILL) does a subscriber learn of the death, and how long
// does a call pending on the dead service take to fail?
//
// Each child is a liteipc service (one worker) whose handler for code 1 reports over a pipe and
// then sleeps until it is killed. The benchmark connects to it, subscribes to its death and makes
// that call from a thread of its own; once the handler has reported, the call is in flight and
// the child is killed. One run, one private liteipc-loader, the same kills seen by four observers:
//   floor    a tiny sched_process_exit program of this benchmark's own (death_floor.bpf.c) pushes
//            one record into its own ringbuf; a thread blocked in ring_buffer__poll consumes it.
//            This is the least any ringbuf-based death notification can cost here.
//   liteipc  Context::on_death's callback, on the benchmark's inbox thread.
//   pending  the pending Connection::call returning Errc::dead_object, on the calling thread.
//   waitpid  the parent's classic way (pidfd readable, then waitpid returns), for context.
// Every latency is CLOCK_MONOTONIC at the observation minus CLOCK_MONOTONIC just before the
// kill syscall. The ratio liteipc/floor is what counts: absolute times move between runs.
//
// The files: options (the command line), service_child (the killed side), floor (the raw kernel
// floor), kill_cycle (one kill and its observers), report (the table, the targets, the CSV).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "floor.h"
#include "kill_cycle.h"
#include "options.h"
#include "private_loader.h"
#include "report.h"
#include "service_child.h"

namespace liteipc::bench::death {
namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int) { g_interrupted = true; }

void catch_interruptions() {
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGHUP, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
}

std::string self_exe() {
    char path[4096];
    ssize_t len = ::readlink("/proc/self/exe", path, sizeof path - 1);
    if (len <= 0) return {};
    return std::string(path, static_cast<size_t>(len));
}

int run(const Options& opt) {
    if (::geteuid() != 0) {
        std::fprintf(stderr, "death_bench needs root: it loads BPF programs and runs its own liteipc-loader\n");
        return 2;
    }
    catch_interruptions();
    const std::string exe = self_exe();
    if (exe.empty()) {
        std::perror("readlink /proc/self/exe");
        return 1;
    }

    // The floor first: it needs nothing of liteipc. Its attach order is a parameter, and each kill
    // records which program ran first.
    Observations observations;
    std::unique_ptr<Floor> floor = Floor::load(observations);
    if (!floor) return 1;
    if (opt.order != "liteipc-first" && !floor->attach()) return 1;
    if (!floor->start_consuming()) return 1;

    testing::PrivateLoader loader(opt.loader, "/sys/fs/bpf/liteipc-bench-" + std::to_string(::getpid()),
                                  "/tmp/liteipc-bench-" + std::to_string(::getpid()) + ".sock",
                                  {"--log-level", opt.log_level});
    if (const std::string failure = loader.launch(); !failure.empty()) {
        std::fprintf(stderr, "%s (%s)\n", failure.c_str(), opt.loader.c_str());
        return 1;
    }
    if (opt.order == "liteipc-first" && !floor->attach()) return 1;

    auto watcher = Context::open(loader.options());
    if (!watcher) {
        std::fprintf(stderr, "Context::open(%s): %s\n", loader.socket().c_str(), watcher.error().describe().c_str());
        return 1;
    }

    const int total = opt.warmup + opt.kills;
    std::unique_ptr<Cycle[]> cycles(new Cycle[static_cast<size_t>(total)]);
    Run run{opt, *watcher, *floor, observations, exe, loader.socket(), loader.pin_root(), {}};
    run.subscriptions.reserve(static_cast<size_t>(total));
    int failures = 0;

    std::printf("death_bench: %d kills (+%d warmup), order %s, loader %s, pin root %s\n", opt.kills, opt.warmup,
                opt.order.c_str(), opt.loader.c_str(), loader.pin_root().c_str());
    std::fflush(stdout);

    for (int i = 0; i < total && !g_interrupted; ++i) {
        Cycle& c = cycles[static_cast<size_t>(i)];
        c.measured = i >= opt.warmup;
        if (opt.order == "alternate" && i == opt.warmup + opt.kills / 2 && !floor->attach()) break;
        const CycleEnd end = run_cycle(run, i, c);
        failures += end == CycleEnd::killed ? 0 : 1;
        if (end == CycleEnd::stop) break;
    }

    // Callers still waiting: their calls end at the latest at their own timeout.
    int stragglers = 0;
    for (int i = 0; i < total; ++i) stragglers += cycles[static_cast<size_t>(i)].caller.joinable() ? 1 : 0;
    if (stragglers)
        std::fprintf(stderr, "waiting (at most %d ms) for %d pending calls that had not returned\n",
                     opt.call_timeout_ms, stragglers);
    for (int i = 0; i < total; ++i) {
        Cycle& c = cycles[static_cast<size_t>(i)];
        bool late = c.caller.joinable();
        c.finish_caller();
        if (late && c.started)
            std::fprintf(stderr, "kill %d (pid %d): the pending call returned late: %s\n", i - opt.warmup, c.pid,
                         c.dead_object ? "dead object" : c.pending_error.c_str());
    }

    // Settle: a duplicate or late notification has this long to show up.
    std::this_thread::sleep_for(std::chrono::milliseconds(opt.settle_ms));

    const int status = report(opt, RunSummary{cycles.get(), total, failures, g_interrupted.load()}, observations);
    run.subscriptions.clear();
    return status;
}

}  // namespace
}  // namespace liteipc::bench::death

int main(int argc, char** argv) {
    using namespace liteipc::bench::death;
    if (argc == kServiceChildArgc && std::string(argv[1]) == kServiceChildFlag) service_child_main(argv);
    auto options = parse(argc, argv);
    if (!options) return 2;
    return run(*options);
}
