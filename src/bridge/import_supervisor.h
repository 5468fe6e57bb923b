// Keeps one import child running per imported service: starts it with posix_spawn, waits for
// it, and starts it again after it exits (the peer lost, or the remote service not there yet).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config.h"

namespace liteipc::bridge {

// Thread safety: start and stop from one thread; pid() and starts() from any.
class ImportSupervisor {
public:
    // `child_arguments`: what tells the child which import it serves (--config F --import N, or a
    // discovered import's); --parent is added.
    ImportSupervisor(std::string executable, std::vector<std::string> child_arguments, std::string local_name)
        : executable_(std::move(executable)), child_arguments_(std::move(child_arguments)),
          local_name_(std::move(local_name)) {}
    ImportSupervisor(const ImportSupervisor&) = delete;
    ImportSupervisor& operator=(const ImportSupervisor&) = delete;
    ~ImportSupervisor() { stop(); }

    void start();
    // SIGTERM to the child (by its pid), and no other started; stop() also waits for it.
    void request_stop();
    void stop();

    const std::string& local_name() const { return local_name_; }
    pid_t pid() const { return pid_.load(); }  // 0 between two children
    uint64_t starts() const { return starts_.load(); }
    // How often a child found its name held by another process.
    uint64_t name_taken() const { return name_taken_.load(); }

private:
    void run();
    pid_t spawn();

    std::string executable_;
    std::vector<std::string> child_arguments_;
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
