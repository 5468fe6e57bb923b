// Processes of the C API tests, killed at the end: a C peer program (tests/system/peers/) run on
// this test's loader, and a forked child serving C API services. No liteipc header here: the
// newer C API's tests include it too.
#pragma once

#include <unistd.h>

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "../support/owned_pid.h"

namespace liteipc::testing {

// Reads up to `expected` bytes from `fd` (until EOF) and closes it.
inline std::string read_report(int fd, size_t expected) {
    std::string got(expected, '\0');
    size_t length = 0;
    while (length < expected) {
        const ssize_t n = ::read(fd, got.data() + length, expected - length);
        if (n <= 0) break;
        length += static_cast<size_t>(n);
    }
    ::close(fd);
    got.resize(length);
    return got;
}

// The program at `path` (with this process's environment); ready once it prints "ready".
class PeerProgram {
public:
    explicit PeerProgram(const std::string& path) {
        int report[2];
        EXPECT_EQ(::pipe2(report, O_CLOEXEC), 0);
        ProgramStart start;
        start.fds = {{report[1], STDOUT_FILENO}};
        process_ = spawn_program({path}, start);
        ::close(report[1]);
        EXPECT_EQ(read_report(report[0], 6), "ready\n") << path << " did not start";
    }
    pid_t pid() const { return process_.pid(); }
    void kill() { process_.kill_and_wait(); }

private:
    OwnedPid process_;
};

// A forked child: `setup` runs first (its result is reported back); then `serve`, until killed.
class ForkedServer {
public:
    ForkedServer(const std::function<bool()>& setup, const std::function<void()>& serve) {
        int report[2];
        EXPECT_EQ(::pipe(report), 0);
        process_ = fork_child([&] {
            ::close(report[0]);
            unmap_inherited_pools();
            const char result = setup() ? 'y' : 'n';
            if (::write(report[1], &result, 1) != 1) return 101;
            serve();
            return 0;
        });
        ::close(report[1]);
        EXPECT_EQ(read_report(report[0], 1), "y") << "the child's setup failed";
    }
    pid_t pid() const { return process_.pid(); }
    void kill() { process_.kill_and_wait(); }

private:
    OwnedPid process_;
};

}  // namespace liteipc::testing
