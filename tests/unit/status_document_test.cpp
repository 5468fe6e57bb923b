// The loader's status document: what the loader writes the CLI and the bridge read back whole,
// and a document missing a field or holding a mistyped one is refused naming the field.
#include <gtest/gtest.h>

#include "common/status_document.h"

namespace liteipc::status {
namespace {

StatusDocument sample() {
    StatusDocument d;
    d.loader_pid = 4242;
    d.abi_version = 7;
    d.pin_root = "/sys/fs/bpf/liteipc";
    d.socket = "/run/liteipc/control";
    d.processes_alive = 2;
    d.deaths_seen = 9;
    d.monitor_watchers = {{100, 1000, 3, 1}};
    d.sockets = 3;
    d.max_sockets = 1000;
    d.quotas = {256, 64, 256, 8192, 256, 8192, 16384};
    d.tables = {{"process", 4096, 256, 2, false}, {"grant", 65536, 4096, 58986, true}};
    d.refused.quota_grants = 5;
    d.refused.withdrawn_by_name_policy = 1;
    d.name_policy = {"/etc/liteipc/loader.conf", "nobody", {{"remote.*", "uid:990"}}};
    d.uids = {{1000, {.processes = 2, .sockets = 3, .services = 1}}};
    d.hugepages = {16, 12, "hugetlb 2 MiB pages"};
    d.processes = {{0, 100, 1000, 1, "alive"}, {1, 101, 1000, 4, "dead"}};
    d.services = {{.handle = 1,
                   .name = "acme.db",
                   .pid = 100,
                   .uid = 1000,
                   .policy = 1,
                   .uid_min = 0,
                   .uid_max = 0,
                   .mode = "mediated",
                   .interface = {"OHOS.IFoo", "5eb17543f0f7326e", "1c0ffee15ca1ab1e", 2},
                   .clients = {{77, 101, 1001, 1001}},
                   .counters = {.calls = 10, .bytes = 640, .disconnects = 2}}};
    return d;
}

TEST(StatusDocumentTest, WhatTheLoaderWritesReadsBackWhole) {
    const StatusDocument written = sample();
    const std::string text = dump(written);
    auto read = parse_status_document(text);
    ASSERT_TRUE(read) << read.error().describe();
    // Written again, the document is the same text: no field lost or changed on the way.
    EXPECT_EQ(dump(*read), text);
    EXPECT_EQ(read->services.at(0).clients.at(0).conn_id, 77u);
    EXPECT_EQ(read->tables.at(1).name, "grant");
    EXPECT_TRUE(read->tables.at(1).near_full);
    EXPECT_EQ(read->uids.at(0).held.sockets, 3u);
    // The document keeps the order a reader expects, and the tables are an object keyed by name.
    EXPECT_LT(text.find("\"loader_pid\""), text.find("\"services\""));
    EXPECT_NE(text.find("\"tables\":{\"process\":{\"capacity\":4096,"), std::string::npos) << text;
}

TEST(StatusDocumentTest, AMissingOrMistypedFieldIsMalformedNamingIt) {
    Json good = sample();
    auto refused = [](const Json& document) {
        auto read = parse_status_document(document.dump());
        EXPECT_FALSE(read);
        if (read) return std::string();
        EXPECT_EQ(read.error().code, Errc::malformed);
        return read.error().message;
    };
    Json missing = good;
    missing["services"][0]["counters"].erase("denials");
    EXPECT_EQ(refused(missing), "loader status: document.services[0].counters has no \"denials\"");
    Json negative = good;
    negative["processes"][1]["pid"] = -1;
    EXPECT_EQ(refused(negative), "loader status: document.processes[1].pid is not an unsigned integer in range");
    Json too_wide = good;
    too_wide["services"][0]["uid"] = uint64_t{1} << 32;
    EXPECT_EQ(refused(too_wide), "loader status: document.services[0].uid is not an unsigned integer in range");
    Json no_policy = good;
    no_policy.erase("name_policy");
    EXPECT_EQ(refused(no_policy), "loader status: document has no \"name_policy\"");
    Json table = good;
    table["tables"]["grant"]["near_full"] = 1;
    EXPECT_EQ(refused(table), "loader status: document.tables.grant.near_full is not a boolean");
    EXPECT_EQ(refused(Json::array()), "loader status: document is not an object");

    auto not_json = parse_status_document("{\"loader_pid\": ");
    ASSERT_FALSE(not_json);
    EXPECT_EQ(not_json.error().code, Errc::malformed);
}

}  // namespace
}  // namespace liteipc::status
