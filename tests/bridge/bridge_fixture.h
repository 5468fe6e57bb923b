// The bridge tests' common setup on TwoHosts:
//   host b: demo.cpp-echo (the C++ example service), demo.slow and demo.secret (the test peer's bridge_service role);
//           exports demo.cpp-echo and demo.slow to a, demo.secret only to c (not a bridge here).
//   host a: demo.c-echo (the C example service), exported to b.
// Each imports the other's exports as remote.<peer>.<service>. This test process is a client
// on host a (its context is on a's loader).
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "liteipc/ipc.h"
#include "../support/service_codes.h"
#include "two_hosts.h"

namespace liteipc::testing {

// The bridge's reply statuses (src/bridge/wire.h), as a client reads them.
inline constexpr int32_t kBridgePermissionDenied = -11;
inline constexpr int32_t kBridgeTimedOut = -12;
inline constexpr int32_t kBridgeTooLarge = -40;
inline constexpr int32_t kBridgeFdRefused = -41;
inline constexpr int32_t kBridgeServiceRefused = -42;
using namespace bridge_codes;

class BridgeTest : public ::testing::Test {
protected:
    static constexpr uint64_t kMaxMessageBytes = 128 * 1024;
    static constexpr int kKeepaliveMs = 500;

    void SetUp() override {
        LITEIPC_REQUIRE_SYSTEM();
        ASSERT_TRUE(hosts_.start());
        Host& a = hosts_.a();
        Host& b = hosts_.b();
        hosts_.run_on(b, {LITEIPC_CPP_ECHO_SERVICE, "--name", "demo.cpp-echo"}, "cpp-echo");
        start_slow_service();
        hosts_.run_on(b, {LITEIPC_TEST_PEER_PATH, "bridge_service", "--name", "demo.secret"}, "secret");
        hosts_.run_on(a, {LITEIPC_C_ECHO_SERVICE, "--name", "demo.c-echo"}, "c-echo");
        ASSERT_TRUE(hosts_.wait_for_service(b, "demo.secret", std::chrono::seconds(10)));
        ASSERT_TRUE(hosts_.wait_for_service(b, "demo.cpp-echo", std::chrono::seconds(10)));
        ASSERT_TRUE(hosts_.wait_for_service(a, "demo.c-echo", std::chrono::seconds(10)));

        const std::string limits = "\"max_message_bytes\":" + std::to_string(kMaxMessageBytes) +
                                   ",\"keepalive_ms\":" + std::to_string(keepalive_ms_) + ",\"call_timeout_ms\":60000,";
        hosts_.write_config(a, limits + a_settings_ + R"("peers":[{"name":"b","identity":"host-b","address":")" + b.address +
                                   ":7443\",\"token\":2}]," +
                                   R"("exports":[{"service":"demo.c-echo","allow":["b"]}],)"
                                   R"("imports":[{"peer":"b","service":"demo.cpp-echo","policy":"anyone"},)"
                                   R"({"peer":"b","service":"demo.slow","policy":"anyone","workers":8},)"
                                   R"({"peer":"b","service":"demo.secret","policy":"anyone"}])");
        hosts_.write_config(b, limits + b_limits_ + R"("peers":[{"name":"a","identity":"host-a","address":")" + a.address +
                                   ":7443\",\"token\":1},{\"name\":\"c\",\"identity\":\"host-c\",\"token\":3}]," +
                                   R"("exports":[{"service":"demo.cpp-echo","allow":["a"]},)"
                                   R"({"service":"demo.slow","allow":["a"]},{"service":"demo.secret","allow":["c"]}],)"
                                   R"("imports":[{"peer":"a","service":"demo.c-echo","policy":"anyone"}])");
        before_bridges_start();
        hosts_.start_bridge(a);
        hosts_.start_bridge(b);
        for (const char* name : {"remote.b.demo.cpp-echo", "remote.b.demo.slow", "remote.b.demo.secret"})
            ASSERT_TRUE(hosts_.wait_for_service(a, name, std::chrono::seconds(20)))
                << name << " not imported; bridge log:\n" << hosts_.a().bridge->output();
        ASSERT_TRUE(hosts_.wait_for_service(b, "remote.a.demo.c-echo", std::chrono::seconds(20)))
            << hosts_.b().bridge->output();
        auto context = Context::open(a.loader->options());
        ASSERT_TRUE(context) << context.error().describe();
        context_.emplace(std::move(*context));
    }

    void TearDown() override {
        context_.reset();
        if (::testing::Test::IsSkipped()) return;
        hosts_.tear_down();
        for (int status : hosts_.bridge_exits())
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a bridge did not stop cleanly: " << status;
        EXPECT_EQ(hosts_.leftovers(), "");
    }

    // What a test sets up on the hosts before their bridges start (a name taken, a squatter).
    virtual void before_bridges_start() {}

    void start_slow_service() {
        hosts_.run_on(hosts_.b(), {LITEIPC_TEST_PEER_PATH, "bridge_service", "--name", "demo.slow"}, "slow");
    }

    // The status service of `host`'s bridge, as `liteipc call` gets it.
    nlohmann::json bridge_status(Host& host) {
        const std::string out = hosts_.dir() + "/status.json";
        shell(std::string(LITEIPC_CLI_PATH) + " call liteipc.bridge 1 --reply s --json --socket " +
              host.loader->socket() + " --pin-root " + host.loader->pin_root() + " > " + out);
        try {
            auto call = nlohmann::json::parse(read_text(out));
            return nlohmann::json::parse(call["call"]["fields"][0]["value"].get<std::string>());
        } catch (const nlohmann::json::exception& e) {
            ADD_FAILURE() << "status of " << host.name << ": " << e.what() << ": " << read_text(out);
            return {};
        }
    }

    Connection connect(const std::string& name) {
        auto connection = Connection::open(*context_, name);
        EXPECT_TRUE(connection) << name << ": " << connection.error().describe();
        return std::move(*connection);
    }

    TwoHosts hosts_;
    std::string b_limits_;  // host b's "limits": {...}, when a test sets them
    std::string a_settings_;  // more of host a's settings ("key":value,), when a test sets them
    int keepalive_ms_ = kKeepaliveMs;
    std::optional<Context> context_;
};

}  // namespace liteipc::testing
