#include "private_loader.h"

#include <unistd.h>

namespace liteipc::bench {

Result<> BenchLoader::start(const std::string& tag) {
    stop();
    if (access(LIPC_BENCH_LOADER_PATH, X_OK) != 0)
        return fail_errno("no liteipc-loader at " LIPC_BENCH_LOADER_PATH, Errc::not_found);
    log_path_ = "/tmp/liteipc-bench-" + tag + ".log";
    loader_.emplace(LIPC_BENCH_LOADER_PATH, "/sys/fs/bpf/liteipc-bench-" + tag, "/tmp/liteipc-bench-" + tag + ".sock");
    loader_->log_to(log_path_);
    if (const std::string failure = loader_->launch(); !failure.empty()) {
        stop();
        return fail(Errc::loader_unavailable, failure);
    }
    return {};
}

void BenchLoader::stop() {
    if (loader_) {
        const std::string socket = loader_->socket();
        loader_.reset();  // stops it and unloads its pins
        unlink(socket.c_str());
    }
    if (!log_path_.empty()) unlink(log_path_.c_str());
    log_path_.clear();
}

}  // namespace liteipc::bench
