// Connection lifecycle: an orderly close reaches the service at once and frees everything the
// connection held there (what a service holds depends only on the connections open now), and a
// service serves 10,000 connections open at once from 100 processes.
#include <thread>

#include "dataplane_peers.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

class Lifecycle : public WithLoader<> {
protected:
    Lifecycle() : WithLoader("life") {}
};

// Small pools: what is measured is what a connection costs, not how large its pools are.
ConnectOptions small_connection() {
    ConnectOptions options;
    options.request_pool_bytes = 64 * 1024;
    options.slots = 4;
    options.timeout = 10000ms;
    return options;
}

ServiceOptions small_service(const std::string& name, unsigned workers = 2) {
    ServiceOptions options{.name = name, .workers = workers, .reply_pool_bytes = 64 * 1024};
    return options;
}

bool call_once(Connection& connection, uint32_t code) {
    Request request(connection);
    auto reply = connection.call(code, request, 10000ms);
    return reply && reply->status() == 0 && reply->reader().read_uint32() == code;
}

TEST_F(Lifecycle, TenThousandOpenCloseCyclesLeaveTheServiceAsItWas) {
    ServicePeer service(loader_.options(), small_service("life.cycles"), ServiceHandler::answer_code);
    // A few hundred cycles first, so that everything made once per service, per client or per
    // thread (death subscription, each worker's malloc arena) exists before the baseline.
    for (int cycle = 0; cycle < 300; ++cycle) {
        auto warm = Connection::open(*context_, "life.cycles", small_connection());
        ASSERT_TRUE(warm) << warm.error().describe();
        ASSERT_TRUE(call_once(*warm, 1));
    }
    std::this_thread::sleep_for(100ms);
    const Holdings baseline = settle(service.pid(), 0);

    // While open, a connection holds one fd (its socket, also its doorbell) and three mappings
    // (ctrl region, request pool, reply pool) in the service.
    {
        auto open = Connection::open(*context_, "life.cycles", small_connection());
        ASSERT_TRUE(open) << open.error().describe();
        ASSERT_TRUE(call_once(*open, 2));
        // The service's acceptor closes the fds it set the connection up with (ctrl, pools,
        // doorbell) once it has handed the doorbell over: the call can be answered before that.
        const Holdings held = settle(service.pid(), baseline.fds + 1);
        EXPECT_EQ(held.fds, baseline.fds + 1);
        EXPECT_EQ(held.mappings, baseline.mappings + 3);
    }
    // An orderly close reaches the service at once: no call, no death, just the close.
    const auto closed = std::chrono::steady_clock::now();
    const Holdings after_one = settle(service.pid(), baseline.fds);
    EXPECT_EQ(after_one.fds, baseline.fds);
    EXPECT_LT(std::chrono::steady_clock::now() - closed, 1s);

    constexpr int kCycles = 10000;
    for (int cycle = 0; cycle < kCycles; ++cycle) {
        auto connection = Connection::open(*context_, "life.cycles", small_connection());
        ASSERT_TRUE(connection) << "cycle " << cycle << ": " << connection.error().describe();
        if (cycle % 100 == 0) {
            ASSERT_TRUE(call_once(*connection, 3)) << "cycle " << cycle;
        }
    }
    const Holdings after = settle(service.pid(), baseline.fds, baseline.mappings);
    EXPECT_EQ(after.fds, baseline.fds);
    EXPECT_EQ(after.mappings, baseline.mappings) << "new mappings:\n" << new_mappings(baseline, after);
    // RSS: flat within allocator noise (a leaked connection costs at least its ctrl page and
    // its reply pool's bookkeeping: 10,000 of them would be tens of MiB). Not under ASan: its
    // quarantine keeps freed memory resident (up to 256 MiB) rather than reusing it.
#if !defined(__SANITIZE_ADDRESS__)
    EXPECT_LT(after.rss_kib, baseline.rss_kib + 4096) << "baseline " << baseline.rss_kib << " KiB";
#endif

    // And the service still serves.
    auto last = Connection::open(*context_, "life.cycles", small_connection());
    ASSERT_TRUE(last) << last.error().describe();
    EXPECT_TRUE(call_once(*last, 4));
}

// The one limit left is the service's fd limit (one fd per connection): one past it, connect fails at
// once with a named error, and the service keeps serving the connections it has.
TEST_F(Lifecycle, OnePastTheServicesFdLimitConnectFailsAtOnce) {
    ServicePeer service(loader_.options(), small_service("life.limit"), ServiceHandler::answer_code, 48);
    std::vector<Connection> open;
    std::optional<Error> refused;
    std::chrono::steady_clock::duration refused_after{};
    for (int i = 0; i < 100 && !refused; ++i) {
        const auto started = std::chrono::steady_clock::now();
        auto connection = Connection::open(*context_, "life.limit", small_connection());  // 10 s timeout
        if (!connection) {
            refused = connection.error();
            refused_after = std::chrono::steady_clock::now() - started;
        } else {
            open.push_back(std::move(*connection));
        }
    }
    ASSERT_TRUE(refused) << "100 connections within a 48-fd limit";
    EXPECT_EQ(refused->code, Errc::no_memory) << refused->describe();
    EXPECT_LT(refused_after, 3s) << "refused only after " << std::chrono::duration<double>(refused_after).count() << " s";
    EXPECT_GE(open.size(), 10u);
    for (std::size_t i = 0; i < open.size(); ++i) EXPECT_TRUE(call_once(open[i], 10 + i)) << "connection " << i;
    // What is left afterwards: closing them frees their fds, and a new connection works again.
    const long held_open = holdings_of(service.pid()).fds;
    open.clear();
    const Holdings after = settle(service.pid(), held_open - 10);
    EXPECT_LE(after.fds, held_open - 10);
    auto again = Connection::open(*context_, "life.limit", small_connection());
    ASSERT_TRUE(again) << again.error().describe();
    EXPECT_TRUE(call_once(*again, 5));
}

// 100 processes x 100 connections, all open at once, each making a call.
TEST_F(Lifecycle, TenThousandConnectionsOpenAtOnce) {
    constexpr int kProcesses = 100;
    constexpr int kPerProcess = 100;
    // The service holds one fd per connection (its socket, also its doorbell).
    ServicePeer service(loader_.options(), small_service("life.many"), ServiceHandler::answer_code,
                        kProcesses * kPerProcess + 512);

    const ConnectOptions connect = small_connection();
    std::vector<Peer> clients;
    for (int p = 0; p < kProcesses; ++p)
        clients.push_back(Peer::spawn("hold_connections",
                                      peer_args(loader_.options(), "life.many", kPerProcess, connect.request_pool_bytes,
                                                connect.slots, connect.timeout.count())));
    // Each client reports once all its connections are open and each made its call; it holds
    // them until the test closes its end.
    int total = 0;
    for (Peer& client : clients) {
        int ok = 0;
        if (client.read(ok, 300s)) total += ok;
    }
    // All 10,000 open now: the service holds them all.
    const Holdings open = holdings_of(service.pid());
    EXPECT_GE(open.fds, kProcesses * kPerProcess);
    for (Peer& client : clients) client.close_commands();
    for (Peer& client : clients) EXPECT_EQ(client.wait(), 0) << "client exit status";
    EXPECT_EQ(total, kProcesses * kPerProcess) << "calls answered of " << kProcesses * kPerProcess;
    // The clients are gone: so are their connections.
    const Holdings after = settle(service.pid(), 64);
    EXPECT_LT(after.fds, 64);
}

}  // namespace
}  // namespace liteipc::testing
