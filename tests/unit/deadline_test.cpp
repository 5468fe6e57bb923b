// Deadline::after: a timeout of a second or more is taken from the coarse clock; it must never end
// before the timeout has passed on the precise clock, and may end at most two ticks after it.
#include "common/deadline.h"

#include <gtest/gtest.h>

#include <time.h>

namespace liteipc::detail {
namespace {

using namespace std::chrono_literals;

std::chrono::nanoseconds coarse_tick() {
    timespec resolution{};
    ::clock_getres(CLOCK_MONOTONIC_COARSE, &resolution);
    return std::chrono::seconds(resolution.tv_sec) + std::chrono::nanoseconds(resolution.tv_nsec);
}

TEST(Deadline, CoarseFromOneSecondNeverEarlyAtMostTwoTicksLate) {
    const auto tick = coarse_tick();
    for (int round = 0; round < 1000; ++round) {
        const auto before = Deadline::Clock::now();
        const Deadline deadline = Deadline::after(Deadline::kCoarseFrom);
        const auto after = Deadline::Clock::now();
        ASSERT_GE(deadline.time_point(), before + Deadline::kCoarseFrom);
        ASSERT_LE(deadline.time_point(), after + Deadline::kCoarseFrom + 2 * tick);
    }
}

TEST(Deadline, JustBelowOneSecondIsExact) {
    const auto timeout = Deadline::kCoarseFrom - 1ns;
    for (int round = 0; round < 1000; ++round) {
        const auto before = Deadline::Clock::now();
        const Deadline deadline = Deadline::after(timeout);
        const auto after = Deadline::Clock::now();
        ASSERT_GE(deadline.time_point(), before + timeout);
        ASSERT_LE(deadline.time_point(), after + timeout);
    }
}

TEST(Deadline, NegativeTimeoutHasAlreadyPassed) {
    EXPECT_TRUE(Deadline::after(-5s).expired());
    EXPECT_FALSE(Deadline::after(5s).expired());
}

}  // namespace
}  // namespace liteipc::detail
