// Small system helpers shared by the transports: spinning, futexes, errno-checked I/O.
#pragma once

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

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

static_assert(sizeof(std::atomic<std::uint32_t>) == 4 && std::atomic<std::uint32_t>::is_always_lock_free);

}  // namespace liteipc::bench
