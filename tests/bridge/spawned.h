// Processes a bridge test starts (output to a file), shell commands and polling.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/owned_pid.h"

namespace liteipc::testing {

// Runs a shell command; its exit status.
inline int shell(const std::string& command) {
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
// The same, its output (and errors) discarded.
inline int quiet(const std::string& command) { return shell(command + " >/dev/null 2>&1"); }

inline std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// A process this test started (spawn_program), its stdout and stderr appended to a file;
// SIGKILLed by its pid and reaped when it goes.
class Spawned {
public:
    Spawned(std::vector<std::string> argv, std::string output_path) : output_(std::move(output_path)) {
        ProgramStart start;
        start.stdout_path = start.stderr_path = output_;
        process_ = spawn_program(std::move(argv), start);
    }

    pid_t pid() const { return process_.pid(); }
    // Sends `signal` and reaps; the exit status, or -1 when it was gone already.
    int kill(int signal) {
        if (!process_) return -1;
        process_.signal(signal);
        return process_.wait();
    }
    int wait() { return process_.wait(); }
    // Reaps it if it exits within `timeout`: its wait status; nothing (still running) otherwise.
    std::optional<int> wait_for(std::chrono::milliseconds timeout) { return process_.wait_for(timeout); }
    std::string output() const { return read_text(output_); }

private:
    std::string output_;
    OwnedPid process_;
};

// Polls `done` every 10 ms until it holds or `timeout` passed.
template <typename Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

}  // namespace liteipc::testing
