// Discovery through etcd (docs/BRIDGE.md, "A cluster"): three hosts, each with a loader, a
// bridge and an etcd member, in network namespaces on this machine. Host c serves demo.echo and
// demo.secret; hosts a and b import them with no config naming c. A lost host is a death within
// the stated bound and comes back with it; a fourth host is found; a host announcing a service
// it may not export is ignored; etcd members down, one or all, leave running imports alone.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "cluster_hosts.h"
#include "liteipc/ipc.h"

namespace liteipc::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint32_t kEcho = 1;  // the test peer's bridge_service: echo
// docs/BRIDGE.md: a host whose lease goes unrenewed is gone for the others within the lease TTL,
// plus three election timeouts when the lost host's member led (an election takes up to two, and
// the new leader extends every lease by one), plus the leader's expiry check and the watch
// (1 s), plus 1 s of slack for a loaded 2-core machine (the test polls through the CLI).
constexpr milliseconds kLostHostBound{Cluster::kLeaseTtlS * 1000 + 3 * Cluster::kElectionMs + 1000 + 1000};

class ClusterTest : public ::testing::Test {
protected:
    void SetUp() override {
        LITEIPC_REQUIRE_SYSTEM();
        if (::access("/usr/bin/etcd", X_OK) != 0 || ::access("/usr/bin/etcdctl", X_OK) != 0) {
            if (bpf_required()) FAIL() << "etcd required here: apt-get install etcd-server etcd-client (scripts/deps.sh)";
            GTEST_SKIP() << "no /usr/bin/etcd or /usr/bin/etcdctl (Debian: etcd-server, etcd-client)";
        }
        if (quiet("ip netns add liteipc-cl-probe-" + std::to_string(::getpid())) != 0) {
            if (bpf_required()) FAIL() << "network namespaces cannot be made here";
            GTEST_SKIP() << "network namespaces cannot be made here (ip netns add failed)";
        }
        quiet("ip netns del liteipc-cl-probe-" + std::to_string(::getpid()));
        ASSERT_TRUE(cluster_.start());
        for (const char* name : {"a", "b", "c"}) cluster_.start_etcd(cluster_.host(name));
        ASSERT_TRUE(cluster_.restrict_store());

        ClusterHost& c = cluster_.host("c");
        cluster_.run_on(c, {LITEIPC_TEST_PEER_PATH, "bridge_service", "--name", "demo.echo"}, "c-echo");
        cluster_.run_on(c, {LITEIPC_TEST_PEER_PATH, "bridge_service", "--name", "demo.secret"}, "c-secret");
        ASSERT_TRUE(eventually([&] { return cluster_.has_service(c, "demo.secret") && cluster_.has_service(c, "demo.echo"); },
                               seconds(10)));
        cluster_.write_config(c, R"("peers":[{"name":"a","identity":"a"},{"name":"b","identity":"b"},{"name":"d","identity":"d"}],)"
                                 R"("exports":[{"service":"demo.echo","allow":["a","b","d"]},{"service":"demo.secret","allow":["a","b"]}])");
        // No peers: everything a and b import is found in the store. demo.secret only from c.
        for (const char* name : {"a", "b"})
            cluster_.write_config(cluster_.host(name), R"("imports":[{"service":"demo.echo","policy":"anyone"},)"
                                                       R"({"service":"demo.secret","hosts":"c","policy":"anyone"}])");
        for (const char* name : {"a", "b", "c"}) cluster_.start_bridge(cluster_.host(name));
        for (const char* name : {"a", "b"})
            ASSERT_TRUE(wait_for(name, "remote.c.demo.echo", true, seconds(40)))
                << name << " did not import demo.echo from c; its log:\n" << cluster_.host(name).bridge->output()
                << "\nc's log:\n" << c.bridge->output();
        auto context = Context::open(cluster_.host("a").loader->options());
        ASSERT_TRUE(context) << context.error().describe();
        context_.emplace(std::move(*context));
    }

    void TearDown() override {
        context_.reset();
        if (::testing::Test::IsSkipped()) return;
        cluster_.tear_down();
        EXPECT_EQ(cluster_.leftovers(), "");
    }

    bool wait_for(const std::string& host, const std::string& service, bool present, milliseconds timeout) {
        return eventually([&] { return cluster_.has_service(cluster_.host(host), service) == present; }, timeout);
    }

    // An echo through a's import of `service`.
    bool echo_on_a(const std::string& service) {
        auto connection = Connection::open(*context_, service);
        if (!connection) return false;
        Request request(*connection);
        request.writer().write_string("through the cluster");
        auto reply = connection->call(kEcho, request, seconds(10));
        return reply && reply->reader().read_string() == "through the cluster";
    }

    nlohmann::json status(const std::string& host) {
        ClusterHost& h = cluster_.host(host);
        const std::string out = cluster_.dir() + "/status-" + host + ".json";
        shell(std::string(LITEIPC_CLI_PATH) + " call liteipc.bridge 1 --reply s --json --socket " + h.loader->socket() +
              " --pin-root " + h.loader->pin_root() + " > " + out + " 2>/dev/null");
        try {
            auto call = nlohmann::json::parse(read_text(out));
            return nlohmann::json::parse(call["call"]["fields"][0]["value"].get<std::string>());
        } catch (const nlohmann::json::exception&) {
            return {};
        }
    }
    // The pid of `host`'s import child for `service` (0: none).
    int64_t import_pid(const std::string& host, const std::string& service) {
        for (const auto& import : status(host).value("imports", nlohmann::json::array()))
            if (import.value("service", "") == service) return import.value("pid", 0);
        return 0;
    }
    bool lists_host(const std::string& host, const std::string& announced) {
        auto discovery = status(host).value("discovery", nlohmann::json::object());
        for (const auto& record : discovery.value("hosts", nlohmann::json::array()))
            if (record.value("name", "") == announced) return true;
        return false;
    }
    // `liteipc list --remote` on `host`.
    std::string list_remote(const std::string& host) {
        ClusterHost& h = cluster_.host(host);
        const std::string out = cluster_.dir() + "/remote-" + host + ".txt";
        shell(std::string(LITEIPC_CLI_PATH) + " list --remote --socket " + h.loader->socket() + " --pin-root " +
              h.loader->pin_root() + " > " + out + " 2>&1");
        return read_text(out);
    }
    std::string store_state(const std::string& host) {
        return status(host).value("discovery", nlohmann::json::object()).value("store", "");
    }

    Cluster cluster_;
    std::optional<Context> context_;
};

TEST_F(ClusterTest, AHostIsFoundLostAsADeathWithinTheBoundFoundAgainFollowedWhenItMovesAndAFourthHostIsFound) {
    ASSERT_TRUE(wait_for("a", "remote.c.demo.secret", true, seconds(20)));
    EXPECT_TRUE(echo_on_a("remote.c.demo.echo"));

    // c's bridge and its etcd member killed: a's clients see the import's death, and the
    // others stop importing from c once its lease expired.
    auto echo = Connection::open(*context_, "remote.c.demo.echo");
    ASSERT_TRUE(echo) << echo.error().describe();
    std::atomic<int> deaths{0};
    std::atomic<int64_t> died_after_ms{-1};
    const auto lost_at = std::chrono::steady_clock::now();
    auto since_lost = [&] {
        return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - lost_at).count();
    };
    auto subscription = context_->on_death(echo->service(), [&](const DeathNotice&) {
        if (deaths++ == 0) died_after_ms = since_lost();
    });
    ASSERT_TRUE(subscription) << subscription.error().describe();
    ClusterHost& c = cluster_.host("c");
    c.bridge->kill(SIGKILL);
    c.etcd->kill(SIGKILL);
    ASSERT_TRUE(eventually([&] { return deaths.load() >= 1; }, kLostHostBound)) << "no death within the bound";
    int64_t forgotten_after_ms = -1;
    EXPECT_TRUE(eventually([&] { return !lists_host("a", "c") && !lists_host("b", "c") && import_pid("a", "remote.c.demo.echo") == 0; },
                           kLostHostBound + seconds(5)));
    forgotten_after_ms = since_lost();
    EXPECT_LT(forgotten_after_ms, kLostHostBound.count()) << "c's record outlived its lease";
    std::printf("[ figure ] host c killed: import's death after %lld ms; c's record gone and its imports ended on a and b "
                "after %lld ms (bound %lld ms: lease TTL %d s + 3 x election %d ms + 1 s + 1 s slack)\n",
                static_cast<long long>(died_after_ms.load()), static_cast<long long>(forgotten_after_ms),
                static_cast<long long>(kLostHostBound.count()), Cluster::kLeaseTtlS, Cluster::kElectionMs);
    EXPECT_FALSE(cluster_.has_service(cluster_.host("b"), "remote.c.demo.echo"));
    std::this_thread::sleep_for(milliseconds(300));
    EXPECT_EQ(deaths.load(), 1) << "the death callback fires once";

    // c back: its member rejoins, its bridge announces again, a and b import again.
    cluster_.start_etcd(c);
    cluster_.start_bridge(c);
    for (const char* name : {"a", "b"}) ASSERT_TRUE(wait_for(name, "remote.c.demo.echo", true, seconds(30))) << c.bridge->output();
    EXPECT_TRUE(eventually([&] { return echo_on_a("remote.c.demo.echo"); }, seconds(10)));

    // c moves (its bridge restarted on another port before its lease ran out, so the record
    // changes rather than goes): the import at the old address ends, as a death to its clients
    // (here the restart already ended it), the log says it moved, and one at the new address starts.
    auto before_move = Connection::open(*context_, "remote.c.demo.echo");
    ASSERT_TRUE(before_move) << before_move.error().describe();
    std::atomic<int> move_deaths{0};
    auto move_subscription = context_->on_death(before_move->service(), [&](const DeathNotice&) { ++move_deaths; });
    ASSERT_TRUE(move_subscription) << move_subscription.error().describe();
    cluster_.write_config(c, R"("peers":[{"name":"a","identity":"a"},{"name":"b","identity":"b"},{"name":"d","identity":"d"}],)"
                             R"("exports":[{"service":"demo.echo","allow":["a","b","d"]},{"service":"demo.secret","allow":["a","b"]}])",
                          Cluster::kBridgePort + 1);
    c.bridge->kill(SIGKILL);
    cluster_.start_bridge(c);
    EXPECT_TRUE(eventually([&] { return move_deaths.load() == 1; }, seconds(10)));
    EXPECT_TRUE(eventually([&] { return cluster_.host("a").bridge->output().find("moved from 10.214.0.3:7443 to 10.214.0.3:7444") !=
                                        std::string::npos; },
                           seconds(10)))
        << cluster_.host("a").bridge->output();
    EXPECT_TRUE(eventually([&] { return echo_on_a("remote.c.demo.echo"); }, seconds(20)));

    // A fourth host, never named in any config of a or b, is found. It also announces
    // demo.secret, which a and b take only from c: ignored and logged.
    ASSERT_TRUE(cluster_.add_host("d"));
    ClusterHost& d = cluster_.host("d");
    cluster_.run_on(d, {LITEIPC_TEST_PEER_PATH, "bridge_service", "--name", "demo.echo"}, "d-echo");
    cluster_.run_on(d, {LITEIPC_TEST_PEER_PATH, "bridge_service", "--name", "demo.secret"}, "d-secret");
    ASSERT_TRUE(eventually([&] { return cluster_.has_service(d, "demo.secret") && cluster_.has_service(d, "demo.echo"); }, seconds(10)));
    cluster_.write_config(d, R"("peers":[{"name":"a","identity":"a"},{"name":"b","identity":"b"}],)"
                             R"("exports":[{"service":"demo.echo","allow":["a","b"]},{"service":"demo.secret","allow":["a","b"]}])");
    cluster_.start_bridge(d);
    for (const char* name : {"a", "b"})
        ASSERT_TRUE(wait_for(name, "remote.d.demo.echo", true, seconds(30))) << d.bridge->output() << cluster_.host(name).bridge->output();
    EXPECT_TRUE(eventually([&] { return echo_on_a("remote.d.demo.echo"); }, seconds(10)));
    EXPECT_TRUE(eventually([&] { return cluster_.host("a").bridge->output().find("ignored: host d announces demo.secret") != std::string::npos; },
                           seconds(5)))
        << cluster_.host("a").bridge->output();
    const auto ignored = status("a")["discovery"]["ignored"];
    EXPECT_NE(ignored.dump().find("host d announces demo.secret"), std::string::npos) << ignored.dump();
    // What the cluster offers and where, as a sees it.
    const std::string offers = list_remote("a");
    for (const char* row : {"etcd: reachable", "10.214.0.3:7444  demo.echo    remote.c.demo.echo",
                            "10.214.0.4:7443  demo.secret  -", "ignored: host d announces demo.secret"})
        EXPECT_NE(offers.find(row), std::string::npos) << row << " not in:\n" << offers;
    for (const char* name : {"a", "b"}) {
        EXPECT_FALSE(cluster_.has_service(cluster_.host(name), "remote.d.demo.secret")) << name;
        EXPECT_TRUE(cluster_.has_service(cluster_.host(name), "remote.c.demo.secret")) << name;
    }
}

// etcd's role-based access (Cluster::restrict_store): host b's etcd client certificate reads
// every record but cannot overwrite, delete or expire c's, nor write a key beside it; c stays
// found and imported.
TEST_F(ClusterTest, AHostCannotWriteOrDeleteAnotherHostsRecord) {
    ClusterHost& b = cluster_.host("b");
    const std::string key = std::string(Cluster::kPrefix) + "c", out = cluster_.dir() + "/etcdctl-b.txt";
    auto record_of_c = [&](const std::string& who) -> nlohmann::json {
        if (cluster_.etcdctl(b, who, "get " + key + " -w json", out) != 0) return {};
        try {
            return nlohmann::json::parse(read_text(out)).at("kvs").at(0);
        } catch (const nlohmann::json::exception&) {
            return {};
        }
    };
    // b may read c's record: its certificate works, and its bridge needs the records.
    const nlohmann::json before = record_of_c("b");
    ASSERT_TRUE(before.contains("value")) << read_text(out);
    const int64_t lease = before.value("lease", int64_t{0});
    ASSERT_NE(lease, 0) << before.dump();
    char lease_hex[32];
    std::snprintf(lease_hex, sizeof lease_hex, "%llx", static_cast<unsigned long long>(lease));

    const std::string forged = R"('{"name":"c","address":"10.214.0.2:7443","exports":["demo.echo","demo.secret"]}')";
    for (const std::string& attempt : {"put " + key + " " + forged, "del " + key, "del --prefix " + key,
                                       "lease revoke " + std::string(lease_hex), "put " + key + "d x"}) {
        EXPECT_NE(cluster_.etcdctl(b, "b", attempt, out), 0) << "b's etcdctl " << attempt << " was let through";
        EXPECT_NE(read_text(out).find("permission denied"), std::string::npos) << attempt << ": " << read_text(out);
    }

    // c's record as it was, bound to its lease; a still reaches c's service; b still announces.
    const nlohmann::json after = record_of_c("root");
    EXPECT_EQ(after.value("value", ""), before.value("value", "")) << after.dump();
    EXPECT_EQ(after.value("mod_revision", int64_t{0}), before.value("mod_revision", int64_t{0}));
    EXPECT_EQ(after.value("lease", int64_t{0}), lease);
    EXPECT_TRUE(lists_host("a", "c"));
    EXPECT_TRUE(lists_host("a", "b"));
    EXPECT_TRUE(echo_on_a("remote.c.demo.echo"));

    // A bridge announcing d with b's etcd certificate: etcd refuses the write, the bridge says so
    // and tries again; nobody finds a d.
    ASSERT_TRUE(cluster_.add_host("d"));
    ClusterHost& d = cluster_.host("d");
    cluster_.write_config(d, R"("peers":[{"name":"a","identity":"a"}],"exports":[])");
    ASSERT_EQ(shell("sed -i 's/etcd-client-d/etcd-client-b/g' " + d.config_path), 0);
    cluster_.start_bridge(d);
    EXPECT_TRUE(eventually([&] { return d.bridge->output().find("announcing d: permission denied: etcd put: refused") !=
                                        std::string::npos; },
                           seconds(20)))
        << d.bridge->output();
    EXPECT_FALSE(lists_host("a", "d"));
    EXPECT_EQ(record_of_c("root").value("value", ""), before.value("value", ""));
}

// A link cut gives no reset: with the bridges' keepalive longer than the lease, what ends the
// imports is c's lease running out in the store.
class ClusterPartitionTest : public ClusterTest {
protected:
    void SetUp() override {
        cluster_.keepalive_ms = 30000;
        ClusterTest::SetUp();
    }
};

TEST_F(ClusterPartitionTest, AHostCutOffIsADeathWhenItsLeaseRunsOut) {
    auto echo = Connection::open(*context_, "remote.c.demo.echo");
    ASSERT_TRUE(echo) << echo.error().describe();
    std::atomic<int> deaths{0};
    auto subscription = context_->on_death(echo->service(), [&](const DeathNotice&) { ++deaths; });
    ASSERT_TRUE(subscription) << subscription.error().describe();
    const auto cut_at = std::chrono::steady_clock::now();
    ASSERT_TRUE(cluster_.cut_link(cluster_.host("c")));
    ASSERT_TRUE(eventually([&] { return deaths.load() >= 1; }, kLostHostBound + seconds(5))) << "no death";
    const auto after = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - cut_at);
    EXPECT_LT(after, kLostHostBound);
    // The last keep-alive before the cut came at most a third of the TTL earlier.
    EXPECT_GT(after, milliseconds(Cluster::kLeaseTtlS * 1000 * 2 / 3 - 300)) << "ended before the lease could have run out";
    EXPECT_TRUE(wait_for("b", "remote.c.demo.echo", false, seconds(5)));
    std::printf("[ figure ] host c cut off (keepalive 30 s): import's death on a after %lld ms (bound %lld ms)\n",
                static_cast<long long>(after.count()), static_cast<long long>(kLostHostBound.count()));
    EXPECT_EQ(deaths.load(), 1);
}

TEST_F(ClusterTest, EtcdMembersDownLeaveRunningImportsAloneAndTheBridgeCatchesUpWhenTheyReturn) {
    const int64_t a_pid = import_pid("a", "remote.c.demo.echo"), b_pid = import_pid("b", "remote.c.demo.echo");
    ASSERT_GT(a_pid, 0);
    ASSERT_GT(b_pid, 0);

    // One member down (a's, the first of every bridge's endpoints): nothing changes.
    ClusterHost& a = cluster_.host("a");
    a.etcd->kill(SIGKILL);
    std::this_thread::sleep_for(seconds(2 * Cluster::kLeaseTtlS + 1));
    EXPECT_EQ(import_pid("a", "remote.c.demo.echo"), a_pid);
    EXPECT_EQ(import_pid("b", "remote.c.demo.echo"), b_pid);
    EXPECT_TRUE(lists_host("a", "c"));
    EXPECT_TRUE(echo_on_a("remote.c.demo.echo"));
    cluster_.start_etcd(a);

    // All three down: the imports stay and answer, status and log say the store is out of reach.
    for (const char* name : {"a", "b", "c"}) cluster_.host(name).etcd->kill(SIGKILL);
    EXPECT_TRUE(eventually([&] { return store_state("a") == "unreachable"; }, seconds(10))) << status("a").dump();
    std::this_thread::sleep_for(seconds(2 * Cluster::kLeaseTtlS + 1));
    EXPECT_EQ(import_pid("a", "remote.c.demo.echo"), a_pid);
    EXPECT_EQ(import_pid("b", "remote.c.demo.echo"), b_pid);
    EXPECT_TRUE(echo_on_a("remote.c.demo.echo"));
    EXPECT_NE(a.bridge->output().find("etcd out of reach"), std::string::npos);
    EXPECT_NE(list_remote("a").find("etcd: out of reach"), std::string::npos) << list_remote("a");

    // Meanwhile c's bridge goes: its import dies at once (the connection ends), and once etcd is
    // back, a and b read that c's lease ran out and stop importing from it.
    cluster_.host("c").bridge->kill(SIGKILL);
    EXPECT_TRUE(wait_for("a", "remote.c.demo.echo", false, seconds(5)));
    for (const char* name : {"a", "b", "c"}) cluster_.start_etcd(cluster_.host(name));
    EXPECT_TRUE(eventually([&] { return store_state("a") == "reachable"; }, seconds(20))) << status("a").dump();
    EXPECT_TRUE(eventually([&] { return !lists_host("a", "c") && import_pid("a", "remote.c.demo.echo") == 0 &&
                                        import_pid("b", "remote.c.demo.echo") == 0; },
                           seconds(20)))
        << status("a").dump();
    EXPECT_NE(a.bridge->output().find("etcd answers"), std::string::npos);
}

}  // namespace
}  // namespace liteipc::testing
