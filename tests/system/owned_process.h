// Peer processes for the C API tests, killed at the end: a peer program (tests/system/peers/) run
// on this test's loader. No liteipc header here: the newer C API's tests include it too.
#pragma once

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <functional>
#include <string>

#include <gtest/gtest.h>

namespace liteipc::testing {

// A process this test started; SIGKILLed and reaped when it goes (or by kill()).
class OwnedProcess {
public:
    OwnedProcess(const OwnedProcess&) = delete;
    OwnedProcess& operator=(const OwnedProcess&) = delete;
    ~OwnedProcess() { kill(); }

    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    pid_t pid() const { return pid_; }

protected:
    OwnedProcess() = default;
    // Forks; the child runs `child` (which does not return) with the write end of a pipe on which
    // it reports readiness. Returns what the child wrote, up to `expected` bytes.
    std::string start(const std::function<void(int report)>& child, size_t expected) {
        int report[2];
        EXPECT_EQ(::pipe(report), 0);
        std::fflush(nullptr);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::close(report[0]);
            child(report[1]);
            ::_exit(0);
        }
        ::close(report[1]);
        std::string got(expected, '\0');
        size_t length = 0;
        while (length < expected) {
            const ssize_t n = ::read(report[0], got.data() + length, expected - length);
            if (n <= 0) break;
            length += static_cast<size_t>(n);
        }
        ::close(report[0]);
        got.resize(length);
        return got;
    }

private:
    pid_t pid_ = -1;
};

class PeerProcess : public OwnedProcess {
public:
    // Runs the program at `path` (with this process's environment); ready once it prints "ready".
    explicit PeerProcess(const std::string& path) {
        const std::string line = start(
            [&](int report) {
                ::dup2(report, STDOUT_FILENO);
                ::close(report);
                ::execl(path.c_str(), path.c_str(), static_cast<char*>(nullptr));
                ::_exit(127);
            },
            6);
        EXPECT_EQ(line, "ready\n") << path << " did not start";
    }
};

}  // namespace liteipc::testing
