// bridge.json's connection caps, and the shipped bridge.json with its commented discovery
// section, read as the bridge reads them at start (unit: no root, no loader).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "config.h"

namespace liteipc::bridge {
namespace {

class BridgeConfigTest : public ::testing::Test {
protected:
    BridgeConfigTest() {
        char pattern[] = "/tmp/liteipc-bridge-config-XXXXXX";
        dir_ = ::mkdtemp(pattern) ? pattern : "";
    }
    ~BridgeConfigTest() override {
        ::unlink((dir_ + "/bridge.json").c_str());
        ::rmdir(dir_.c_str());
    }

    // The config with `limits` as its "limits" object, and `more` keys after it.
    Result<BridgeConfig> with_limits(const std::string& limits, const std::string& more = "") {
        const std::string path = dir_ + "/bridge.json";
        std::ofstream(path) << R"({"listen": "127.0.0.1:7443", "tls": {"ca": "a", "cert": "b", "key": "c"}, "limits": )"
                            << limits << more << "}";
        return load_config(path);
    }

    std::string dir_;
};

TEST_F(BridgeConfigTest, ConnectionCapsHaveDefaultsAndTakeTheirValues) {
    ASSERT_FALSE(dir_.empty());
    auto defaults = with_limits("{}");
    ASSERT_TRUE(defaults) << defaults.error().describe();
    EXPECT_EQ(defaults->limits.connections_per_source, 64u);
    EXPECT_EQ(defaults->limits.connections, 1024u);
    auto set = with_limits(R"({"connections_per_source": 3, "connections": 3})");
    ASSERT_TRUE(set) << set.error().describe();
    EXPECT_EQ(set->limits.connections_per_source, 3u);
    EXPECT_EQ(set->limits.connections, 3u);
}

TEST_F(BridgeConfigTest, ConnectionCapsOutOfRangeAreRefusedByName) {
    ASSERT_FALSE(dir_.empty());
    for (const char* limits : {R"({"connections_per_source": 0})",                        // none at all
                               R"({"connections_per_source": 65, "connections": 64})",    // one past the total
                               R"({"connections": 1048577, "connections_per_source": 1})",  // one past the most
                               R"({"connections": -1})"}) {
        auto config = with_limits(limits);
        ASSERT_FALSE(config) << limits;
        EXPECT_EQ(config.error().code, Errc::invalid_argument) << limits;
        EXPECT_NE(config.error().message.find("limits.connections"), std::string::npos) << config.error().describe();
    }
    // At the bounds: accepted.
    EXPECT_TRUE(with_limits(R"({"connections_per_source": 1048576, "connections": 1048576})"));
}

TEST_F(BridgeConfigTest, TheReplyPollHasADefaultAndIsRefusedOutOfRangeByName) {
    ASSERT_FALSE(dir_.empty());
    auto defaults = with_limits("{}");
    ASSERT_TRUE(defaults) << defaults.error().describe();
    EXPECT_EQ(defaults->reply_poll, std::chrono::microseconds(100));
    for (int poll : {0, 10000}) {
        auto config = with_limits("{}", R"(, "reply_poll_us": )" + std::to_string(poll));
        ASSERT_TRUE(config) << poll << ": " << config.error().describe();
        EXPECT_EQ(config->reply_poll, std::chrono::microseconds(poll));
    }
    for (int poll : {-1, 10001}) {  // one past each end
        auto config = with_limits("{}", R"(, "reply_poll_us": )" + std::to_string(poll));
        ASSERT_FALSE(config) << poll;
        EXPECT_EQ(config.error().code, Errc::invalid_argument);
        EXPECT_NE(config.error().message.find("reply_poll_us"), std::string::npos) << config.error().describe();
    }
}

// packaging/bridge.json as shipped (comments and all), and with its discovery section's `//`
// removed as its comment says: both load, the second with the cluster's settings.
TEST_F(BridgeConfigTest, TheShippedConfigLoadsAsItIsAndWithItsDiscoverySectionUncommented) {
    ASSERT_FALSE(dir_.empty());
    auto shipped = load_config(LITEIPC_SHIPPED_BRIDGE_JSON);
    ASSERT_TRUE(shipped) << shipped.error().describe();
    EXPECT_FALSE(shipped->discovery);
    EXPECT_EQ(shipped->imports.size(), 1u);

    std::ifstream in(LITEIPC_SHIPPED_BRIDGE_JSON);
    std::ostringstream cluster;
    bool inside = false;
    for (std::string line; std::getline(in, line);) {
        if (line.find("// , \"discovery\"") != std::string::npos) inside = true;
        if (inside) line.erase(line.find("// "), 3);
        if (inside && line == "  }") inside = false;
        cluster << line << "\n";
    }
    const std::string path = dir_ + "/bridge.json";
    std::ofstream(path) << cluster.str();
    auto joined = load_config(path);
    ASSERT_TRUE(joined) << joined.error().describe() << "\n" << cluster.str();
    ASSERT_TRUE(joined->discovery);
    EXPECT_EQ(joined->discovery->name, "host-a");
    EXPECT_EQ(joined->discovery->announce, "192.0.2.1:7443");
    EXPECT_EQ(joined->discovery->endpoints.size(), 3u);
    EXPECT_EQ(joined->discovery->tls.server_name, "etcd");
    EXPECT_EQ(joined->discovery->lease_ttl.count(), 10);
}

}  // namespace
}  // namespace liteipc::bridge
