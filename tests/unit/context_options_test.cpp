// Which loader a program uses when it names none: LITEIPC_SOCKET and LITEIPC_PIN_ROOT, as the
// C APIs and the CLI read them; a value the program sets wins.
#include <gtest/gtest.h>

#include <cstdlib>

#include "liteipc/context.h"

namespace liteipc {
namespace {

class ContextOptionsTest : public ::testing::Test {
protected:
    void TearDown() override {
        ::unsetenv("LITEIPC_SOCKET");
        ::unsetenv("LITEIPC_PIN_ROOT");
    }
};

TEST_F(ContextOptionsTest, DefaultsWithoutTheEnvironment) {
    ::unsetenv("LITEIPC_SOCKET");
    ::setenv("LITEIPC_PIN_ROOT", "", 1);  // empty counts as unset
    ContextOptions options;
    EXPECT_EQ(options.socket_path, "/run/liteipc/liteipc.sock");
    EXPECT_EQ(options.pin_root, "/sys/fs/bpf/liteipc");
}

TEST_F(ContextOptionsTest, TheEnvironmentNamesTheLoader) {
    ::setenv("LITEIPC_SOCKET", "/tmp/private.sock", 1);
    ::setenv("LITEIPC_PIN_ROOT", "/sys/fs/bpf/private", 1);
    ContextOptions options;
    EXPECT_EQ(options.socket_path, "/tmp/private.sock");
    EXPECT_EQ(options.pin_root, "/sys/fs/bpf/private");
    EXPECT_EQ(default_socket_path(), "/tmp/private.sock");
    EXPECT_EQ(default_pin_root(), "/sys/fs/bpf/private");
}

TEST_F(ContextOptionsTest, WhatTheProgramSetsWins) {
    ::setenv("LITEIPC_SOCKET", "/tmp/private.sock", 1);
    ::setenv("LITEIPC_PIN_ROOT", "/sys/fs/bpf/private", 1);
    ContextOptions options{.socket_path = "/run/mine.sock"};
    EXPECT_EQ(options.socket_path, "/run/mine.sock");
    EXPECT_EQ(options.pin_root, "/sys/fs/bpf/private") << "the one not set still comes from the environment";
    options.pin_root = "/sys/fs/bpf/mine";
    EXPECT_EQ(options.pin_root, "/sys/fs/bpf/mine");
}

}  // namespace
}  // namespace liteipc
