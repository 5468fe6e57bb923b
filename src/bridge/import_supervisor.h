// Keeps one import child running per imported service: starts it with posix_spawn, waits for
// it, and starts it again after it exits (the peer lost, or the remote service not there yet).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "config.h"

namespace liteipc::bridge {

// Thread safety: start and stop from one thread; pid() and starts() from any.
class ImportSupervisor {
public:
    ImportSupervisor(std::string executable, std::string config_path, size_t index, std::string local_name)
        : executable_(std::move(executable)), config_path_(std::move(config_path)), index_(index),
          local_name_(std::move(local_name)) {}
    ImportSupervisor(const ImportSupervisor&) = delete;
    ImportSupervisor& operator=(const ImportSupervisor&) = delete;
    ~ImportSupervisor() { stop(); }

    void start();
    // SIGTERM to the child (by its pid), waits for it, and starts no other.
    void stop();

    const std::string& local_name() const { return local_name_; }
    pid_t pid() const { return pid_.load(); }  // 0 between two children
    uint64_t starts() const { return starts_.load(); }
    // How often a child found its name held by another process.
    uint64_t name_taken() const { return name_taken_.load(); }

private:
    void run();
    pid_t spawn();

    std::string executable_, config_path_;
    size_t index_;
    std::string local_name_;
    std::atomic<pid_t> pid_{0};
    std::atomic<uint64_t> starts_{0};
    std::atomic<uint64_t> name_taken_{0};
    std::mutex mutex_;
    std::condition_variable stopping_changed_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace liteipc::bridge
