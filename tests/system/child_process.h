// A peer process for the C API tests: forked, set up, then serving until the test kills it.
#pragma once

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <functional>

#include <gtest/gtest.h>

#include "test_processes.h"

namespace liteipc::testing {

class ChildProcess {
public:
    // `setup` runs first in the child (its result is reported back); then `serve`, until killed.
    ChildProcess(const std::function<bool()>& setup, const std::function<void()>& serve) {
        int ready[2];
        EXPECT_EQ(::pipe(ready), 0);
        std::fflush(nullptr);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::close(ready[0]);
            unmap_inherited_pools();
            const char ok = setup() ? 'y' : 'n';
            if (::write(ready[1], &ok, 1) != 1) ::_exit(101);
            serve();
            ::_exit(0);
        }
        ::close(ready[1]);
        char ok = 0;
        EXPECT_EQ(::read(ready[0], &ok, 1), 1);
        EXPECT_EQ(ok, 'y') << "the child's setup failed";
        ::close(ready[0]);
    }
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess() { kill(); }

    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
};

}  // namespace liteipc::testing
