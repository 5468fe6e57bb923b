// A program of an upstream suite run as its own process: its stdout is read line by line
// (case_report.h) and a case's verdict is waited for, never slept for. SIGKILLed and reaped when
// it goes.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "../support/owned_pid.h"

namespace liteipc::testing {

class CaseProcess {
public:
    explicit CaseProcess(const std::string& path, std::vector<std::string> args = {}) {
        args.insert(args.begin(), path);
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0) return;
        ProgramStart start;
        start.fds = {{out[1], STDOUT_FILENO}};
        process_ = spawn_program(args, start);
        ::close(out[1]);
        out_ = out[0];
    }
    ~CaseProcess() {
        process_.kill_and_wait();
        if (out_ >= 0) ::close(out_);
    }
    pid_t pid() const { return process_.pid(); }
    void kill() { process_.kill_and_wait(); }

    // The rest of the first line that starts with `prefix` and a space; "" when none came in time
    // (or the process ended without it).
    std::string line(const std::string& prefix, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            for (const auto& line : lines_)
                if (line.compare(0, prefix.size() + 1, prefix + " ") == 0) return line.substr(prefix.size() + 1);
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (out_ < 0 || left.count() <= 0) return "";
            pollfd readable{out_, POLLIN, 0};
            if (::poll(&readable, 1, static_cast<int>(left.count())) <= 0) continue;
            char chunk[1024];
            const ssize_t n = ::read(out_, chunk, sizeof chunk);
            if (n <= 0) {
                ::close(out_);
                out_ = -1;
                continue;
            }
            partial_.append(chunk, static_cast<size_t>(n));
            for (size_t end; (end = partial_.find('\n')) != std::string::npos; partial_.erase(0, end + 1))
                lines_.push_back(partial_.substr(0, end));
        }
    }
    // A case's verdict: "ok", "FAIL <what>", or "no verdict" when it never reported.
    std::string verdict(const std::string& name) {
        const std::string got = line(name);
        return got.empty() ? "no verdict" : got;
    }

private:
    OwnedPid process_;
    int out_ = -1;
    std::vector<std::string> lines_;
    std::string partial_;
};

}  // namespace liteipc::testing
