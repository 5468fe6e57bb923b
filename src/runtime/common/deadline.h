// A point in time on the monotonic clock by which a blocking operation must give up, or "forever".
// Every blocking call in the runtime takes one, so nothing waits without bound unless asked to.
#pragma once

#include <chrono>
#include <ctime>

namespace liteipc::detail {

class Deadline {
public:
    // std::chrono::steady_clock is CLOCK_MONOTONIC on Linux, the clock futexes use for absolute timeouts.
    using Clock = std::chrono::steady_clock;

    static constexpr Deadline forever() noexcept { return Deadline{Clock::time_point::max()}; }
    // A timeout of a second or more starts from CLOCK_MONOTONIC_COARSE plus two of its ticks: a call
    // takes its deadline on every call, and here that clock costs ~6 ns against ~30 ns (a tenth of a
    // busy round trip). It lags the precise clock by less than a tick, so the deadline is never early
    // and at most two ticks (8 ms at HZ=250, under 1% of the timeout) late. Shorter ones stay exact.
    static constexpr std::chrono::seconds kCoarseFrom{1};
    static Deadline after(std::chrono::nanoseconds timeout) noexcept {
        if (timeout.count() < 0) timeout = std::chrono::nanoseconds::zero();
        if (timeout >= kCoarseFrom) return Deadline{coarse_upper_bound() + timeout};
        return Deadline{Clock::now() + timeout};
    }
    static constexpr Deadline at(Clock::time_point when) noexcept { return Deadline{when}; }
    // Already passed: try once, never wait.
    static Deadline now() noexcept { return Deadline{Clock::now()}; }

    constexpr bool is_forever() const noexcept { return when_ == Clock::time_point::max(); }
    bool expired() const noexcept { return !is_forever() && Clock::now() >= when_; }
    constexpr Clock::time_point time_point() const noexcept { return when_; }

    std::chrono::nanoseconds remaining() const noexcept {
        if (is_forever()) return std::chrono::nanoseconds::max();
        auto left = when_ - Clock::now();
        return left.count() > 0 ? std::chrono::duration_cast<std::chrono::nanoseconds>(left)
                                : std::chrono::nanoseconds::zero();
    }

    // The earlier of two deadlines.
    constexpr Deadline min(Deadline other) const noexcept { return other.when_ < when_ ? other : *this; }

    // Absolute CLOCK_MONOTONIC time for futex(FUTEX_WAIT_BITSET) and futex_waitv. Only valid if !is_forever().
    timespec to_timespec() const noexcept {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when_.time_since_epoch()).count();
        if (ns < 0) ns = 0;
        return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    }

private:
    constexpr explicit Deadline(Clock::time_point when) noexcept : when_(when) {}

    // Not before Clock::now(): the coarse clock (the time at the last tick) plus two ticks.
    static Clock::time_point coarse_upper_bound() noexcept {
        static const std::chrono::nanoseconds two_ticks = [] {
            timespec resolution{};
            ::clock_getres(CLOCK_MONOTONIC_COARSE, &resolution);
            return 2 * (std::chrono::seconds(resolution.tv_sec) + std::chrono::nanoseconds(resolution.tv_nsec));
        }();
        timespec coarse{};
        ::clock_gettime(CLOCK_MONOTONIC_COARSE, &coarse);
        const auto since_boot = std::chrono::seconds(coarse.tv_sec) + std::chrono::nanoseconds(coarse.tv_nsec);
        return Clock::time_point(std::chrono::duration_cast<Clock::duration>(since_boot + two_ticks));
    }
    Clock::time_point when_;
};

}  // namespace liteipc::detail
