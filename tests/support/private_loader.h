// A liteipc-loader of a test's or a benchmark's own, on a private pin root and socket: started
// (and waited for, bounded) by launch(), stopped by its pid and its pins unloaded when it goes.
// No GoogleTest here: benches use it as it is, tests through Loader (tests/system/loader_fixture.h).
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "liteipc/context.h"
#include "owned_pid.h"

namespace liteipc::testing {

class PrivateLoader {
public:
    // `program` is the liteipc-loader binary; `args` go to it after the pin root, socket and log
    // level (a later --log-level wins).
    PrivateLoader(std::string program, std::string pin_root, std::string socket, std::vector<std::string> args = {})
        : program_(std::move(program)), pin_root_(std::move(pin_root)), socket_(std::move(socket)), args_(std::move(args)) {}
    PrivateLoader(const PrivateLoader&) = delete;
    PrivateLoader& operator=(const PrivateLoader&) = delete;
    ~PrivateLoader() {
        stop();
        unload();
    }

    // Starts the loader and waits (at most 20 s) until its socket answers: "" then, else why not
    // (with the end of its log, when it has one of its own).
    std::string launch() {
        std::string failure = start_and_wait();
        if (!failure.empty() && !log_path_.empty()) failure += ": " + tail_of_log();
        return failure;
    }

    // Before launch(): the loader's stderr (its log) goes to `path` (emptied first), not this process's.
    void log_to(std::string path) { log_path_ = std::move(path); }

    // SIGTERM and wait (SIGKILL after 10 s): pinned state stays.
    void stop() {
        process_.signal(SIGTERM);
        process_.wait_or_kill(std::chrono::seconds(10));
    }

    // liteipc-loader --unload --pin-root DIR: removes the pins this loader made; its exit code
    // (0 when none are left: a second unload has nothing to say).
    int unload() {
        if (!launched_ || ::access(pin_root_.c_str(), F_OK) != 0) return 0;
        ProgramStart quiet;
        quiet.stdout_path = "/dev/null";
        OwnedPid unloading = spawn_program({program_, "--unload", "--pin-root", pin_root_}, quiet);
        return exit_code(unloading.wait_or_kill(std::chrono::seconds(20)));
    }

    ContextOptions options() const {
        ContextOptions o;
        o.socket_path = socket_;
        o.pin_root = pin_root_;
        o.default_timeout = std::chrono::milliseconds(5000);
        return o;
    }
    const std::string& pin_root() const { return pin_root_; }
    const std::string& socket() const { return socket_; }
    pid_t pid() const { return process_.pid(); }

private:
    std::string start_and_wait() {
        std::vector<std::string> argv{program_, "--pin-root", pin_root_, "--socket", socket_, "--log-level", "warn"};
        argv.insert(argv.end(), args_.begin(), args_.end());
        if (!log_path_.empty()) ::close(::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        // It outlives neither this process nor a restart by the test (SIGTERM: it stops cleanly).
        ProgramStart start;
        start.stderr_path = log_path_;
        start.parent_death_signal = SIGTERM;
        process_ = spawn_program(argv, start);
        if (!process_) return "cannot start " + program_;
        launched_ = true;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < deadline) {
            if (auto status = process_.wait_for(std::chrono::milliseconds(0)))
                return "liteipc-loader exited early, status " + std::to_string(*status);
            if (answers()) return {};
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return "liteipc-loader did not answer on " + socket_;
    }
    std::string tail_of_log() const {
        std::ifstream in(log_path_);
        std::stringstream text;
        text << in.rdbuf();
        std::string log = text.str();
        if (log.size() > 600) log = "..." + log.substr(log.size() - 600);
        return log.empty() ? "(no output)" : log;
    }
    bool answers() const {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_.c_str());
        const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        ::close(fd);
        return ok;
    }

    std::string program_, pin_root_, socket_;
    std::vector<std::string> args_;
    std::string log_path_;
    OwnedPid process_;
    bool launched_ = false;
};

}  // namespace liteipc::testing
