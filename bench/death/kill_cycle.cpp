#include "kill_cycle.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "owned_pid.h"
#include "service_child.h"

namespace liteipc::bench::death {
namespace {

using namespace std::chrono_literals;
using testing::OwnedPid;

// The child's report pipe, closed when the cycle ends.
struct ReportPipe {
    int read_end = -1, write_end = -1;
    ~ReportPipe() {
        if (read_end >= 0) ::close(read_end);
        if (write_end >= 0) ::close(write_end);
    }
};

// The pending call: made on a thread of its own; the cycle records when and how it returned.
void start_pending_call(Cycle& c, Observations& observations, std::chrono::milliseconds call_timeout) {
    Cycle* cp = &c;
    c.caller = std::thread([cp, &observations, call_timeout] {
        Request request(*cp->connection);
        auto reply = cp->connection->call(1, request, call_timeout);
        cp->pending_ns = now_ns();
        if (!reply) {
            cp->dead_object = reply.error().code == Errc::dead_object;
            if (!cp->dead_object) cp->pending_error = reply.error().describe();
        } else {
            cp->pending_error = "the call returned a reply, status " + std::to_string(reply->status());
        }
        {
            std::lock_guard lock(observations.mutex);
            cp->call_returned = true;
        }
        observations.changed.notify_all();
    });
}

}  // namespace

CycleEnd run_cycle(Run& run, int i, Cycle& c) {
    const Options& opt = run.options;
    ReportPipe report;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        std::perror("pipe2");
        return CycleEnd::stop;
    }
    report.read_end = fds[0];
    report.write_end = fds[1];
    const std::string parent_arg = std::to_string(::getpid());
    const std::string name_arg = "bench.death." + parent_arg + "." + std::to_string(i);
    testing::ProgramStart start;
    start.fds = {{report.write_end, report.write_end}};
    OwnedPid child = testing::spawn_program(
        {run.self_exe, kServiceChildFlag, run.socket, run.pin_root, std::to_string(report.write_end), parent_arg, name_arg},
        start);
    if (!child) {
        std::perror("fork");
        return CycleEnd::stop;
    }
    ::close(std::exchange(report.write_end, -1));
    const pid_t pid = child.pid();
    c.pid = pid;
    // A cycle that fails before its kill kills and reaps its child and joins its caller.
    auto abandon = [&] {
        child.kill_and_wait();
        c.finish_caller();
        return CycleEnd::failed;
    };

    PeerId peer{};
    pollfd pfd{report.read_end, POLLIN, 0};
    if (!(::poll(&pfd, 1, 5000) == 1 && ::read(report.read_end, &peer, sizeof peer) == static_cast<ssize_t>(sizeof peer))) {
        std::fprintf(stderr, "kill %d: child %d did not register its service within 5 s\n", i, pid);
        return abandon();
    }

    ConnectOptions connect_options;
    connect_options.request_pool_bytes = 64 * 1024;
    connect_options.timeout = 5000ms;
    auto connection = Connection::open(run.watcher, name_arg, connect_options);
    if (!connection) {
        std::fprintf(stderr, "kill %d: Connection::open(%s): %s\n", i, name_arg.c_str(), connection.error().describe().c_str());
        return abandon();
    }
    if (!(connection->service() == peer)) {
        std::fprintf(stderr, "kill %d: %s is served by pid %u, not by the child %d\n", i, name_arg.c_str(),
                     connection->service().pid, pid);
        return abandon();
    }
    c.connection.emplace(std::move(*connection));

    {
        std::lock_guard lock(run.observations.mutex);
        run.observations.by_pid[static_cast<uint32_t>(pid)] = &c;
    }
    if (!run.floor.watch(pid))
        std::fprintf(stderr, "kill %d: adding %d to the floor map failed: %s\n", i, pid, std::strerror(errno));
    Cycle* cp = &c;
    Observations& observations = run.observations;
    auto sub = run.watcher.on_death(peer, [cp, &observations](const DeathNotice& n) {
        uint64_t t = now_ns();
        if (cp->callback_count.fetch_add(1) == 0) {
            cp->callback_ns = t;
            cp->callback_kernel_ns = n.timestamp_ns;
            cp->callback_status = n.exit_status;
        }
        std::lock_guard lock(observations.mutex);
        observations.changed.notify_all();
    });
    if (!sub) {
        std::fprintf(stderr, "kill %d: on_death: %s\n", i, sub.error().describe().c_str());
        return abandon();
    }
    run.subscriptions.push_back(std::move(*sub));

    // In flight once the handler has reported.
    start_pending_call(c, run.observations, std::chrono::milliseconds(opt.call_timeout_ms));
    char in_flight = 0;
    pollfd ifd{report.read_end, POLLIN, 0};
    if (!(::poll(&ifd, 1, 5000) == 1 && ::read(report.read_end, &in_flight, 1) == 1 && in_flight == 'c')) {
        std::fprintf(stderr, "kill %d: the call to %s was not in flight within 5 s%s\n", i, name_arg.c_str(),
                     c.call_returned.load() ? (" (it returned: " + c.pending_error + ")").c_str() : "");
        return abandon();
    }
    c.inflight_ns = now_ns();

    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));

    c.started = true;
    c.kill_ns = now_ns();
    child.signal(SIGKILL);

    bool reaped = false;
    if (opt.waitpid && pidfd >= 0) {
        pollfd wfd{pidfd, POLLIN, 0};
        if (::poll(&wfd, 1, opt.timeout_ms) == 1) {
            const int status = child.wait();
            if (status != -1) {
                c.wait_ns = now_ns();
                c.wait_status = status;
                reaped = true;
            }
        }
    }
    if (pidfd >= 0) ::close(pidfd);
    {
        std::unique_lock lock(run.observations.mutex);
        bool all = run.observations.changed.wait_until(
            lock, std::chrono::steady_clock::now() + std::chrono::milliseconds(opt.timeout_ms), [&] {
                return c.floor_count.load() > 0 && c.callback_count.load() > 0 && c.call_returned.load();
            });
        if (!all)
            std::fprintf(stderr, "kill %d (pid %d): after %d ms: floor %s, liteipc %s, pending call %s\n", i, pid,
                         opt.timeout_ms, c.floor_count.load() ? "seen" : "MISSING",
                         c.callback_count.load() ? "seen" : "MISSING", c.call_returned.load() ? "returned" : "STILL PENDING");
    }
    if (!reaped) c.wait_status = child.wait_or_kill(2s);
    if (c.call_returned.load()) {
        c.finish_caller();
        if (!c.dead_object)
            std::fprintf(stderr, "kill %d (pid %d): the pending call did not fail with dead object: %s\n", i, pid,
                         c.pending_error.c_str());
    }
    return CycleEnd::killed;
}

}  // namespace liteipc::bench::death
