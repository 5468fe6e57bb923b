#include "private_loader.h"

#include "sys.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace liteipc::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

bool socket_answers(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    const int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    close(fd);
    return ok;
}

// Runs a program to completion with its output in `log` (appended); its exit status or -1.
int run_program(const std::vector<std::string>& argv, const std::string& log) {
    const pid_t pid = spawn_logged(argv[0].c_str(), argv, log, LogMode::append, Lifetime::until_done);
    if (pid < 0) return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

Result<> PrivateLoader::start(const std::string& tag) {
    if (access(LIPC_BENCH_LOADER_PATH, X_OK) != 0)
        return fail_errno("no liteipc-loader at " LIPC_BENCH_LOADER_PATH, Errc::not_found);
    pin_root_ = "/sys/fs/bpf/liteipc-bench-" + tag;
    socket_ = "/tmp/liteipc-bench-" + tag + ".sock";
    log_path_ = "/tmp/liteipc-bench-" + tag + ".log";

    pid_ = spawn_logged(LIPC_BENCH_LOADER_PATH,
                        {"liteipc-loader", "--foreground", "--pin-root", pin_root_, "--socket", socket_, "--log-level", "warn"},
                        log_path_, LogMode::truncate, Lifetime::for_the_run);
    if (pid_ < 0) return fail_errno("fork for liteipc-loader");
    const auto deadline = Clock::now() + 20s;
    for (;;) {
        if (socket_answers(socket_)) return {};
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            const std::string log = tail_of_log();
            stop();
            return fail(Errc::loader_unavailable, "liteipc-loader exited at start: " + log);
        }
        if (Clock::now() > deadline) {
            const std::string log = tail_of_log();
            stop();
            return fail(Errc::timed_out, "liteipc-loader not answering after 20 s: " + log);
        }
        std::this_thread::sleep_for(20ms);
    }
}

void PrivateLoader::stop() {
    if (pid_ > 0) {
        kill(pid_, SIGTERM);
        const auto deadline = Clock::now() + 10s;
        int status = 0;
        while (waitpid(pid_, &status, WNOHANG) != pid_) {
            if (Clock::now() > deadline) {
                kill(pid_, SIGKILL);
                waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(10ms);
        }
        pid_ = -1;
    }
    if (!pin_root_.empty()) {
        run_program({LIPC_BENCH_LOADER_PATH, "--unload", "--pin-root", pin_root_}, log_path_);
        pin_root_.clear();
    }
    if (!socket_.empty()) unlink(socket_.c_str());
    if (!log_path_.empty()) unlink(log_path_.c_str());
    socket_.clear();
    log_path_.clear();
}

std::string PrivateLoader::tail_of_log() const {
    std::ifstream f(log_path_);
    std::stringstream s;
    s << f.rdbuf();
    std::string log = s.str();
    if (log.size() > 600) log = "..." + log.substr(log.size() - 600);
    return log.empty() ? "(no output)" : log;
}

}  // namespace liteipc::bench
