// The cluster's config and the records hosts write in etcd, read without etcd or root: what is
// refused says why, and a record that is not one is never taken for a host.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "discovery/discovery_config.h"

namespace liteipc::bridge {
namespace {

nlohmann::json discovery(std::string extra = "") {
    return nlohmann::json::parse(R"({"name":"a","endpoints":["10.0.0.1:2379"],)"
                                 R"("tls":{"ca":"ca.pem","cert":"c.pem","key":"c.key"})" + extra + "}");
}

TEST(DiscoveryConfigTest, DefaultsAndBounds) {
    auto config = parse_discovery(discovery(), "10.0.0.1:7443");
    ASSERT_TRUE(config) << config.error().describe();
    EXPECT_EQ(config->announce, "10.0.0.1:7443");
    EXPECT_EQ(config->prefix, "/liteipc/hosts/");
    EXPECT_EQ(config->lease_ttl.count(), 10);
    EXPECT_EQ(config->tls.server_name, "etcd");
    EXPECT_TRUE(parse_discovery(discovery(R"(,"lease_ttl_s":1)"), ""));
    EXPECT_TRUE(parse_discovery(discovery(R"(,"lease_ttl_s":3600)"), ""));
    for (const char* bad : {R"(,"lease_ttl_s":0)", R"(,"lease_ttl_s":3601)", R"(,"prefix":"/liteipc/hosts")", R"(,"prefix":"")"}) {
        auto refused = parse_discovery(discovery(bad), "");
        ASSERT_FALSE(refused) << bad;
        EXPECT_EQ(refused.error().code, Errc::invalid_argument) << bad;
    }
    auto bad_name = parse_discovery(nlohmann::json::parse(R"({"name":"Host A","endpoints":["x:1"],"tls":{"ca":"","cert":"","key":""}})"), "");
    ASSERT_FALSE(bad_name);
    EXPECT_NE(bad_name.error().message.find("discovery.name"), std::string::npos);
    auto no_members = parse_discovery(nlohmann::json::parse(R"({"name":"a","endpoints":[],"tls":{"ca":"","cert":"","key":""}})"), "");
    ASSERT_FALSE(no_members);
    EXPECT_NE(no_members.error().message.find("endpoints"), std::string::npos);
}

TEST(HostRecordTest, AWellFormedRecordIsReadAndAnythingElseIsRefusedWithItsReason) {
    const std::string prefix = "/liteipc/hosts/";
    auto record = host_record(prefix, prefix + "c", R"({"name":"c","address":"10.0.0.3:7443","exports":["demo.echo"]})");
    ASSERT_TRUE(record) << record.error().describe();
    EXPECT_EQ(record->name, "c");
    EXPECT_EQ(record->address, "10.0.0.3:7443");
    EXPECT_EQ(record->exports, std::vector<std::string>{"demo.echo"});
    EXPECT_EQ(to_json(*record).dump(), R"({"address":"10.0.0.3:7443","exports":["demo.echo"],"name":"c"})");

    const std::pair<std::string, std::string> bad[] = {
        {prefix + "c", R"({"name":"d","address":"10.0.0.4:7443","exports":[]})"},  // under another host's key
        {prefix + "C", R"({"name":"C","address":"10.0.0.3:7443","exports":[]})"},  // not a host name
        {prefix + std::string(33, 'x'), R"({"name":")" + std::string(33, 'x') + R"(","address":"x:1","exports":[]})"},
        {prefix + "c", R"({"name":"c","address":"","exports":[]})"},
        {prefix + "c", R"({"name":"c","address":"10.0.0.3:7443"})"},
        {prefix + "c", R"({"name":"c","address":"10.0.0.3:7443","exports":[1]})"},
        {prefix + "c", "not json"},
    };
    for (const auto& [key, value] : bad) {
        auto refused = host_record(prefix, key, value);
        ASSERT_FALSE(refused) << key << " " << value;
        EXPECT_EQ(refused.error().code, Errc::malformed);
        EXPECT_NE(refused.error().message.find(key), std::string::npos) << refused.error().message;
    }
}

TEST(HostMatchesTest, Globs) {
    EXPECT_TRUE(host_matches("*", "c"));
    EXPECT_TRUE(host_matches("rack1-*", "rack1-7"));
    EXPECT_FALSE(host_matches("rack1-*", "rack2-7"));
    EXPECT_TRUE(host_matches("c", "c"));
    EXPECT_FALSE(host_matches("c", "cc"));
}

}  // namespace
}  // namespace liteipc::bridge
