// A private liteipc-loader for one benchmark run: its own pin root under /sys/fs/bpf and its own
// socket, started by the harness (root only: it loads BPF programs) and stopped by pid, its pins
// unloaded, at the end. Used by the liteipc transports of ipc_bench and by conn_memory_bench.
#pragma once

#include <sys/types.h>

#include <string>

#include "liteipc/error.h"

#ifndef LIPC_BENCH_LOADER_PATH
#define LIPC_BENCH_LOADER_PATH "/usr/sbin/liteipc-loader"
#endif

namespace liteipc::bench {

class PrivateLoader {
public:
    PrivateLoader() = default;
    PrivateLoader(const PrivateLoader&) = delete;
    PrivateLoader& operator=(const PrivateLoader&) = delete;
    ~PrivateLoader() { stop(); }

    // Starts the loader on /sys/fs/bpf/liteipc-bench-<tag> and /tmp/liteipc-bench-<tag>.sock and
    // returns once its socket answers (at most 20 s).
    Result<> start(const std::string& tag);
    // Stops it (SIGTERM, SIGKILL after 10 s) and unloads its pins; safe to call twice.
    void stop();

    const std::string& pin_root() const { return pin_root_; }
    const std::string& socket() const { return socket_; }

private:
    std::string tail_of_log() const;

    pid_t pid_ = -1;
    std::string pin_root_, socket_, log_path_;
};

}  // namespace liteipc::bench
