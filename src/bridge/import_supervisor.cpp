#include "import_supervisor.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/log.h"
#include "import_child.h"

extern char** environ;

namespace liteipc::bridge {

namespace {

// Between two children: short after a loss (the peer may be back at once), longer otherwise
// (the remote service not there, a local failure), so an absent peer costs one probe per interval.
constexpr auto kRestartAfterLoss = std::chrono::milliseconds(100);
constexpr auto kRetryWhileAbsent = std::chrono::milliseconds(500);
// While another process holds the name: from kRetryWhileAbsent, doubling up to this.
constexpr auto kLongestNameRetry = std::chrono::milliseconds(8000);

std::string describe_exit(int status) {
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "exit status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

void ImportSupervisor::start() { thread_ = std::thread([this] { run(); }); }

void ImportSupervisor::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        // Under the lock: run() publishes a new pid under it too, so none is missed.
        if (pid_t child = pid_.load(); child > 0) ::kill(child, SIGTERM);
    }
    stopping_changed_.notify_all();
    if (thread_.joinable()) thread_.join();
}

pid_t ImportSupervisor::spawn() {
    const std::string index = std::to_string(index_), parent = std::to_string(::getpid());
    const char* argv[] = {"liteipc-bridge", "--config", config_path_.c_str(), "--import", index.c_str(),
                          "--parent", parent.c_str(), nullptr};
    // The child starts with no blocked signals: it blocks its own before its threads start.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
    pid_t child = 0;
    const int error = ::posix_spawn(&child, executable_.c_str(), nullptr, &attributes, const_cast<char**>(argv), environ);
    posix_spawnattr_destroy(&attributes);
    if (error != 0) {
        LITEIPC_LOG(error, "cannot start the child for %s: %s", local_name_.c_str(), std::strerror(error));
        return 0;
    }
    return child;
}

void ImportSupervisor::run() {
    std::unique_lock lock(mutex_);
    auto name_retry = kRetryWhileAbsent;
    while (!stopping_) {
        const pid_t child = spawn();
        pid_ = child;
        if (child > 0) ++starts_;
        lock.unlock();
        int status = 0;
        while (child > 0 && ::waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
        lock.lock();
        pid_ = 0;
        if (stopping_) break;
        const bool absent = child > 0 && WIFEXITED(status) && WEXITSTATUS(status) == kExitNotReady;
        const bool lost = child > 0 && WIFEXITED(status) && WEXITSTATUS(status) == kExitPeerLost;
        const bool taken = child > 0 && WIFEXITED(status) && WEXITSTATUS(status) == kExitNameTaken;
        auto pause = lost ? kRestartAfterLoss : kRetryWhileAbsent;
        if (taken) {
            // Never a silent gap: counted, in the status document, and logged with the next try.
            ++name_taken_;
            pause = name_retry;
            name_retry = std::min(2 * name_retry, kLongestNameRetry);
            LITEIPC_LOG(warn, "%s: name held by another process (%llu times); trying again in %lld ms", local_name_.c_str(),
                        static_cast<unsigned long long>(name_taken_.load()), static_cast<long long>(pause.count()));
        } else {
            name_retry = kRetryWhileAbsent;
            if (!absent && child > 0)
                LITEIPC_LOG(info, "%s: child %d ended, %s", local_name_.c_str(), static_cast<int>(child), describe_exit(status).c_str());
        }
        stopping_changed_.wait_for(lock, pause, [&] { return stopping_; });
    }
}

}  // namespace liteipc::bridge
