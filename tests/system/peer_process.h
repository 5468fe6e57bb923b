// A peer program (tests/system/peers/) run as a real process on this test's loader: started
// with the environment that names the loader, ready once it prints "ready", killed at the end.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

namespace liteipc::testing {

class PeerProcess {
public:
    explicit PeerProcess(const std::string& path) {
        int out[2];
        EXPECT_EQ(::pipe(out), 0);
        std::fflush(nullptr);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::dup2(out[1], STDOUT_FILENO);
            ::close(out[0]);
            ::close(out[1]);
            ::execl(path.c_str(), path.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(out[1]);
        char line[8] = {};
        size_t got = 0;
        while (got < 6) {
            const ssize_t n = ::read(out[0], line + got, 6 - got);
            if (n <= 0) break;
            got += static_cast<size_t>(n);
        }
        ::close(out[0]);
        EXPECT_EQ(std::string(line, got), "ready\n") << path << " did not start";
    }
    PeerProcess(const PeerProcess&) = delete;
    PeerProcess& operator=(const PeerProcess&) = delete;
    ~PeerProcess() { kill(); }

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
