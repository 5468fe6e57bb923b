// bridge.json's connection caps, read as the bridge reads them at start (unit: no root, no loader).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
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

    // The config with `limits` as its "limits" object.
    Result<BridgeConfig> with_limits(const std::string& limits) {
        const std::string path = dir_ + "/bridge.json";
        std::ofstream(path) << R"({"listen": "127.0.0.1:7443", "tls": {"ca": "a", "cert": "b", "key": "c"}, "limits": )"
                            << limits << "}";
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

}  // namespace
}  // namespace liteipc::bridge
