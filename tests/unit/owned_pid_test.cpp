// The test harness's one way to own a process (tests/support/owned_pid.h): it ends and reaps what
// it owns, its waits end at their deadlines, and a spawned program gets the fd it was given.
#include "../support/owned_pid.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

bool reaped(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

TEST(OwnedPid, AForkedChildsExitCodeComesBack) {
    OwnedPid child = fork_child([] { return 7; });
    ASSERT_TRUE(child);
    EXPECT_EQ(exit_code(child.wait()), 7);
    EXPECT_FALSE(child) << "a reaped child is no longer owned";
    EXPECT_EQ(child.wait(), -1);
}

TEST(OwnedPid, GoingOutOfScopeKillsAndReaps) {
    pid_t pid = -1;
    {
        OwnedPid child = fork_child([]() -> int {
            for (;;) ::pause();
        });
        pid = child.pid();
        ASSERT_GT(pid, 0);
        EXPECT_TRUE(child.running());
    }
    EXPECT_TRUE(reaped(pid)) << "no zombie and no process is left";
}

TEST(OwnedPid, AWaitEndsAtItsDeadlineAndTheProcessStaysOwned) {
    OwnedPid child = fork_child([]() -> int {
        for (;;) ::pause();
    });
    const auto started = std::chrono::steady_clock::now();
    EXPECT_FALSE(child.wait_for(50ms).has_value());
    EXPECT_GE(std::chrono::steady_clock::now() - started, 50ms);
    EXPECT_TRUE(child.running());
    const int status = child.wait_or_kill(10ms);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    EXPECT_FALSE(child);
}

TEST(OwnedPid, MovingHandsTheProcessOverAndAssigningEndsTheOldOne) {
    OwnedPid first = fork_child([]() -> int {
        for (;;) ::pause();
    });
    const pid_t first_pid = first.pid();
    OwnedPid moved = std::move(first);
    EXPECT_FALSE(first);
    EXPECT_EQ(moved.pid(), first_pid);
    moved = fork_child([] { return 0; });
    EXPECT_TRUE(reaped(first_pid)) << "the process it held before was killed and reaped";
    EXPECT_EQ(exit_code(moved.wait()), 0);
}

TEST(OwnedPid, ASpawnedProgramGetsTheFdItWasGivenAndAMissingProgramExits127) {
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    ProgramStart start;
    start.fds = {{out[1], 5}};
    OwnedPid shell = spawn_program({"/bin/sh", "-c", "echo given >&5 && exit 9"}, start);
    ::close(out[1]);
    char text[16] = {};
    EXPECT_EQ(::read(out[0], text, sizeof text - 1), 6);
    EXPECT_STREQ(text, "given\n");
    ::close(out[0]);
    EXPECT_EQ(exit_code(shell.wait()), 9);

    OwnedPid missing = spawn_program({"/nonexistent/liteipc-test-program"});
    EXPECT_EQ(exit_code(missing.wait()), 127);
}

}  // namespace
}  // namespace liteipc::testing
