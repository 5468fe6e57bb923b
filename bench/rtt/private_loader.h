// The run's private liteipc-loader: the tests' (tests/support/private_loader.h) on its own pin root
// /sys/fs/bpf/liteipc-bench-<tag> and socket /tmp/liteipc-bench-<tag>.sock, its log in
// /tmp/liteipc-bench-<tag>.log until it stops. Root only: it loads BPF programs. Used by the
// liteipc transports of ipc_bench and by conn_memory_bench.
#pragma once

#include <optional>
#include <string>

#include "liteipc/error.h"
#include "../../tests/support/private_loader.h"

#ifndef LIPC_BENCH_LOADER_PATH
#define LIPC_BENCH_LOADER_PATH "/usr/sbin/liteipc-loader"
#endif

namespace liteipc::bench {

class BenchLoader {
public:
    // Starts the loader and returns once its socket answers (at most 20 s).
    Result<> start(const std::string& tag);
    // Stops it (SIGTERM, SIGKILL after 10 s), unloads its pins and removes its log; safe to call twice.
    void stop();
    ~BenchLoader() { stop(); }  // a bench that returns early leaves no log behind either

    const std::string& pin_root() const { return loader_->pin_root(); }
    const std::string& socket() const { return loader_->socket(); }

private:
    std::optional<testing::PrivateLoader> loader_;
    std::string log_path_;
};

}  // namespace liteipc::bench
