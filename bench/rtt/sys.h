// Small system helpers shared by the transports: spinning, futexes, errno-checked I/O, helper
// processes (a loader, RouDi) with their output in a log.
#pragma once

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace liteipc::bench {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

// A busy waiter: pause between polls and, on an oversubscribed machine, hand the CPU over now
// and then so a spinner never holds a core its peer needs for a whole time slice.
class Spinner {
public:
    void pause() noexcept {
        if (++spins_ % kYieldEvery == 0) {
            sched_yield();
        } else {
            cpu_relax();
        }
    }

private:
    static constexpr std::uint32_t kYieldEvery = 1u << 14;
    std::uint32_t spins_ = 0;
};

// Shared (not FUTEX_PRIVATE) futexes: the words live in memory shared by two processes.
inline void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected) noexcept {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT, expected, nullptr, nullptr, 0);
}
inline void futex_wake(std::atomic<std::uint32_t>* word, int count = 1) noexcept {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, count, nullptr, nullptr, 0);
}

// Starts `path` with `argv` (argv[0] included), stdout and stderr going to `log` (truncated, or
// appended with `append`); a child started `for_the_run` gets SIGTERM when this process ends, so a
// helper never outlives the harness. Returns the child's pid, or -1 (errno set) when fork fails.
enum class LogMode { truncate, append };
enum class Lifetime { for_the_run, until_done };
inline pid_t spawn_logged(const char* path, const std::vector<std::string>& argv, const std::string& log,
                          LogMode mode, Lifetime lifetime) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid != 0) return pid;
    if (lifetime == Lifetime::for_the_run) prctl(PR_SET_PDEATHSIG, SIGTERM);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (mode == LogMode::append ? O_APPEND : O_TRUNC), 0644);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
    }
    execv(path, args.data());
    _exit(127);
}

static_assert(sizeof(std::atomic<std::uint32_t>) == 4 && std::atomic<std::uint32_t>::is_always_lock_free);

}  // namespace liteipc::bench
