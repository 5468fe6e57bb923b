// Per-service counters: a scripted workload against a service in another process, then the
// counters as the loader reports them, as `liteipc stats`/`status` print them, and as bpftool
// dumps the pinned maps (named fields from BTF).
#include <nlohmann/json.hpp>

#include "test_processes.h"

namespace liteipc::testing {
namespace {

using Json = nlohmann::json;

class MetadataStatsTest : public WithLoader<> {
protected:
    MetadataStatsTest() : WithLoader("mstats") {}

    std::string cli(const std::string& args) const {
        return std::string(LITEIPC_CLI_PATH) + " --socket " + loader_.socket() + " --pin-root " +
               loader_.pin_root() + " " + args;
    }

    // The service's entry in the loader's status document.
    Json service_entry(const std::string& name) {
        auto status = context_->loader_status();
        if (!status) return {};
        const Json document = Json::parse(*status);
        for (const Json& s : document["services"])
            if (s["name"] == name) return s;
        return {};
    }

    // Waits (bounded) until `counter` of `name` reaches `want`: one-way messages and
    // disconnects are counted after the call that caused them returned.
    Json counters_when(const std::string& name, const char* counter, uint64_t want) {
        Json entry;
        for (int i = 0; i < 500; ++i) {
            entry = service_entry(name);
            if (!entry.is_null() && entry["counters"][counter].get<uint64_t>() >= want) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return entry.is_null() ? Json{} : entry["counters"];
    }
};

TEST_F(MetadataStatsTest, CountersCountExactlyWhatTheWorkloadDid) {
    ServiceProcess service(loader_.options(), service_named("test.stats"));
    auto first = Connection::open(*context_, "test.stats");
    ASSERT_TRUE(first) << first.error().describe();

    // One call alone gives the bytes of one call (request payload plus reply).
    auto echo = [&](Connection& c) {
        Request request(c);
        request.writer().write_string("hello");
        request.writer().write_int32(41);
        auto reply = c.call(kEcho, request);
        ASSERT_TRUE(reply) << reply.error().describe();
        EXPECT_EQ(reply->status(), 0);
    };
    echo(*first);
    const uint64_t bytes_per_call = counters_when("test.stats", "calls", 1)["bytes"].get<uint64_t>();
    ASSERT_GT(bytes_per_call, 0u);

    for (int i = 0; i < 9; ++i) echo(*first);
    for (int i = 0; i < 3; ++i) {  // unknown code: the handler answers -1
        Request request(*first);
        auto reply = first->call(999, request);
        ASSERT_TRUE(reply) << reply.error().describe();
        EXPECT_NE(reply->status(), 0);
    }
    {
        auto second = Connection::open(*context_, "test.stats");
        ASSERT_TRUE(second) << second.error().describe();
        for (int i = 0; i < 4; ++i) {
            Request request(*second);
            request.writer().write_int32(0);
            ASSERT_TRUE(second->send(kSleep, request));
        }
        counters_when("test.stats", "oneway", 4);
    }  // the second connection ends here

    Json counters = counters_when("test.stats", "disconnects", 1);
    ASSERT_FALSE(counters.is_null());
    EXPECT_EQ(counters["calls"], 13u);  // 10 echoes + 3 unknown codes
    EXPECT_EQ(counters["oneway"], 4u);
    EXPECT_EQ(counters["errors"], 3u);
    EXPECT_EQ(counters["timeouts"], 0u);
    EXPECT_EQ(counters["dead_object"], 0u);
    EXPECT_EQ(counters["connects"], 2u);
    EXPECT_EQ(counters["disconnects"], 1u);
    EXPECT_EQ(counters["denials"], 0u);
    // 10 echoes, and the unknown codes and one-way sleeps with their own (empty or 4-byte) payloads.
    const uint64_t bytes = counters["bytes"].get<uint64_t>();
    EXPECT_GE(bytes, 10 * bytes_per_call);

    // What the CLI prints is the same, in JSON and as a table.
    auto [json_out, json_status] = run_command(cli("stats test.stats --json"));
    ASSERT_EQ(json_status, 0) << json_out;
    Json doc = Json::parse(json_out);
    ASSERT_EQ(doc["stats"].size(), 1u) << json_out;
    EXPECT_EQ(doc["stats"][0]["name"], "test.stats");
    EXPECT_EQ(doc["stats"][0]["counters"], counters) << json_out;
    auto [table, table_status] = run_command(cli("stats test.stats"));
    ASSERT_EQ(table_status, 0);
    EXPECT_NE(table.find("CALLS"), std::string::npos) << table;
    EXPECT_NE(table.find("DISCONNECTS"), std::string::npos) << table;
    EXPECT_NE(table.find("test.stats"), std::string::npos) << table;
    EXPECT_NE(table.find(" 13 "), std::string::npos) << table;

    // Kernel counters in the pinned map and the owner's traffic map, both dumped with named fields.
    auto [kernel_dump, kernel_status] = run_command("bpftool -j map dump pinned " + loader_.pin_root() + "/svc_stats");
    ASSERT_EQ(kernel_status, 0) << kernel_dump;
    Json kernel = Json::parse(kernel_dump);
    ASSERT_EQ(kernel.size(), 1u) << kernel_dump;
    EXPECT_EQ(kernel[0]["formatted"]["value"]["connects"], 2u) << kernel_dump;
    EXPECT_EQ(kernel[0]["formatted"]["value"]["disconnects"], 1u) << kernel_dump;
    const uint32_t handle = first->handle();
    // The owner's traffic map, found through this loader's pinned svc_traffic (map names are not
    // unique on a host that runs other loaders).
    const std::string key = std::to_string(handle & 0xff) + " " + std::to_string((handle >> 8) & 0xff) + " " +
                            std::to_string((handle >> 16) & 0xff) + " " + std::to_string(handle >> 24);
    auto [outer_dump, outer_status] =
        run_command("bpftool -j map lookup pinned " + loader_.pin_root() + "/svc_traffic key " + key);
    ASSERT_EQ(outer_status, 0) << outer_dump;
    const Json outer = Json::parse(outer_dump);
    ASSERT_EQ(outer["value"].size(), 4u) << outer_dump;  // the inner map's id, little-endian bytes
    uint32_t inner_id = 0;
    for (int i = 3; i >= 0; --i) inner_id = (inner_id << 8) | std::stoul(outer["value"][i].get<std::string>(), nullptr, 16);
    auto [traffic_dump, traffic_status] = run_command("bpftool -j map dump id " + std::to_string(inner_id));
    ASSERT_EQ(traffic_status, 0) << traffic_dump;
    Json traffic = Json::parse(traffic_dump);
    ASSERT_EQ(traffic.size(), 1u) << traffic_dump;
    EXPECT_EQ(traffic[0]["formatted"]["value"]["calls"], 13u) << traffic_dump;
    EXPECT_EQ(traffic[0]["formatted"]["value"]["oneway"], 4u) << traffic_dump;
}

TEST_F(MetadataStatsTest, KernelCountsDenials) {
    ServiceOptions options = service_named("test.closed");
    options.policy = Policy::uid_range;
    options.uid_min = options.uid_max = 4242;  // not root: this process is refused
    ServiceProcess service(loader_.options(), options);
    for (int i = 0; i < 2; ++i) {
        auto refused = Connection::open(*context_, "test.closed");
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().code, Errc::permission_denied);
    }
    Json counters = counters_when("test.closed", "denials", 2);
    EXPECT_EQ(counters["denials"], 2u);
    EXPECT_EQ(counters["connects"], 0u);
    EXPECT_EQ(counters["calls"], 0u);
}

TEST_F(MetadataStatsTest, StatusOfOneServiceShowsOwnerPolicyClientsAndCounters) {
    ServiceProcess service(loader_.options(), service_named("test.status"));
    auto client = Connection::open(*context_, "test.status");
    ASSERT_TRUE(client) << client.error().describe();
    auto [out, status] = run_command(cli("status test.status --json"));
    ASSERT_EQ(status, 0) << out;
    Json s = Json::parse(out)["service"];
    EXPECT_EQ(s["name"], "test.status");
    EXPECT_EQ(s["pid"], static_cast<uint32_t>(service.pid()));
    EXPECT_EQ(s["uid"], 0u);
    EXPECT_EQ(s["policy"], "same-uid");
    EXPECT_EQ(s["mode"], "direct");
    ASSERT_EQ(s["clients"].size(), 1u) << out;
    EXPECT_EQ(s["clients"][0]["pid"], static_cast<uint32_t>(::getpid()));
    EXPECT_EQ(s["clients"][0]["uid"], ::getuid());
    EXPECT_EQ(s["counters"]["connects"], 1u);

    auto [text, text_status] = run_command(cli("status test.status"));
    ASSERT_EQ(text_status, 0) << text;
    EXPECT_NE(text.find("owner      pid " + std::to_string(service.pid()) + ", uid 0"), std::string::npos) << text;
    EXPECT_NE(text.find("policy     same-uid"), std::string::npos) << text;
    EXPECT_NE(text.find("mode       direct"), std::string::npos) << text;
    EXPECT_NE(text.find("clients    1"), std::string::npos) << text;
    EXPECT_NE(text.find(std::to_string(::getpid())), std::string::npos) << text;

    // A missing service: exit 5 and a named error, in both forms.
    EXPECT_EQ(run_command(cli("stats no.such.service 2>/dev/null")).second, 5);
    EXPECT_EQ(run_command(cli("status no.such.service 2>/dev/null")).second, 5);
}

TEST_F(MetadataStatsTest, WatchPrintsRatesPerIntervalAndStopsAfterCount) {
    ServiceProcess service(loader_.options(), service_named("test.rates"));
    auto client = Connection::open(*context_, "test.rates");
    ASSERT_TRUE(client) << client.error().describe();
    std::atomic<bool> stop{false};
    std::thread load([&] {
        while (!stop) {
            Request request(*client);
            request.writer().write_int32(0);
            (void)client->call(kSleep, request);
        }
    });
    auto [out, status] = run_command(cli("stats --watch 1 --count 2 --json test.rates"));
    stop = true;
    load.join();
    ASSERT_EQ(status, 0) << out;
    std::istringstream lines(out);
    std::string line;
    int documents = 0;
    while (std::getline(lines, line)) {
        Json doc = Json::parse(line);
        EXPECT_EQ(doc["interval_s"], 1.0);
        ASSERT_EQ(doc["stats"].size(), 1u) << line;
        EXPECT_GT(doc["stats"][0]["rates"]["calls"].get<double>(), 0.0) << line;
        ++documents;
    }
    EXPECT_EQ(documents, 2) << out;
    EXPECT_EQ(run_command(cli("stats --count 2 2>/dev/null")).second, 2);  // --count without --watch
}

}  // namespace
}  // namespace liteipc::testing
