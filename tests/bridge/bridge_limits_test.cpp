// What strangers and a greedy peer can make a serving bridge hold, from the test's own network
// namespaces: 10,000 idle TCP connections from host a's address, connections one past each cap,
// and a flood of Watch streams from host b's own address with a peer certificate (host-c). Beyond
// the limits the bridge refuses (connections past limits.connections_per_source or
// limits.connections are closed at once, those that present no certificate in limits.handshake_ms
// later; streams beyond limits.streams_per_source end with RESOURCE_EXHAUSTED), its memory stays
// under a stated bound, and host a's calls through its imports are answered throughout.
#include <atomic>
#include <cstdio>
#include <thread>

#include "bridge_fixture.h"

namespace liteipc::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kHandshakeMs = 2000;
constexpr int kStreamsPerSource = 64;
constexpr int kConnectionsPerSource = 24;
constexpr int kConnections = 40;
// How much the serving bridge's resident memory may grow (measured: docs/BRIDGE.md, "What
// strangers and peers can make it hold").
// A connection that has not finished TLS holds gRPC's TLS handshaker, about 30 KiB, for at most
// limits.handshake_ms, and at most limits.connections_per_source of them come from one address:
// the rest are closed before gRPC sees them.
constexpr long kIdleGrowthBoundKiB = 16 * 1024;
constexpr long kStreamFloodGrowthBoundKiB = 32 * 1024;
// What may stay after a flood: malloc's heap keeps what it cannot return (fragmentation).
constexpr long kSettledGrowthKiB = 128 * 1024;
// Not under a sanitizer: ASan's quarantine keeps freed memory resident (up to 256 MiB), and its
// redzones and TSan's shadow multiply what is allocated.
// A sanitized bridge is several times slower: 10,000 handshakes at once keep its threads from
// answering the importer's keepalive pings in time (500 ms here), so it gets a smaller flood.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kMemoryMeasured = false;
constexpr int kIdleConnections = 2000;
#else
constexpr bool kMemoryMeasured = true;
constexpr int kIdleConnections = 10000;
#endif

long rss_kib(pid_t pid) {
    std::istringstream status(read_text("/proc/" + std::to_string(pid) + "/status"));
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    return -1;
}

// Open file descriptors of `pid`: its sockets among them.
long open_fds(pid_t pid) {
    const std::string out = "/tmp/liteipc-bridge-fds-" + std::to_string(::getpid());
    shell("ls /proc/" + std::to_string(pid) + "/fd | wc -l > " + out);
    const long count = std::stol("0" + read_text(out));
    ::unlink(out.c_str());
    return count;
}

class BridgeLimitsTest : public BridgeTest {
protected:
    BridgeLimitsTest() {
        // The default 1000 ms doubled: at the other tests' 500 ms, one run in six on a host at load
        // 8 saw the importer's pings answered late during a flood, and its import lost.
        keepalive_ms_ = 2000;
        b_limits_ = "\"limits\":{\"handshake_ms\":" + std::to_string(handshake_ms_) +
                    ",\"streams_per_source\":" + std::to_string(kStreamsPerSource) +
                    ",\"connections_per_source\":" + std::to_string(kConnectionsPerSource) +
                    ",\"connections\":" + std::to_string(kConnections) + "},";
    }

    // b's bridge's connection counters: {"open": N, "refused": N}.
    nlohmann::json connections() { return bridge_status(hosts_.b())["connections"]; }

    // Runs `flood` (bounded, it ends by itself) while this process calls remote.b.demo.cpp-echo
    // on a, and samples b's bridge memory; returns the flood's output. peak_kib_: the highest RSS.
    std::string during(Spawned& flood, const char* what, long bound_kib) {
        Host& b = hosts_.b();
        const long before = rss_kib(b.bridge->pid());
        long peak = before;
        int answered = 0, failed = 0;
        std::string first_failure;
        auto echo = connect("remote.b.demo.cpp-echo");
        std::optional<int> ended;
        while (!(ended = flood.wait_for(milliseconds(50)))) {
            peak = std::max(peak, rss_kib(b.bridge->pid()));
            peak_open_ = std::max(peak_open_, connections()["open"].get<long>());
            Request request(echo);
            request.writer().write_string("honest");
            auto reply = echo.call(kEcho, request, seconds(5));
            if (reply && reply->status() == 0 && reply->reader().read_string() == "honest") ++answered;
            else if (failed++ == 0) first_failure = reply ? "status " + std::to_string(reply->status()) : reply.error().describe();
        }
        // What the flood made it allocate goes back to the system within its trim interval (5 s).
        const bool settled = !kMemoryMeasured ||
                             eventually([&] { return rss_kib(b.bridge->pid()) - before < kSettledGrowthKiB; }, seconds(10));
        std::printf("[ figure ] %s: serving bridge RSS %ld KiB before, %ld KiB at most (bound +%ld KiB), %ld KiB "
                    "after, %ld fds open; honest calls %d answered, %d failed\n",
                    what, before, peak, bound_kib, rss_kib(b.bridge->pid()), open_fds(b.bridge->pid()), answered, failed);
        EXPECT_TRUE(settled) << what << ": the bridge kept what the flood made it allocate";
        EXPECT_TRUE(WIFEXITED(*ended) && WEXITSTATUS(*ended) == 0) << flood.output();
        EXPECT_GT(answered, 10) << what;
        EXPECT_EQ(failed, 0) << what << ": the first failed with " << first_failure;
        if (kMemoryMeasured) {
            EXPECT_LT(peak - before, bound_kib) << what;
        }
        peak_kib_ = peak;
        return flood.output();
    }

    // `count` silent TCP connections from `from`'s address to b's bridge, held `hold_ms`.
    Spawned idle_flood(Host& from, int count, int hold_ms, const std::string& log_name) {
        return Spawned({"/usr/bin/nsenter", "--net=/run/netns/" + from.netns, LITEIPC_BRIDGE_FLOOD, "idle", "--to",
                        hosts_.b().address + ":7443", "--connections", std::to_string(count), "--hold-ms",
                        std::to_string(hold_ms)},
                       hosts_.dir() + "/" + log_name + ".log");
    }

    // The flood's "open K of N" line, after it ended by itself.
    static std::string held_of(Spawned& flood) {
        const int status = flood.wait();
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << flood.output();
        const auto at = flood.output().find("open ");
        return at == std::string::npos ? flood.output() : flood.output().substr(at, flood.output().find('\n', at) - at);
    }

    int handshake_ms_ = kHandshakeMs;
    long peak_kib_ = 0;
    long peak_open_ = 0;
};

TEST_F(BridgeLimitsTest, TenThousandIdleConnectionsAreClosedAfterTheHandshakeTimeAndHonestCallsGoOn) {
    Host& b = hosts_.b();
    for (const char* round : {"first", "second"}) {
        const long open_before = connections()["open"].get<long>();
        const uint64_t refused_before = connections()["refused"].get<uint64_t>();
        Spawned flood = idle_flood(hosts_.a(), kIdleConnections, kHandshakeMs + 3000, std::string("flood-idle-") + round);
        const long peak_before = peak_kib_;
        const std::string count = std::to_string(kIdleConnections);
        const std::string out = during(flood, (count + " idle connections, " + round + " time").c_str(), kIdleGrowthBoundKiB);
        // a's address held its imports' connections and at most its cap besides (a slot freed
        // when gRPC closed a held one after handshake_ms went to the next); most of the others
        // were closed at once (the rest, past the kernel's accept queue, never reached the
        // bridge), and those held presented no certificate in time: closed as well.
        EXPECT_NE(out.find("open 0 of " + count), std::string::npos) << out;
        EXPECT_LE(peak_open_, kConnectionsPerSource) << round;
        EXPECT_GT(connections()["refused"].get<uint64_t>() - refused_before, static_cast<uint64_t>(kIdleConnections / 2))
            << round;
        EXPECT_TRUE(eventually([&] { return connections()["open"].get<long>() == open_before; }, seconds(10)))
            << round << ": " << connections().dump();
        const auto now = connections();
        std::printf("[ figure ] %s: at most %ld connections held; %llu accepted, %llu refused in all\n", round,
                    peak_open_, static_cast<unsigned long long>(now["accepted"].get<uint64_t>()),
                    static_cast<unsigned long long>(now["refused"].get<uint64_t>()));
        // The second flood costs about what the first did (without the trim it added 170 MB to the
        // 300 MB the first left).
        if (kMemoryMeasured && peak_before > 0) {
            EXPECT_LT(peak_kib_, peak_before + 96 * 1024) << round;
        }
    }
    auto status = bridge_status(b);
    EXPECT_EQ(status["exports"]["watches"].get<int>(), 3) << "a's imports lost their watches: " << status.dump();
}

// The count goes down when gRPC ends a connection, not only when its peer does: connections that
// present no certificate are closed by gRPC after handshake_ms while the stranger still holds them.
TEST_F(BridgeLimitsTest, AConnectionGrpcClosesIsCountedOutWhileItsPeerStillHoldsIt) {
    Host& b = hosts_.b();
    ASSERT_TRUE(eventually([&] { return bridge_status(b)["exports"]["watches"].get<int>() == 3; }, seconds(20)));
    const long open_before = connections()["open"].get<long>();
    Spawned flood = idle_flood(b, 5, kHandshakeMs + 6000, "held-past-handshake");
    EXPECT_TRUE(eventually([&] { return connections()["open"].get<long>() == open_before + 5; }, seconds(5)))
        << connections().dump();
    EXPECT_TRUE(eventually([&] { return connections()["open"].get<long>() == open_before; },
                           milliseconds(kHandshakeMs + 3000)))
        << connections().dump();
    EXPECT_FALSE(flood.wait_for(milliseconds(0))) << "the stranger let go first: " << flood.output();
    EXPECT_EQ(held_of(flood), "open 0 of 5");
}

TEST_F(BridgeLimitsTest, AStreamFloodFromAnotherAddressIsRefusedPastItsLimitAndHonestCallsGoOn) {
    Host& b = hosts_.b();
    const std::string certs = hosts_.cert_dir();
    // 20 connections x 200 Watch streams from b's own address (not a's), as peer c.
    Spawned flood({"/usr/bin/nsenter", "--net=/run/netns/" + b.netns, LITEIPC_BRIDGE_FLOOD, "streams", "--to",
                   b.address + ":7443", "--identity", "host-b", "--ca", certs + "/ca.pem", "--cert",
                   certs + "/host-c.pem", "--key", certs + "/host-c.key", "--service", "demo.cpp-echo",
                   "--connections", "20", "--streams", "200", "--hold-ms", "4000"},
                  hosts_.dir() + "/flood-streams.log");
    const std::string out = during(flood, "20 x 200 watch streams", kStreamFloodGrowthBoundKiB);
    int ready = -1, ended = -1, waiting = -1;
    ASSERT_EQ(std::sscanf(out.c_str(), "ready %d ended %d waiting %d", &ready, &ended, &waiting), 3) << out;
    EXPECT_EQ(ready, kStreamsPerSource) << out;
    EXPECT_GT(ended, 0) << out;
    auto status = bridge_status(b);
    EXPECT_GT(status["exports"]["over_limit"].get<uint64_t>(), 0u) << status.dump();
    // What the flood held is released: the watches left are a's imports'.
    EXPECT_TRUE(eventually([&] { return bridge_status(b)["exports"]["watches"].get<int>() == 3; }, seconds(10)))
        << bridge_status(b).dump();
}

// Connections held idle for longer than the test takes: what is open is what the caps admitted.
class BridgeConnectionCapsTest : public BridgeLimitsTest {
protected:
    BridgeConnectionCapsTest() {
        handshake_ms_ = 30000;
        b_limits_ = "\"limits\":{\"handshake_ms\":" + std::to_string(handshake_ms_) +
                    ",\"connections_per_source\":" + std::to_string(kConnectionsPerSource) +
                    ",\"connections\":" + std::to_string(kConnections) + "},";
    }

    void expect_echo() {
        auto echo = connect("remote.b.demo.cpp-echo");
        Request request(echo);
        request.writer().write_string("honest");
        auto reply = echo.call(kEcho, request, seconds(10));
        ASSERT_TRUE(reply) << reply.error().describe();
        EXPECT_EQ(reply->reader().read_string(), "honest");
    }
};

TEST_F(BridgeConnectionCapsTest, OnePastEachCapIsRefusedHonestPeersGoOnAndTheCountsReturn) {
    Host& a = hosts_.a();
    Host& b = hosts_.b();
    // a's imports hold their connections (one each) and nothing else is connected.
    ASSERT_TRUE(eventually([&] { return bridge_status(b)["exports"]["watches"].get<int>() == 3; }, seconds(20)));
    const long held_by_a = connections()["open"].get<long>();
    ASSERT_GE(held_by_a, 1);
    ASSERT_LT(held_by_a, kConnectionsPerSource);
    uint64_t refused = connections()["refused"].get<uint64_t>();

    // One source, one past its cap (b's own address, which held none): that one is closed at once.
    for (const char* round : {"first", "second"}) {
        Spawned flood = idle_flood(b, kConnectionsPerSource + 1, 2000, std::string("per-source-") + round);
        EXPECT_EQ(held_of(flood), "open " + std::to_string(kConnectionsPerSource) + " of " +
                                      std::to_string(kConnectionsPerSource + 1))
            << round;
        EXPECT_EQ(connections()["refused"].get<uint64_t>(), refused + 1) << round;
        refused += 1;
        // Closed by the flood: counted out again, so the next round gets as many.
        EXPECT_TRUE(eventually([&] { return connections()["open"].get<long>() == held_by_a; }, seconds(10)))
            << round << ": " << connections().dump();
        expect_echo();
    }

    // All sources, one past the total: b's address takes its cap, a's the room that is left + 1.
    Spawned from_b = idle_flood(b, kConnectionsPerSource, 20000, "total-b");
    ASSERT_TRUE(eventually([&] { return connections()["open"].get<long>() == held_by_a + kConnectionsPerSource; },
                           seconds(10)))
        << connections().dump();
    const int room = kConnections - kConnectionsPerSource - static_cast<int>(held_by_a);
    Spawned from_a = idle_flood(a, room + 1, 2000, "total-a");
    EXPECT_EQ(held_of(from_a), "open " + std::to_string(room) + " of " + std::to_string(room + 1));
    EXPECT_EQ(connections()["refused"].get<uint64_t>(), refused + 1);
    // The honest peer's connections were there first: its calls go on at the cap.
    expect_echo();
    EXPECT_TRUE(eventually([&] { return connections()["open"].get<long>() == held_by_a + kConnectionsPerSource; },
                           seconds(10)))
        << connections().dump();
    from_b.kill(SIGKILL);
    EXPECT_TRUE(eventually([&] { return connections()["open"].get<long>() == held_by_a; }, seconds(10)))
        << connections().dump();
    EXPECT_NE(b.bridge->output().find("limits.connections_per_source"), std::string::npos) << "no refusal logged";
    expect_echo();
}

}  // namespace
}  // namespace liteipc::testing
