// One kill as its observers saw it, and what the observers share. Every time is CLOCK_MONOTONIC
// in nanoseconds; a latency is an observation minus kill_ns, taken just before the kill syscall.
#pragma once

#include <time.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "liteipc/ipc.h"

namespace liteipc::bench::death {

inline uint64_t now_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline double us(uint64_t later, uint64_t earlier) { return static_cast<double>(later - earlier) / 1000.0; }

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
    std::optional<Connection> connection;
    std::thread caller;
    uint64_t inflight_ns = 0;
    std::atomic<uint64_t> pending_ns{0};
    std::atomic<bool> call_returned{false};
    bool dead_object = false;
    std::string pending_error;  // anything but Errc::dead_object

    // Joins the caller (its call's own timeout bounds the wait) and drops the connection.
    void finish_caller() {
        if (caller.joinable()) caller.join();
        connection.reset();
    }
};

// What the observers share: a change of any cycle is signalled on `changed`, under `mutex`.
struct Observations {
    std::mutex mutex;
    std::condition_variable changed;
    std::unordered_map<uint32_t, Cycle*> by_pid;  // the floor's records name only a pid
    std::atomic<int> floor_strays{0};
};

}  // namespace liteipc::bench::death
