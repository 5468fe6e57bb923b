// Futex wait/wake on 32-bit words, with absolute CLOCK_MONOTONIC deadlines.
//
// Words in shared memory use the shared futex operations (keyed by page, so both processes meet on the
// same key); words in private memory may pass `shared = false` for the cheaper private key.
// futex_waitv (Linux >= 5.16) sleeps on up to 128 words at once, each with its own shared/private flag.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <span>

#include "common/deadline.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

namespace liteipc::detail {

static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));

enum class WaitResult {
    woken,      // woken by a wake call (or spuriously: re-check the condition)
    changed,    // the word no longer held the expected value when the kernel looked
    timed_out,  // the deadline passed
    interrupted,
};

inline constexpr std::size_t kMaxFutexWaiters = 128;  // FUTEX_WAITV_MAX

// Sleep while *word == expected, until woken or the deadline passes.
inline WaitResult futex_wait(const std::atomic<uint32_t>* word, uint32_t expected, Deadline deadline,
                             bool shared = true) noexcept {
    int op = FUTEX_WAIT_BITSET | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    timespec when{};
    const timespec* timeout = nullptr;
    if (!deadline.is_forever()) {
        when = deadline.to_timespec();
        timeout = &when;
    }
    long rc = syscall(SYS_futex, word, op, expected, timeout, nullptr, FUTEX_BITSET_MATCH_ANY);
    if (rc == 0) return WaitResult::woken;
    switch (errno) {
        case EAGAIN: return WaitResult::changed;
        case ETIMEDOUT: return WaitResult::timed_out;
        default: return WaitResult::interrupted;
    }
}

// Wake up to `count` sleepers on the word; returns how many were woken.
inline int futex_wake(const std::atomic<uint32_t>* word, int count = INT_MAX, bool shared = true) noexcept {
    int op = FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    long rc = syscall(SYS_futex, word, op, count, nullptr, nullptr, 0);
    return rc < 0 ? 0 : static_cast<int>(rc);
}

struct FutexWaitTarget {
    const std::atomic<uint32_t>* word;
    uint32_t expected;
    bool shared = true;
};

struct WaitvResult {
    WaitResult result;
    int index = -1;  // which word woke us, when result == woken
};

// Sleep until any word is woken, any word differs from its expected value, or the deadline passes.
inline WaitvResult futex_waitv(std::span<const FutexWaitTarget> targets, Deadline deadline) noexcept {
    if (targets.empty() || targets.size() > kMaxFutexWaiters) {
        errno = EINVAL;
        return {WaitResult::interrupted};
    }
    struct futex_waitv waiters[kMaxFutexWaiters] = {};
    for (std::size_t i = 0; i < targets.size(); ++i) {
        waiters[i].val = targets[i].expected;
        waiters[i].uaddr = reinterpret_cast<uintptr_t>(targets[i].word);
        waiters[i].flags = FUTEX_32 | (targets[i].shared ? 0 : FUTEX_PRIVATE_FLAG);
    }
    timespec when{};
    const timespec* timeout = nullptr;
    if (!deadline.is_forever()) {
        when = deadline.to_timespec();
        timeout = &when;
    }
    long rc = syscall(SYS_futex_waitv, waiters, targets.size(), 0, timeout, CLOCK_MONOTONIC);
    if (rc >= 0) return {WaitResult::woken, static_cast<int>(rc)};
    switch (errno) {
        case EAGAIN: return {WaitResult::changed};
        case ETIMEDOUT: return {WaitResult::timed_out};
        default: return {WaitResult::interrupted};
    }
}

// One spin-loop pause: lets the sibling hyperthread run and saves power while polling shared memory.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

// Poll `ready()` for about `budget` (and never past `deadline`), before a caller falls back to sleeping.
// The clock is read only every 64 polls, the first time after the first 64: on a VM a clock read costs
// as much as a few polls and would delay the pickup of what we wait for. `give_up()` is checked with
// the clock. Returns true as soon as ready() does.
template <typename Ready, typename GiveUp>
bool spin_until(std::chrono::nanoseconds budget, Deadline deadline, Ready&& ready, GiveUp&& give_up) {
    if (budget.count() <= 0) return false;
    Deadline spin_end = Deadline::forever();
    for (uint32_t polls = 1;; ++polls) {
        if (ready()) return true;
        if ((polls & 63) == 0) {
            if (give_up()) return false;
            if (spin_end.is_forever()) {
                spin_end = Deadline::after(budget).min(deadline);
            } else if (spin_end.expired()) {
                return false;
            }
        }
        cpu_relax();
    }
}

}  // namespace liteipc::detail
