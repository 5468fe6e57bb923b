// System tests run a real liteipc-loader on a private pin root and socket, with real BPF.
//
// Without root or kernel BTF they skip with the reason; with LITEIPC_REQUIRE_BPF=1 (CI) a skip
// becomes a failure, so the BPF tests cannot silently not run.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "liteipc/context.h"

extern char** environ;

namespace liteipc::testing {

inline bool bpf_required() {
    const char* v = std::getenv("LITEIPC_REQUIRE_BPF");
    return v != nullptr && std::string(v) == "1";
}

// Returns an empty string when system tests can run here, else the reason they cannot.
inline std::string why_no_bpf() {
    if (::geteuid() != 0) return "system tests need root (CAP_BPF, CAP_SYS_ADMIN)";
    if (::access("/sys/kernel/btf/vmlinux", R_OK) != 0) return "kernel has no BTF (/sys/kernel/btf/vmlinux)";
    return {};
}

#define LITEIPC_REQUIRE_SYSTEM()                                                            \
    do {                                                                                    \
        std::string reason = ::liteipc::testing::why_no_bpf();                             \
        if (!reason.empty()) {                                                              \
            if (::liteipc::testing::bpf_required()) FAIL() << "BPF required here: " << reason; \
            GTEST_SKIP() << reason;                                                         \
        }                                                                                   \
    } while (0)

// A liteipc-loader child process on its own pin root and socket.
class Loader {
public:
    // `extra_args` go to liteipc-loader as they are (e.g. --config); `socket` replaces the default path.
    explicit Loader(std::string tag, std::vector<std::string> extra_args = {}, std::string socket = {})
        : pin_root_("/sys/fs/bpf/liteipc-test-" + tag + "-" + std::to_string(::getpid())),
          socket_(socket.empty() ? "/tmp/liteipc-test-" + tag + "-" + std::to_string(::getpid()) + ".sock"
                                 : std::move(socket)),
          extra_args_(std::move(extra_args)) {
        // Without a --config of their own, tests run with tests/support/loader-test.conf.
        if (std::find(extra_args_.begin(), extra_args_.end(), "--config") == extra_args_.end())
            extra_args_.insert(extra_args_.end(), {"--config", LITEIPC_TEST_LOADER_CONFIG});
    }
    ~Loader() {
        stop();
        unload();
    }

    // Starts the loader and waits (bounded) until its socket answers.
    ::testing::AssertionResult start() {
        // Spawned, not forked: the test process runs threads by now.
        // In the foreground, as systemd runs it; extra_args may set --log-level again (the last wins).
        std::vector<const char*> argv{"liteipc-loader", "--pin-root", pin_root_.c_str(), "--socket",
                                      socket_.c_str(), "--log-level", log_level()};
        for (const auto& arg : extra_args_) argv.push_back(arg.c_str());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        if (!log_path_.empty())
            posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int spawned = ::posix_spawn(&pid_, LITEIPC_LOADER_PATH, &actions, nullptr, const_cast<char**>(argv.data()), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (spawned != 0) {
            pid_ = -1;
            return ::testing::AssertionFailure() << "cannot start " << LITEIPC_LOADER_PATH;
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < deadline) {
            int status;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return ::testing::AssertionFailure() << "liteipc-loader exited early, status " << status;
            }
            if (answers()) return ::testing::AssertionSuccess();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return ::testing::AssertionFailure() << "liteipc-loader did not answer on " << socket_;
    }

    // Before start(): the loader's stderr (its log) goes to `path` instead of the test's.
    void log_to(std::string path) { log_path_ = std::move(path); }

    // SIGTERM and wait: pinned state stays.
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int status;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

    void unload() {
        std::string command = std::string(LITEIPC_LOADER_PATH) + " --unload --pin-root " + pin_root_ + " >/dev/null";
        int ignored = std::system(command.c_str());
        (void)ignored;
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
    pid_t pid() const { return pid_; }

private:
    bool answers() const {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_.c_str());
        int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        ::close(fd);
        return ok;
    }
    static const char* log_level() {
        const char* v = std::getenv("LITEIPC_TEST_LOADER_LOG");
        return v ? v : "warn";
    }
    std::string pin_root_;
    std::string socket_;
    std::vector<std::string> extra_args_;
    std::string log_path_;
    pid_t pid_ = -1;
};

// A test with a private loader and this process's context on it. Tests that also need the
// liteipc group (an unprivileged second uid) say so with `needs_group`.
template <typename Base = ::testing::Test>
class WithLoader : public Base {
protected:
    explicit WithLoader(const char* tag, bool needs_group = false, std::vector<std::string> loader_args = {})
        : loader_(tag, std::move(loader_args)), needs_group_(needs_group) {}

    void SetUp() override {
        LITEIPC_REQUIRE_SYSTEM();
        if (needs_group_ && !::getgrnam("liteipc")) {
            if (bpf_required()) FAIL() << "group liteipc missing (scripts/setup-env.sh creates it)";
            GTEST_SKIP() << "group liteipc missing";
        }
        ASSERT_TRUE(loader_.start());
        auto context = Context::open(loader_.options());
        ASSERT_TRUE(context) << context.error().describe();
        context_.emplace(std::move(*context));
    }

    Loader loader_;
    std::optional<Context> context_;

private:
    bool needs_group_;
};

}  // namespace liteipc::testing
