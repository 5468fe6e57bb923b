// A test peer: the liteipc_test_peer binary, started (spawn_program) in a role it is named.
//
// Peers that open a Context or a Service run threads; a child forked from the (threaded) test
// process must not start threads, and ThreadSanitizer cannot follow one that does. A spawned
// peer is a fresh process: sanitizers follow it, and it holds nothing of the test's memory.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "owned_pid.h"
#include "peer_channel.h"

#ifndef LITEIPC_TEST_PEER_PATH
#error "LITEIPC_TEST_PEER_PATH must name the liteipc_test_peer binary"
#endif

namespace liteipc::testing {

class Peer {
public:
    Peer() = default;  // no process
    // Starts `role` with `args`; pid() is -1 when it could not be started.
    static Peer spawn(const std::string& role, const std::vector<std::string>& args = {}) {
        Peer peer;
        int report[2], command[2];
        if (::pipe2(report, O_CLOEXEC) != 0) return peer;
        if (::pipe2(command, O_CLOEXEC) != 0) {
            ::close(report[0]);
            ::close(report[1]);
            return peer;
        }
        std::vector<std::string> argv{LITEIPC_TEST_PEER_PATH, role};
        argv.insert(argv.end(), args.begin(), args.end());
        ProgramStart start;
        start.fds = {{report[1], kPeerReportFd}, {command[0], kPeerCommandFd}};
        peer.process_ = spawn_program(std::move(argv), start);
        ::close(report[1]);
        ::close(command[0]);
        if (!peer.process_) {
            ::close(report[0]);
            ::close(command[1]);
            return peer;
        }
        peer.report_fd_ = report[0];
        peer.command_fd_ = command[1];
        return peer;
    }

    Peer(Peer&& other) noexcept
        : process_(std::move(other.process_)),
          report_fd_(std::exchange(other.report_fd_, -1)),
          command_fd_(std::exchange(other.command_fd_, -1)) {}
    Peer& operator=(Peer&& other) noexcept {
        if (this != &other) {
            process_ = std::move(other.process_);  // kills and reaps the process this one had
            close_pipes();
            report_fd_ = std::exchange(other.report_fd_, -1);
            command_fd_ = std::exchange(other.command_fd_, -1);
        }
        return *this;
    }
    ~Peer() {
        process_.kill_and_wait();
        close_pipes();
    }

    // One report from the peer (bounded: a peer that hangs fails the read, not the test run).
    template <typename T>
    bool read(T& out, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
        return report_fd_ >= 0 && read_all(report_fd_, &out, sizeof out, timeout);
    }
    template <typename T>
    bool send(const T& value) {
        return command_fd_ >= 0 && write_all(command_fd_, &value, sizeof value);
    }
    // Closing the command pipe is the peer's cue to end in roles that wait for it.
    void close_commands() {
        if (command_fd_ >= 0) ::close(command_fd_);
        command_fd_ = -1;
    }
    void signal(int sig) const { process_.signal(sig); }
    // Reaps the peer; returns its wait status (-1 when there is none to reap).
    int wait() { return process_.wait(); }
    int kill_and_wait() { return process_.kill_and_wait(); }
    pid_t pid() const { return process_.pid(); }
    int report_fd() const { return report_fd_; }

private:
    void close_pipes() {
        if (report_fd_ >= 0) ::close(report_fd_);
        if (command_fd_ >= 0) ::close(command_fd_);
        report_fd_ = command_fd_ = -1;
    }
    OwnedPid process_;
    int report_fd_ = -1;
    int command_fd_ = -1;
};

// Runs `role` to its end and returns the N ints it reported; -9999 in every place when it
// reported nothing (the shape of in_child's result).
template <size_t N>
std::array<int, N> run_peer(const std::string& role, const std::vector<std::string>& args = {}) {
    std::array<int, N> result;
    result.fill(-9999);
    Peer peer = Peer::spawn(role, args);
    if (!peer.read(result)) result.fill(-9999);
    peer.wait();
    return result;
}

}  // namespace liteipc::testing
