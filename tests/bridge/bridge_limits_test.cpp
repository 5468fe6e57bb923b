// What strangers and a greedy peer can make a serving bridge hold, from the test's own network
// namespaces: 10,000 idle TCP connections from host a's address, and a flood of Watch streams
// from host b's own address with a peer certificate (host-c). Beyond the limits the bridge
// refuses (connections that present no certificate in limits.handshake_ms are closed; streams
// beyond limits.streams_per_source end with RESOURCE_EXHAUSTED), its memory stays under a
// stated bound, and host a's calls through its imports are answered throughout.
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
// How much the serving bridge's resident memory may grow (measured: docs/BRIDGE.md, "What
// strangers and peers can make it hold").
// A connection that has not finished TLS holds gRPC's TLS handshaker, about 30 KiB, for at most
// limits.handshake_ms: gRPC 1.51 has no bound on their number, only on their time.
constexpr long kIdleGrowthBoundKiB = 10000 * 40;
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
        b_limits_ = "\"limits\":{\"handshake_ms\":" + std::to_string(kHandshakeMs) +
                    ",\"streams_per_source\":" + std::to_string(kStreamsPerSource) + "},";
    }

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

    Spawned idle_flood(const std::string& log_name) {
        return Spawned({"/usr/bin/nsenter", "--net=/run/netns/" + hosts_.a().netns, LITEIPC_BRIDGE_FLOOD, "idle", "--to",
                        hosts_.b().address + ":7443", "--connections", std::to_string(kIdleConnections), "--hold-ms",
                        std::to_string(kHandshakeMs + 3000)},
                       hosts_.dir() + "/" + log_name + ".log");
    }

    long peak_kib_ = 0;
};

TEST_F(BridgeLimitsTest, TenThousandIdleConnectionsAreClosedAfterTheHandshakeTimeAndHonestCallsGoOn) {
    Host& b = hosts_.b();
    for (const char* round : {"first", "second"}) {
        Spawned flood = idle_flood(std::string("flood-idle-") + round);
        const long peak_before = peak_kib_;
        const std::string count = std::to_string(kIdleConnections);
        const std::string out = during(flood, (count + " idle connections, " + round + " time").c_str(), kIdleGrowthBoundKiB);
        EXPECT_NE(out.find("connected " + count + " of " + count), std::string::npos) << out;
        // None presented a certificate in time: the bridge closed every one.
        EXPECT_NE(out.find("open 0 of " + count), std::string::npos) << out;
        // The second flood costs about what the first did (without the trim it added 170 MB to the
        // 300 MB the first left).
        if (kMemoryMeasured && peak_before > 0) {
            EXPECT_LT(peak_kib_, peak_before + 96 * 1024) << round;
        }
    }
    auto status = bridge_status(b);
    EXPECT_EQ(status["exports"]["watches"].get<int>(), 3) << "a's imports lost their watches: " << status.dump();
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

}  // namespace
}  // namespace liteipc::testing
