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
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "death_floor.skel.h"
#include "liteipc/context.h"
#include "liteipc/ipc.h"

#ifndef LITEIPC_LOADER_PATH
#define LITEIPC_LOADER_PATH "liteipc-loader"
#endif

namespace {

using namespace std::chrono_literals;

std::atomic<bool> g_interrupted{false};

uint64_t now_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Mirrors struct floor_record in death_floor.bpf.c.
struct FloorRecord {
    uint32_t tgid;
    uint32_t pad;
    uint64_t timestamp_ns;
};

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

// Waits for `pid` at most `timeout`; SIGKILLs it after that. Returns the wait status.
int reap_bounded(pid_t pid, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) return status;
        std::this_thread::sleep_for(10ms);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return status;
}

// The benchmark's own liteipc-loader: started on a private pin root and socket, stopped (by its
// pid) and unloaded by the destructor. PR_SET_PDEATHSIG stops it should this process die first.
class LoaderProcess {
public:
    explicit LoaderProcess(const Options& o)
        : path_(o.loader),
          log_level_(o.log_level),
          pin_root_("/sys/fs/bpf/liteipc-bench-" + std::to_string(::getpid())),
          socket_("/tmp/liteipc-bench-" + std::to_string(::getpid()) + ".sock") {}
    ~LoaderProcess() {
        stop();
        unload();
    }

    bool start() {
        pid_t parent = ::getpid();
        std::fflush(nullptr);
        pid_ = ::fork();
        if (pid_ < 0) {
            std::perror("fork");
            return false;
        }
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (::getppid() != parent) ::_exit(126);
            ::execl(path_.c_str(), "liteipc-loader", "--foreground", "--pin-root", pin_root_.c_str(), "--socket",
                    socket_.c_str(), "--log-level", log_level_.c_str(), nullptr);
            ::_exit(127);
        }
        started_ = true;
        auto deadline = std::chrono::steady_clock::now() + 20s;
        while (std::chrono::steady_clock::now() < deadline && !g_interrupted) {
            int status;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                std::fprintf(stderr, "liteipc-loader (%s) exited early, status %d\n", path_.c_str(), status);
                pid_ = -1;
                return false;
            }
            if (answers()) return true;
            std::this_thread::sleep_for(20ms);
        }
        std::fprintf(stderr, "liteipc-loader did not answer on %s\n", socket_.c_str());
        return false;
    }

    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        reap_bounded(pid_, 5s);
        pid_ = -1;
    }

    // liteipc-loader --unload --pin-root DIR: removes the pins this run made.
    void unload() {
        if (!started_) return;
        started_ = false;
        std::fflush(nullptr);
        pid_t pid = ::fork();
        if (pid == 0) {
            int null = ::open("/dev/null", O_WRONLY);
            if (null >= 0) ::dup2(null, STDOUT_FILENO);
            ::execl(path_.c_str(), "liteipc-loader", "--unload", "--pin-root", pin_root_.c_str(), nullptr);
            ::_exit(127);
        }
        if (pid > 0) {
            int status = reap_bounded(pid, 10s);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                std::fprintf(stderr, "warning: liteipc-loader --unload --pin-root %s: status %d\n", pin_root_.c_str(),
                             status);
        }
    }

    liteipc::ContextOptions options() const {
        liteipc::ContextOptions o;
        o.socket_path = socket_;
        o.pin_root = pin_root_;
        o.default_timeout = 5000ms;
        return o;
    }
    const std::string& pin_root() const { return pin_root_; }
    const std::string& socket() const { return socket_; }

private:
    bool answers() const {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_.c_str());
        int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        ::close(fd);
        return ok;
    }

    std::string path_, log_level_, pin_root_, socket_;
    pid_t pid_ = -1;
    bool started_ = false;
};

// ---- the child: register, start a service, report the PeerId, wait to be killed ----

// death_bench --child SOCKET PIN_ROOT FD PARENT_PID SERVICE_NAME
// Writes its PeerId to FD once the service is registered, then one byte to FD each time the
// handler starts a call of code 1, which it never answers: it sleeps until the process is killed.
[[noreturn]] void child_main(char** argv) {
    pid_t parent = static_cast<pid_t>(std::atoi(argv[5]));
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    int fd = std::atoi(argv[4]);
    liteipc::ContextOptions options;
    options.socket_path = argv[2];
    options.pin_root = argv[3];
    options.default_timeout = 5000ms;
    auto opened = liteipc::Context::open(options);
    if (!opened) {
        std::fprintf(stderr, "child %d: Context::open: %s\n", ::getpid(), opened.error().describe().c_str());
        ::_exit(2);
    }
    // Kept for the life of the process: it ends only by SIGKILL.
    auto* context = new liteipc::Context(std::move(*opened));
    auto service = liteipc::Service::start(*context, liteipc::ServiceOptions{.name = argv[6], .workers = 1},
                                           [fd](liteipc::Call& call) -> int32_t {
                                               if (call.code() != 1) return 0;
                                               char in_flight = 'c';
                                               if (::write(fd, &in_flight, 1) != 1) ::_exit(5);
                                               std::this_thread::sleep_for(30s);
                                               return 0;
                                           });
    if (!service) {
        std::fprintf(stderr, "child %d: Service::start(%s): %s\n", ::getpid(), argv[6],
                     service.error().describe().c_str());
        ::_exit(4);
    }
    new liteipc::Service(std::move(*service));
    liteipc::PeerId self = context->self();
    if (::write(fd, &self, sizeof self) != static_cast<ssize_t>(sizeof self)) ::_exit(3);
    for (;;) ::pause();
}

// ---- one kill, as the three observers saw it ----

struct Cycle {
    pid_t pid = -1;
    bool measured = false;
    bool started = false;  // the child registered and was killed
    uint64_t kill_ns = 0;
    uint64_t wait_ns = 0;
    int wait_status = 0;
    std::atomic<uint64_t> floor_ns{0};
    std::atomic<uint64_t> floor_kernel_ns{0};
    std::atomic<uint64_t> callback_ns{0};
    std::atomic<uint64_t> callback_kernel_ns{0};
    std::atomic<int> floor_count{0};
    std::atomic<int> callback_count{0};
    std::atomic<int> callback_status{0};
    // The pending call: made by `caller` on `connection`, in flight (the handler reported) at
    // inflight_ns; pending_ns is when it returned. pending_error is written before call_returned.
    std::optional<liteipc::Connection> connection;
    std::thread caller;
    uint64_t inflight_ns = 0;
    std::atomic<uint64_t> pending_ns{0};
    std::atomic<bool> call_returned{false};
    bool dead_object = false;
    std::string pending_error;  // anything but Errc::dead_object
};

struct Shared {
    std::mutex mutex;
    std::condition_variable changed;
    std::unordered_map<uint32_t, Cycle*> by_pid;  // the floor's records name only a pid
    std::atomic<int> floor_strays{0};
};

int on_floor_record(void* ctx, void* data, size_t size) {
    uint64_t t = now_ns();
    auto* shared = static_cast<Shared*>(ctx);
    if (size < sizeof(FloorRecord)) return 0;
    FloorRecord rec;
    std::memcpy(&rec, data, sizeof rec);
    std::lock_guard lock(shared->mutex);
    auto it = shared->by_pid.find(rec.tgid);
    if (it == shared->by_pid.end()) {
        shared->floor_strays++;
        return 0;
    }
    Cycle* c = it->second;
    if (c->floor_count.fetch_add(1) == 0) {
        c->floor_ns = t;
        c->floor_kernel_ns = rec.timestamp_ns;
    }
    shared->changed.notify_all();
    return 0;
}

// ---- statistics ----

struct Stats {
    size_t n = 0;
    double median = 0, p90 = 0, p99 = 0, max = 0;
};

Stats stats_of(std::vector<double> v) {
    Stats s;
    s.n = v.size();
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    auto rank = [&](double q) {
        size_t i = static_cast<size_t>(q * static_cast<double>(v.size()) + 0.999999);  // nearest rank
        if (i == 0) i = 1;
        return v[std::min(i, v.size()) - 1];
    };
    s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    s.p90 = rank(0.90);
    s.p99 = rank(0.99);
    s.max = v.back();
    return s;
}

void print_row(const char* name, const Stats& s) {
    if (s.n == 0) {
        std::printf("  %-36s %5zu %10s %10s %10s %10s\n", name, s.n, "-", "-", "-", "-");
        return;
    }
    std::printf("  %-36s %5zu %10.1f %10.1f %10.1f %10.1f\n", name, s.n, s.median, s.p90, s.p99, s.max);
}

double us(uint64_t later, uint64_t earlier) { return static_cast<double>(later - earlier) / 1000.0; }

void on_signal(int) { g_interrupted = true; }

int run(const Options& opt) {
    if (::geteuid() != 0) {
        std::fprintf(stderr, "death_bench needs root: it loads BPF programs and runs its own liteipc-loader\n");
        return 2;
    }
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGHUP, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    char self_exe[4096];
    ssize_t len = ::readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (len <= 0) {
        std::perror("readlink /proc/self/exe");
        return 1;
    }
    self_exe[len] = '\0';

    // The floor first: it needs nothing of liteipc.
    libbpf_set_print(nullptr);
    std::unique_ptr<death_floor_bpf, void (*)(death_floor_bpf*)> floor(death_floor_bpf::open_and_load(),
                                                                        death_floor_bpf::destroy);
    if (!floor) {
        std::fprintf(stderr, "loading death_floor.bpf.o failed: %s\n", std::strerror(errno));
        return 1;
    }
    // Programs on one tracepoint run in the order they were attached, and the first one's
    // consumer is woken first: the order is a parameter, and each kill records which ran first.
    auto attach_floor = [&]() -> bool {
        if (floor->links.floor_on_exit) {
            bpf_link__destroy(floor->links.floor_on_exit);
            floor->links.floor_on_exit = nullptr;
        }
        if (death_floor_bpf::attach(floor.get()) != 0) {
            std::fprintf(stderr, "attaching death_floor to sched_process_exit failed: %s\n", std::strerror(errno));
            return false;
        }
        return true;
    };
    if (opt.order != "liteipc-first" && !attach_floor()) return 1;
    Shared shared;
    std::unique_ptr<ring_buffer, void (*)(ring_buffer*)> floor_ring(
        ring_buffer__new(bpf_map__fd(floor->maps.floor_events), on_floor_record, &shared, nullptr), ring_buffer__free);
    if (!floor_ring) {
        std::fprintf(stderr, "ring_buffer__new on the floor ringbuf failed: %s\n", std::strerror(errno));
        return 1;
    }
    std::atomic<bool> stop_floor{false};
    std::thread floor_thread([&] {
        while (!stop_floor.load(std::memory_order_relaxed)) {
            int n = ring_buffer__poll(floor_ring.get(), 100);
            if (n < 0 && n != -EINTR) {
                std::fprintf(stderr, "ring_buffer__poll: %s\n", std::strerror(-n));
                break;
            }
        }
    });
    struct JoinFloor {
        std::atomic<bool>& stop;
        std::thread& thread;
        ~JoinFloor() {
            stop = true;
            thread.join();
        }
    } join_floor{stop_floor, floor_thread};

    LoaderProcess loader(opt);
    if (!loader.start()) return 1;
    if (opt.order == "liteipc-first" && !attach_floor()) return 1;

    auto watcher = liteipc::Context::open(loader.options());
    if (!watcher) {
        std::fprintf(stderr, "Context::open(%s): %s\n", loader.socket().c_str(), watcher.error().describe().c_str());
        return 1;
    }

    const int total = opt.warmup + opt.kills;
    std::unique_ptr<Cycle[]> cycles(new Cycle[static_cast<size_t>(total)]);
    std::vector<liteipc::DeathSubscription> subscriptions;  // kept to the end: a duplicate would show
    subscriptions.reserve(static_cast<size_t>(total));
    int failures = 0, timeouts = 0;
    const std::string socket_arg = loader.socket(), pin_arg = loader.pin_root();
    const std::string parent_arg = std::to_string(::getpid());
    // A caller whose call had not returned when its kill's wait ended: joined before the results,
    // which its call's own timeout bounds.
    auto finish_caller = [](Cycle& c) {
        if (c.caller.joinable()) c.caller.join();
        c.connection.reset();
    };

    std::printf("death_bench: %d kills (+%d warmup), order %s, loader %s, pin root %s\n", opt.kills, opt.warmup,
                opt.order.c_str(), opt.loader.c_str(), loader.pin_root().c_str());
    std::fflush(stdout);

    for (int i = 0; i < total && !g_interrupted; ++i) {
        Cycle& c = cycles[static_cast<size_t>(i)];
        c.measured = i >= opt.warmup;
        if (opt.order == "alternate" && i == opt.warmup + opt.kills / 2 && !attach_floor()) break;

        int report[2];
        if (::pipe2(report, O_CLOEXEC) != 0) {
            std::perror("pipe2");
            ++failures;
            break;
        }
        const std::string fd_arg = std::to_string(report[1]);
        const std::string name_arg = "bench.death." + parent_arg + "." + std::to_string(i);
        std::fflush(nullptr);
        pid_t pid = ::fork();
        if (pid < 0) {
            std::perror("fork");
            ::close(report[0]);
            ::close(report[1]);
            ++failures;
            break;
        }
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::fcntl(report[1], F_SETFD, 0);
            ::execl(self_exe, "death_bench", "--child", socket_arg.c_str(), pin_arg.c_str(), fd_arg.c_str(),
                    parent_arg.c_str(), name_arg.c_str(), nullptr);
            ::_exit(127);
        }
        ::close(report[1]);
        c.pid = pid;

        liteipc::PeerId peer{};
        pollfd pfd{report[0], POLLIN, 0};
        bool reported = ::poll(&pfd, 1, 5000) == 1 &&
                        ::read(report[0], &peer, sizeof peer) == static_cast<ssize_t>(sizeof peer);
        // Closes the report pipe, then kills and reaps the child of a cycle that failed before its kill.
        auto abandon = [&](Cycle& cycle) {
            ::close(report[0]);
            ::kill(pid, SIGKILL);
            reap_bounded(pid, 2s);
            finish_caller(cycle);
            ++failures;
        };
        if (!reported) {
            std::fprintf(stderr, "kill %d: child %d did not register its service within 5 s\n", i, pid);
            abandon(c);
            continue;
        }

        liteipc::ConnectOptions connect_options;
        connect_options.request_pool_bytes = 64 * 1024;
        connect_options.timeout = 5000ms;
        auto connection = liteipc::Connection::open(*watcher, name_arg, connect_options);
        if (!connection) {
            std::fprintf(stderr, "kill %d: Connection::open(%s): %s\n", i, name_arg.c_str(),
                         connection.error().describe().c_str());
            abandon(c);
            continue;
        }
        if (!(connection->service() == peer)) {
            std::fprintf(stderr, "kill %d: %s is served by pid %u, not by the child %d\n", i, name_arg.c_str(),
                         connection->service().pid, pid);
            abandon(c);
            continue;
        }
        c.connection.emplace(std::move(*connection));

        {
            std::lock_guard lock(shared.mutex);
            shared.by_pid[static_cast<uint32_t>(pid)] = &c;
        }
        uint32_t key = static_cast<uint32_t>(pid), one = 1;
        if (bpf_map__update_elem(floor->maps.watched, &key, sizeof key, &one, sizeof one, BPF_ANY) != 0) {
            std::fprintf(stderr, "kill %d: adding %d to the floor map failed: %s\n", i, pid, std::strerror(errno));
        }
        Cycle* cp = &c;
        auto sub = watcher->on_death(peer, [cp, &shared](const liteipc::DeathNotice& n) {
            uint64_t t = now_ns();
            if (cp->callback_count.fetch_add(1) == 0) {
                cp->callback_ns = t;
                cp->callback_kernel_ns = n.timestamp_ns;
                cp->callback_status = n.exit_status;
            }
            std::lock_guard lock(shared.mutex);
            shared.changed.notify_all();
        });
        if (!sub) {
            std::fprintf(stderr, "kill %d: on_death: %s\n", i, sub.error().describe().c_str());
            abandon(c);
            continue;
        }
        subscriptions.push_back(std::move(*sub));

        // The pending call: made on a thread of its own, in flight once the handler has reported.
        const std::chrono::milliseconds call_timeout(opt.call_timeout_ms);
        c.caller = std::thread([cp, &shared, call_timeout] {
            liteipc::Request request(*cp->connection);
            auto reply = cp->connection->call(1, request, call_timeout);
            uint64_t t = now_ns();
            cp->pending_ns = t;
            if (!reply) {
                cp->dead_object = reply.error().code == liteipc::Errc::dead_object;
                if (!cp->dead_object) cp->pending_error = reply.error().describe();
            } else {
                cp->pending_error = "the call returned a reply, status " + std::to_string(reply->status());
            }
            {
                std::lock_guard lock(shared.mutex);
                cp->call_returned = true;
            }
            shared.changed.notify_all();
        });
        char in_flight = 0;
        pollfd ifd{report[0], POLLIN, 0};
        if (!(::poll(&ifd, 1, 5000) == 1 && ::read(report[0], &in_flight, 1) == 1 && in_flight == 'c')) {
            std::fprintf(stderr, "kill %d: the call to %s was not in flight within 5 s%s\n", i, name_arg.c_str(),
                         c.call_returned.load() ? (" (it returned: " + c.pending_error + ")").c_str() : "");
            abandon(c);
            continue;
        }
        c.inflight_ns = now_ns();
        ::close(report[0]);

        int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));

        c.started = true;
        c.kill_ns = now_ns();
        ::kill(pid, SIGKILL);

        bool reaped = false;
        if (opt.waitpid && pidfd >= 0) {
            pollfd wfd{pidfd, POLLIN, 0};
            if (::poll(&wfd, 1, opt.timeout_ms) == 1 && ::waitpid(pid, &c.wait_status, 0) == pid) {
                c.wait_ns = now_ns();
                reaped = true;
            }
        }
        if (pidfd >= 0) ::close(pidfd);
        {
            std::unique_lock lock(shared.mutex);
            bool all = shared.changed.wait_until(
                lock, std::chrono::steady_clock::now() + std::chrono::milliseconds(opt.timeout_ms), [&] {
                    return c.floor_count.load() > 0 && c.callback_count.load() > 0 && c.call_returned.load();
                });
            if (!all) {
                ++timeouts;
                std::fprintf(stderr, "kill %d (pid %d): after %d ms: floor %s, liteipc %s, pending call %s\n", i, pid,
                             opt.timeout_ms, c.floor_count.load() ? "seen" : "MISSING",
                             c.callback_count.load() ? "seen" : "MISSING",
                             c.call_returned.load() ? "returned" : "STILL PENDING");
            }
        }
        if (!reaped) c.wait_status = reap_bounded(pid, 2s);
        if (c.call_returned.load()) {
            finish_caller(c);
            if (!c.dead_object)
                std::fprintf(stderr, "kill %d (pid %d): the pending call did not fail with dead object: %s\n", i,
                             pid, c.pending_error.c_str());
        }
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
        finish_caller(c);
        if (late && c.started)
            std::fprintf(stderr, "kill %d (pid %d): the pending call returned late: %s\n", i - opt.warmup, c.pid,
                         c.dead_object ? "dead object" : c.pending_error.c_str());
    }

    // Settle: a duplicate or late notification has this long to show up.
    std::this_thread::sleep_for(std::chrono::milliseconds(opt.settle_ms));

    // ---- results ----
    std::vector<double> floor_us, cb_us, wait_us, floor_k_us, cb_k_us, cb_minus_floor;
    std::vector<double> floor_by_first[2], cb_by_first[2];  // [0]: the floor's program ran first
    std::vector<double> liteipc_prog_us;  // liteipc first: from its stamp to the floor's stamp
    long kills_all = 0, floor_seen = 0, cb_seen = 0, floor_dups = 0, cb_dups = 0, status_mismatch = 0;
    long kills_measured = 0, floor_seen_m = 0, cb_seen_m = 0;
    std::vector<double> pending_us, pending_minus_cb;
    long pending_dead_all = 0, pending_dead_m = 0;
    for (int i = 0; i < total; ++i) {
        Cycle& c = cycles[static_cast<size_t>(i)];
        if (!c.started) continue;
        ++kills_all;
        int fc = c.floor_count.load(), cc = c.callback_count.load();
        floor_seen += fc > 0;
        cb_seen += cc > 0;
        floor_dups += fc > 1 ? fc - 1 : 0;
        cb_dups += cc > 1 ? cc - 1 : 0;
        if (cc > 0 && c.callback_status.load() != c.wait_status) ++status_mismatch;
        pending_dead_all += c.dead_object ? 1 : 0;
        if (!c.measured) continue;
        ++kills_measured;
        if (c.dead_object) {
            ++pending_dead_m;
            pending_us.push_back(us(c.pending_ns, c.kill_ns));
            if (cc > 0)
                pending_minus_cb.push_back(
                    static_cast<double>(static_cast<int64_t>(c.pending_ns - c.callback_ns)) / 1000.0);
        }
        floor_seen_m += fc > 0;
        cb_seen_m += cc > 0;
        if (fc > 0) {
            floor_us.push_back(us(c.floor_ns, c.kill_ns));
            floor_k_us.push_back(us(c.floor_kernel_ns, c.kill_ns));
        }
        if (cc > 0) {
            cb_us.push_back(us(c.callback_ns, c.kill_ns));
            cb_k_us.push_back(us(c.callback_kernel_ns, c.kill_ns));
        }
        if (fc > 0 && cc > 0) {
            int g = c.floor_kernel_ns.load() <= c.callback_kernel_ns.load() ? 0 : 1;
            if (g == 1) liteipc_prog_us.push_back(us(c.floor_kernel_ns, c.callback_kernel_ns));
            floor_by_first[g].push_back(us(c.floor_ns, c.kill_ns));
            cb_by_first[g].push_back(us(c.callback_ns, c.kill_ns));
        }
        if (fc > 0 && cc > 0)
            cb_minus_floor.push_back(static_cast<double>(static_cast<int64_t>(c.callback_ns - c.floor_ns)) / 1000.0);
        if (c.wait_ns) wait_us.push_back(us(c.wait_ns, c.kill_ns));
    }

    Stats sf = stats_of(floor_us), sc = stats_of(cb_us), sw = stats_of(wait_us);
    Stats sfk = stats_of(floor_k_us), sck = stats_of(cb_k_us), sd = stats_of(cb_minus_floor);

    std::printf("\nSIGKILL -> observer latency, microseconds (CLOCK_MONOTONIC), %ld kills\n", kills_measured);
    std::printf("  %-36s %5s %10s %10s %10s %10s\n", "observer", "n", "median", "p90", "p99", "max");
    print_row("raw kernel floor (own ringbuf)", sf);
    print_row("liteipc on_death callback", sc);
    Stats sp = stats_of(pending_us);
    print_row("pending call fails (dead object)", sp);
    print_row("waitpid in the parent", sw);
    std::printf("  in the kernel (bpf_ktime_get_ns at sched_process_exit):\n");
    print_row("  floor program ran", sfk);
    print_row("  liteipc program ran", sck);
    std::printf("  per kill, callback minus floor:\n");
    print_row("  liteipc - floor", sd);
    print_row("  pending call - callback", stats_of(pending_minus_cb));

    std::printf("  by which sched_process_exit program ran first (kernel timestamps; the floor is honest only\n"
                "  when it runs first, else it waits for liteipc's program):\n");
    for (int g = 0; g < 2; ++g) {
        Stats f = stats_of(floor_by_first[g]), l = stats_of(cb_by_first[g]);
        if (f.n == 0) continue;
        std::printf("    %-14s %5zu kills: floor median %.1f, liteipc median %.1f, ratio %.2fx\n",
                    g == 0 ? "floor first" : "liteipc first", f.n, f.median, l.median,
                    f.median > 0 ? l.median / f.median : 0.0);
    }

    if (!liteipc_prog_us.empty())
        print_row("  liteipc program run time (estimate)", stats_of(liteipc_prog_us));

    // The target is judged on the kills where the floor's program ran first (all of them with
    // the default order): only there is the floor free of liteipc's own kernel work.
    Stats ff = stats_of(floor_by_first[0]), lf = stats_of(cb_by_first[0]);
    double ratio_median = ff.n && ff.median > 0 ? lf.median / ff.median : 0;
    double ratio_p99 = ff.n && ff.p99 > 0 ? lf.p99 / ff.p99 : 0;
    std::printf("\nratio liteipc/floor (%zu kills, floor first): median %.2fx, p99 %.2fx\n", ff.n, ratio_median,
                ratio_p99);
    bool met = ff.n > 0 && ratio_median <= 2.0;
    if (ff.n == 0)
        std::printf("DESIGN target \"callback median within 2x of the floor\": not judged (no kill ran the floor first)\n");
    else
        std::printf("DESIGN target \"callback median within 2x of the floor\": %s (%.2fx)\n", met ? "met" : "NOT met",
                    ratio_median);


    // Pending calls: judged on every measured kill (the absolute figure is what the target names).
    std::printf("ratio pending call/floor (%zu kills, all orders): median %.2fx, p99 %.2fx\n", sp.n,
                sp.n && sf.median > 0 ? sp.median / sf.median : 0.0, sp.n && sf.p99 > 0 ? sp.p99 / sf.p99 : 0.0);
    if (sp.n == 0)
        std::printf("DESIGN target \"pending calls fail within 1 ms at p99\": not judged (no call failed with dead object)\n");
    else
        std::printf("DESIGN target \"pending calls fail within 1 ms at p99\": %s (p99 %.1f us)\n",
                    sp.p99 <= 1000.0 ? "met" : "NOT met", sp.p99);

    std::printf("\nnotifications (measured kills): liteipc %ld/%ld, floor %ld/%ld\n", cb_seen_m, kills_measured,
                floor_seen_m, kills_measured);
    std::printf("notifications (all %ld kills, warmup included, after a %d ms settle): liteipc %ld received, "
                "%ld lost, %ld duplicates; floor %ld received, %ld lost, %ld duplicates, %d strays\n",
                kills_all, opt.settle_ms, cb_seen, kills_all - cb_seen, cb_dups, floor_seen, kills_all - floor_seen,
                floor_dups, shared.floor_strays.load());
    std::printf("pending calls: %ld/%ld measured kills failed with dead object (%ld/%ld with warmup); "
                "any other outcome is a failure\n",
                pending_dead_m, kills_measured, pending_dead_all, kills_all);
    if (status_mismatch) std::printf("exit status in the death notice differed from waitpid's in %ld kills\n", status_mismatch);
    if (failures) std::printf("%d cycles failed before the kill (see stderr)\n", failures);
    if (g_interrupted) std::printf("interrupted: results cover the kills made so far\n");
    bool clean = cb_seen == kills_all && floor_seen == kills_all && cb_dups == 0 && floor_dups == 0 &&
                 status_mismatch == 0 && failures == 0;
    std::printf("no loss, no duplicates: %s\n", clean ? "yes" : "NO");
    bool pending_clean = pending_dead_all == kills_all && failures == 0;
    std::printf("every pending call failed with dead object: %s\n", pending_clean ? "yes" : "NO");

    if (FILE* f = std::fopen(opt.csv.c_str(), "w")) {
        std::fprintf(f, "kill,pid,warmup,floor_us,liteipc_us,waitpid_us,floor_kernel_us,liteipc_kernel_us,"
                        "floor_count,liteipc_count,wait_status,notice_status,first,pending_us,pending_outcome\n");
        for (int i = 0; i < total; ++i) {
            Cycle& c = cycles[static_cast<size_t>(i)];
            if (!c.started) continue;
            auto cell = [&](bool have, double v) {
                if (have) std::fprintf(f, "%.3f,", v);
                else std::fputs(",", f);
            };
            std::fprintf(f, "%d,%d,%d,", i - opt.warmup, c.pid, c.measured ? 0 : 1);
            bool hf = c.floor_count.load() > 0, hc = c.callback_count.load() > 0;
            cell(hf, hf ? us(c.floor_ns, c.kill_ns) : 0);
            cell(hc, hc ? us(c.callback_ns, c.kill_ns) : 0);
            cell(c.wait_ns != 0, c.wait_ns ? us(c.wait_ns, c.kill_ns) : 0);
            cell(hf, hf ? us(c.floor_kernel_ns, c.kill_ns) : 0);
            cell(hc, hc ? us(c.callback_kernel_ns, c.kill_ns) : 0);
            const char* first = !(hf && hc) ? "" : c.floor_kernel_ns.load() <= c.callback_kernel_ns.load() ? "floor"
                                                                                                          : "liteipc";
            std::fprintf(f, "%d,%d,%d,%d,%s,", c.floor_count.load(), c.callback_count.load(), c.wait_status,
                         c.callback_status.load(), first);
            bool hp = c.call_returned.load();
            cell(hp, hp ? us(c.pending_ns, c.kill_ns) : 0);
            std::string outcome = !hp ? "no return" : c.dead_object ? "dead object" : c.pending_error;
            for (char& ch : outcome)
                if (ch == ',' || ch == '"' || ch == '\n') ch = ' ';
            std::fprintf(f, "%s\n", outcome.c_str());
        }
        std::fclose(f);
        std::printf("per-kill results: %s\n", opt.csv.c_str());
    } else {
        std::fprintf(stderr, "cannot write %s: %s\n", opt.csv.c_str(), std::strerror(errno));
    }

    subscriptions.clear();
    // Missing a latency target is a result; lost or doubled notifications, or a pending call that
    // did not fail with dead object, are a failure.
    return clean && pending_clean ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 7 && std::string(argv[1]) == "--child") child_main(argv);
    auto options = parse(argc, argv);
    if (!options) return 2;
    return run(*options);
}
