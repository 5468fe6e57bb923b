// What system tests share: the ways a process can end, a box that collects death notices, and
// a service running in a child process.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <array>
#include <condition_variable>
#include <cstring>
#include <cstdio>
#include <mutex>
#include <ostream>
#include <thread>
#include <span>
#include <vector>

#include "liteipc/ipc.h"
#include "liteipc/log.h"
#include "loader_fixture.h"
#include "peer.h"
#include "peer_args.h"
#include "service_codes.h"

namespace liteipc::testing {

using namespace std::chrono_literals;

// Collects death notices for one peer, as a user of on_death would.
struct NoticeBox {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<DeathNotice> notices;

    DeathCallback callback() {
        return [this](const DeathNotice& n) {
            std::lock_guard lock(mutex);
            notices.push_back(n);
            changed.notify_all();
        };
    }
    bool wait_for(std::size_t count, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, timeout, [&] { return notices.size() >= count; });
    }
    std::size_t size() {
        std::lock_guard lock(mutex);
        return notices.size();
    }
};

enum class Ending { exit_normally, exit_group_from_worker, sigkill, segv_main, segv_worker, leader_exits_first };

[[noreturn]] inline void crash() {
    // Dies by the signal itself: a sanitizer's SIGSEGV handler would report it and exit instead.
    ::signal(SIGSEGV, SIG_DFL);
    // A real fault on a page nobody may touch (a store through null is UB that UBSan stops first).
    void* page = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *static_cast<volatile int*>(page) = 1;
    __builtin_unreachable();
}

// Ends the calling process as asked (sigkill: waits for the signal from outside).
[[noreturn]] inline void end_as(Ending ending) {
    switch (ending) {
        case Ending::exit_normally: ::exit(3);
        case Ending::sigkill: for (;;) ::pause();
        case Ending::segv_main: crash();
        case Ending::exit_group_from_worker: {
            std::thread([] { ::exit(7); }).detach();
            for (;;) ::pause();
        }
        case Ending::segv_worker: {
            std::thread([] { crash(); }).detach();
            for (;;) ::pause();
        }
        case Ending::leader_exits_first: {
            // The main thread leaves (the exit syscall ends one thread, no unwinding); the
            // process lives on in its other threads until a worker ends it.
            std::thread([] {
                std::this_thread::sleep_for(100ms);
                ::_exit(5);
            }).detach();
            ::syscall(SYS_exit, 0);
        }
    }
    ::_exit(99);
}


inline const char* ending_name(Ending ending) {
    switch (ending) {
        case Ending::exit_normally: return "ExitNormally";
        case Ending::exit_group_from_worker: return "ExitGroupFromWorker";
        case Ending::sigkill: return "Sigkill";
        case Ending::segv_main: return "SegvInMain";
        case Ending::segv_worker: return "SegvInWorker";
        case Ending::leader_exits_first: return "LeaderExitsFirst";
    }
    return "Unknown";
}

// How gtest prints an Ending (in a failure and in --gtest_list_tests, whence ctest's test names).
inline void PrintTo(Ending ending, std::ostream* out) { *out << ending_name(ending); }

inline const auto kAllEndings = ::testing::Values(Ending::exit_normally, Ending::exit_group_from_worker, Ending::sigkill,
                                                  Ending::segv_main, Ending::segv_worker, Ending::leader_exits_first);

inline constexpr uid_t kNobody = 65534;

// In a child: become `uid` (nobody by default) with the liteipc group as its only group. The
// kernel clears the parent-death signal on a change of credentials: it is set again, so that the
// child still dies with a test that is killed.
inline bool become_group_member(uid_t uid = kNobody) {
    group* g = ::getgrnam("liteipc");
    if (!g) return false;
    gid_t gid = g->gr_gid;
    int death_signal = 0;
    ::prctl(PR_GET_PDEATHSIG, &death_signal);
    if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) return false;
    if (death_signal != 0) ::prctl(PR_SET_PDEATHSIG, death_signal);
    return true;
}

// Runs `body` in a forked child (without this process's pool mappings) and returns the N ints it
// reported; -9999 in every place when the child reported nothing. Only for bodies that start no
// thread (no Context, no Service): a child forked from a threaded process must not, and
// ThreadSanitizer aborts one that does. Peers with threads are spawned roles (peer.h).
template <size_t N, typename Body>
std::array<int, N> in_child(Body body) {
    std::array<int, N> result;
    result.fill(-9999);
    int report[2];
    if (::pipe(report) != 0) return result;
    OwnedPid child = fork_child(
        [&] {
            ::close(report[0]);
            unmap_inherited_pools();
            std::array<int, N> out = body();
            return ::write(report[1], out.data(), sizeof out) == static_cast<ssize_t>(sizeof out) ? 0 : 1;
        });
    ::close(report[1]);
    if (::read(report[0], result.data(), sizeof result) != static_cast<ssize_t>(sizeof result)) result.fill(-9999);
    ::close(report[0]);
    child.wait();
    return result;
}

// stdout (and whatever the command redirects there) of a shell command, and its exit status.
inline std::pair<std::string, int> run_command(const std::string& command) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return {out, -1};
    std::array<char, 4096> chunk;
    for (size_t n; (n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0;) out.append(chunk.data(), n);
    int status = ::pclose(pipe);
    return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// A service's options with its name and a worker count.
inline ServiceOptions service_named(const char* name, uint32_t workers = 2) {
    ServiceOptions o;
    o.name = name;
    o.workers = workers;
    return o;
}

inline void no_core_dumps() {
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::prctl(PR_SET_DUMPABLE, 0);
}

// ---- a service in a child process ----

using namespace service_role_codes;

inline Context* g_service_context = nullptr;  // the service process's own context

// A stream message: its sequence number, then bytes that follow from it.
inline std::byte stream_byte(uint64_t seq, size_t i) { return static_cast<std::byte>(seq * 131 + i * 7 + 1); }
inline void fill_stream_message(std::span<std::byte> out, uint64_t seq) {
    std::memcpy(out.data(), &seq, sizeof seq);
    for (size_t i = sizeof seq; i < out.size(); ++i) out[i] = stream_byte(seq, i);
}
// While this word is non-zero, stream messages wait in the handler: a receiver that stopped
// reading. It lives in a file named by the test's pid, which the test creates and the service it
// spawns maps (a spawned peer shares no memory with the test otherwise).
inline std::string stream_gate_path(pid_t test_pid) {
    return "/dev/shm/liteipc-test-stream-gate-" + std::to_string(test_pid);
}
inline std::atomic<uint32_t>* map_stream_gate(pid_t test_pid, bool create) {
    int fd = ::open(stream_gate_path(test_pid).c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (fd < 0) return nullptr;
    void* word = MAP_FAILED;
    if (!create || ::ftruncate(fd, 4096) == 0)
        word = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    return word == MAP_FAILED ? nullptr : static_cast<std::atomic<uint32_t>*>(word);
}
struct StreamTally {
    std::mutex mutex;
    uint64_t received = 0, out_of_order = 0, wrong_bytes = 0, next_seq = 0;
};
inline StreamTally g_stream_tally;

inline uint64_t checksum(std::span<const std::byte> bytes) {
    uint64_t sum = 0;
    for (std::byte b : bytes) sum = sum * 31 + static_cast<uint8_t>(b);
    return sum;
}

inline int32_t handle(Call& call) {
    static std::atomic<uint64_t> counted{0};
    switch (call.code()) {
        case kEcho: {
            auto text = call.request().read_string_view();
            int32_t n = call.request().read_int32();
            call.reply().write_string(text);
            call.reply().write_int32(n + 1);
            return call.request().ok() ? 0 : -1;
        }
        case kWhoAmI:
            call.reply().write_uint32(call.caller().pid);
            call.reply().write_uint32(call.caller().uid);
            call.reply().write_uint32(call.caller().gid);
            call.reply().write_uint32(call.caller().tid);
            return 0;
        case kSleep:
            std::this_thread::sleep_for(std::chrono::milliseconds(call.request().read_int32()));
            return 0;
        case kChecksum: {
            auto buffer = call.request().read_buffer();
            call.reply().write_uint64(buffer.size());
            call.reply().write_uint64(checksum(buffer));
            return call.request().ok() ? 0 : -1;
        }
        case kBigReply: {
            uint64_t size = call.request().read_uint64();
            std::span<std::byte> out = call.reply().reserve_buffer(size);
            for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::byte>(i * 7);
            return call.reply().ok() ? 0 : -1;
        }
        case kSecret: {
            // Bytes no other reply repeats: a stream seeded by the caller and a counter.
            static std::atomic<uint64_t> calls{0};
            uint64_t state = (uint64_t{call.caller().pid} << 32) ^ calls.fetch_add(1) ^ 0x9e3779b97f4a7c15ULL;
            std::span<std::byte> out = call.reply().reserve_buffer(call.request().read_uint64());
            for (size_t i = 0; i < out.size(); ++i) {
                state = state * 6364136223846793005ULL + 1442695040888963407ULL;
                out[i] = static_cast<std::byte>(state >> 56);
            }
            return call.reply().ok() ? 0 : -1;
        }
        case kStreamMessage: {
            auto message = call.payload();
            static std::atomic<uint32_t>* const gate = map_stream_gate(::getppid(), false);
            while (gate && gate->load() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            std::lock_guard lock(g_stream_tally.mutex);
            ++g_stream_tally.received;
            uint64_t seq = UINT64_MAX;
            if (message.size() >= sizeof seq) std::memcpy(&seq, message.data(), sizeof seq);
            if (seq != g_stream_tally.next_seq) ++g_stream_tally.out_of_order;
            g_stream_tally.next_seq = seq + 1;
            for (size_t i = sizeof seq; i < message.size(); ++i)
                if (message[i] != stream_byte(seq, i)) {
                    ++g_stream_tally.wrong_bytes;
                    break;
                }
            return 0;
        }
        case kRawEcho: {
            auto out = call.reply_raw(call.payload().size());
            if (!out) return -1;
            std::memcpy(out->data(), call.payload().data(), out->size());
            return 7;
        }
        case kStreamReport: {
            std::lock_guard lock(g_stream_tally.mutex);
            call.reply().write_uint64(g_stream_tally.received);
            call.reply().write_uint64(g_stream_tally.out_of_order);
            call.reply().write_uint64(g_stream_tally.wrong_bytes);
            return 0;
        }
        case kCount:
            counted.fetch_add(1);
            call.reply().write_uint64(counted.load());
            return 0;
        case kPipe: {
            // Writes into the fd it was given, and answers with a fd of its own.
            int fd = call.request().take_fd();
            bool wrote = fd >= 0 && ::write(fd, "ping", 4) == 4;
            if (fd >= 0) ::close(fd);
            int back[2];
            if (!wrote || ::pipe(back) != 0) return -1;
            bool answered = ::write(back[1], "pong", 4) == 4;
            ::close(back[1]);
            call.reply().write_fd(back[0]);
            call.reply().write_bool(answered);
            // The reply keeps its own copy in flight; ours can go once it is sent. Keep it simple:
            // the fd stays open in the service, which is harmless for the test.
            return 0;
        }
        case kTryReference:
        case kTryNumber: {
            // Tries to call a service it was handed a reference to, or only told the handle of.
            uint32_t target = call.code() == kTryReference ? call.request().read_service().handle
                                                            : call.request().read_uint32();
            auto other = Connection::open(*g_service_context, target);
            if (!other) return -static_cast<int32_t>(other.error().code);
            Request request(*other);
            auto reply = other->call(kWhoAmI, request);
            return reply ? 0 : -100;
        }
    }
    return -1;
}

// This process's writable mappings of the memfds named `name` ("liteipc-ctrl": connection ctrl
// regions): what a hostile peer can scribble on.
inline std::vector<std::span<std::byte>> writable_regions(const char* name) {
    const std::string wanted = std::string("memfd:") + name;
    std::vector<std::span<std::byte>> regions;
    FILE* maps = std::fopen("/proc/self/maps", "r");
    char line[512];
    while (maps && std::fgets(line, sizeof line, maps)) {
        unsigned long begin = 0, end = 0;
        char perms[8] = {};
        if (std::strstr(line, wanted.c_str()) && std::sscanf(line, "%lx-%lx %7s", &begin, &end, perms) == 3 &&
            perms[1] == 'w')
            regions.emplace_back(reinterpret_cast<std::byte*>(begin), end - begin);
    }
    if (maps) std::fclose(maps);
    return regions;
}
inline std::vector<std::span<std::byte>> writable_ctrl_regions() { return writable_regions("liteipc-ctrl"); }

// Every line the library logs in this process while it lives; the default handler afterwards.
class CapturedLog {
public:
    CapturedLog() {
        set_log_handler([this](LogLevel, std::string_view line) {
            std::lock_guard hold(lock_);
            lines_.emplace_back(line);
        });
    }
    ~CapturedLog() { set_log_handler({}); }
    bool contains(const std::string& text) const {
        std::lock_guard hold(lock_);
        for (const std::string& line : lines_)
            if (line.find(text) != std::string::npos) return true;
        return false;
    }

private:
    mutable std::mutex lock_;
    std::vector<std::string> lines_;
};

// A service in its own process (the test peer's `service` role, serving `handle`); stopped by
// SIGKILL at the end (or by the test).
class ServiceProcess {
public:
    ServiceProcess(const ContextOptions& context_options, const ServiceOptions& options)
        : peer_(Peer::spawn("service", peer_args(context_options, options))) {
        int ready = 0;
        EXPECT_TRUE(peer_.read(ready)) << "service peer " << options.name << " reported nothing";
        EXPECT_EQ(ready, 1) << "service peer " << options.name << " did not start";
    }
    void kill() { peer_.kill_and_wait(); }
    // Ends the service process as asked and reaps it; returns its wait status.
    int end(Ending ending) {
        if (ending == Ending::sigkill) return peer_.kill_and_wait();
        peer_.send(ending);
        return peer_.wait();
    }
    pid_t pid() const { return peer_.pid(); }

private:
    Peer peer_;
};

}  // namespace liteipc::testing
