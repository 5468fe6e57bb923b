// System tests run a real liteipc-loader on a private pin root and socket, with real BPF.
//
// Without root or kernel BTF they skip with the reason; with LITEIPC_REQUIRE_BPF=1 (CI) a skip
// becomes a failure, so the BPF tests cannot silently not run.
#pragma once

#include <gtest/gtest.h>
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
#include "../support/private_loader.h"

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

// A test's own liteipc-loader (tests/support/private_loader.h) on /sys/fs/bpf/liteipc-test-<tag>-<pid>.
class Loader : public PrivateLoader {
public:
    // `extra_args` go to liteipc-loader as they are (e.g. --config); `socket` replaces the default path.
    explicit Loader(const std::string& tag, std::vector<std::string> extra_args = {}, std::string socket = {})
        : PrivateLoader(LITEIPC_LOADER_PATH, "/sys/fs/bpf/liteipc-test-" + tag + "-" + std::to_string(::getpid()),
                        socket.empty() ? "/tmp/liteipc-test-" + tag + "-" + std::to_string(::getpid()) + ".sock"
                                       : std::move(socket),
                        test_args(std::move(extra_args))) {}

    // Starts the loader and waits (bounded) until its socket answers.
    ::testing::AssertionResult start() {
        const std::string failure = launch();
        if (failure.empty()) return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << failure;
    }

private:
    // LITEIPC_TEST_LOADER_LOG's level (warn by default; extra_args may set it again: the last wins);
    // without a --config of their own, tests run with tests/support/loader-test.conf.
    static std::vector<std::string> test_args(std::vector<std::string> extra_args) {
        const char* level = std::getenv("LITEIPC_TEST_LOADER_LOG");
        std::vector<std::string> args{"--log-level", level ? level : "warn"};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        if (std::find(extra_args.begin(), extra_args.end(), "--config") == extra_args.end())
            args.insert(args.end(), {"--config", LITEIPC_TEST_LOADER_CONFIG});
        return args;
    }
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
