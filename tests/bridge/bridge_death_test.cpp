// Losing the peer reaches local clients of an imported service exactly as a death does: the
// remote service killed, then the remote bridge killed, then the link cut. Each time, calls
// pending on remote.b.demo.slow end with dead_object within the stated bound, the death callback
// on the imported service fires once, and the import comes back once the remote does.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <thread>

#include "bridge_fixture.h"

namespace liteipc::testing {
namespace {

using std::chrono::milliseconds;

// docs/BRIDGE.md: a death on the other host is seen at once (the watch ends), a cut link within
// the keepalive interval and timeout. The slack is for a loaded 2-core machine.
constexpr milliseconds kDeathBound{1000};
constexpr milliseconds kLinkBound{2 * 500 + 1000};

class BridgeDeathTest : public BridgeTest {
protected:
    // Opens remote.b.demo.slow once the import is (back) there.
    std::optional<Connection> import_slow() {
        std::optional<Connection> slow;
        eventually(
            [&] {
                auto opened = Connection::open(*context_, "remote.b.demo.slow");
                if (opened) slow.emplace(std::move(*opened));
                return slow.has_value();
            },
            std::chrono::seconds(20));
        return slow;
    }

    // Leaves calls pending on the service (it sleeps through them), runs `lose`, and checks
    // what the callers and the death callback see.
    void expect_loss_seen_as_death(const char* what, const std::function<void()>& lose, milliseconds bound) {
        auto slow = import_slow();
        ASSERT_TRUE(slow) << what << ": remote.b.demo.slow not imported (again)";
        std::atomic<int> deaths{0};
        auto subscription = context_->on_death(slow->service(), [&](const DeathNotice&) { ++deaths; });
        ASSERT_TRUE(subscription) << subscription.error().describe();

        constexpr int kPending = 2;
        std::vector<std::optional<Error>> errors(kPending);
        std::vector<std::chrono::steady_clock::time_point> ended(kPending);
        std::vector<std::thread> callers;
        for (int i = 0; i < kPending; ++i)
            callers.emplace_back([&, i] {
                Request request(*slow);
                request.writer().write_uint32(30000);  // the service holds the call 30 s
                auto reply = slow->call(kSleep, request, std::chrono::seconds(40));
                ended[i] = std::chrono::steady_clock::now();
                if (!reply) errors[i] = reply.error();
            });
        std::this_thread::sleep_for(milliseconds(500));  // the calls are at the service on b
        const auto lost_at = std::chrono::steady_clock::now();
        lose();
        for (auto& caller : callers) caller.join();
        for (int i = 0; i < kPending; ++i) {
            ASSERT_TRUE(errors[i].has_value()) << what << ": call " << i << " succeeded";
            EXPECT_EQ(errors[i]->code, Errc::dead_object) << what << ": " << errors[i]->describe();
            const auto after = std::chrono::duration_cast<milliseconds>(ended[i] - lost_at);
            EXPECT_LT(after, bound) << what;
            std::printf("[ figure ] %s: pending call %d ended with %s after %lld ms (bound %lld ms)\n", what, i,
                        errors[i]->describe().c_str(), static_cast<long long>(after.count()),
                        static_cast<long long>(bound.count()));
        }
        EXPECT_TRUE(eventually([&] { return deaths.load() >= 1; }, std::chrono::seconds(5))) << what;
        std::this_thread::sleep_for(milliseconds(300));
        EXPECT_EQ(deaths.load(), 1) << what << ": the death callback fires once";
        Request again(*slow);
        auto later = slow->call(kEcho, again);
        ASSERT_FALSE(later) << what;
        EXPECT_EQ(later.error().code, Errc::dead_object) << what;
    }
};

TEST_F(BridgeDeathTest, RemoteServiceDeathThenRemoteBridgeDeathThenCutLinkEachEndPendingCallsAsADeath) {
    Host& b = hosts_.b();
    expect_loss_seen_as_death("remote service killed", [&] { b.processes[1]->kill(SIGKILL); }, kDeathBound);
    start_slow_service();

    expect_loss_seen_as_death("remote bridge killed", [&] { b.bridge->kill(SIGKILL); }, kDeathBound);
    hosts_.start_bridge(b);

    expect_loss_seen_as_death("link cut", [&] { ASSERT_TRUE(hosts_.cut_link()); }, kLinkBound);

    // The bridge on a keeps probing the lost peer and answers its status meanwhile.
    auto status = bridge_status(hosts_.a());
    EXPECT_EQ(status["imports"].size(), 3u) << status.dump();
}

// No death that did not happen: an import child with no call under way reads its keepalive's
// answers only when its watch thread looks (polled_stream.h), several times per keepalive
// timeout. With the shortest keepalive the config allows, an idle import stays up for 30 of
// them, and its next call is answered.
class BridgeIdleKeepaliveTest : public BridgeTest {
protected:
    BridgeIdleKeepaliveTest() { keepalive_ms_ = 100; }
};

TEST_F(BridgeIdleKeepaliveTest, AnIdleImportOutlivesThirtyKeepaliveTimeouts) {
    auto starts = [&] {
        const nlohmann::json status = bridge_status(hosts_.a());
        for (const auto& import : status["imports"])
            if (import["service"] == "remote.b.demo.slow") return import["starts"].get<int>();
        return -1;
    };
    ASSERT_EQ(starts(), 1);
    std::this_thread::sleep_for(milliseconds(30 * 2 * keepalive_ms_));
    EXPECT_EQ(starts(), 1) << "the import's child was started again: its log:\n" << hosts_.a().bridge->output();
    Connection slow = connect("remote.b.demo.slow");
    Request request(slow);
    request.writer().write_string("still here");
    auto reply = slow.call(kEcho, request, std::chrono::seconds(5));
    ASSERT_TRUE(reply) << reply.error().describe();
    EXPECT_EQ(reply->status(), 0);
    EXPECT_EQ(reply->reader().read_string(), "still here");
}

}  // namespace
}  // namespace liteipc::testing

namespace liteipc::testing {
namespace {

// A Service object destroyed while its process lives is its death to its clients: the pending call
// ends with dead_object at once (the handler still runs), the next call too, and the connection's
// death callback runs once, marked withdrawn. Per-process callbacks do not run: the process lives.
class ServiceObjectEndTest : public WithLoader<> {
protected:
    ServiceObjectEndTest() : WithLoader("bridge-end") {}
};

TEST_F(ServiceObjectEndTest, DestroyingAServiceObjectIsADeathToItsClients) {
    std::atomic<bool> release{false};
    std::optional<Service> service;
    auto started = Service::start(*context_, {.name = "demo.ending", .policy = Policy::anyone}, [&](Call&) {
        while (!release) std::this_thread::sleep_for(milliseconds(1));
        return 0;
    });
    ASSERT_TRUE(started) << started.error().describe();
    service.emplace(std::move(*started));
    auto connection = Connection::open(*context_, "demo.ending");
    ASSERT_TRUE(connection) << connection.error().describe();
    std::atomic<int> connection_deaths{0};
    std::atomic<int> process_deaths{0};
    auto subscription = connection->on_death([&](const DeathNotice& notice) {
        if (notice.withdrawn) ++connection_deaths;
    });
    ASSERT_TRUE(subscription);
    auto process_subscription = context_->on_death(connection->service(), [&](const DeathNotice&) { ++process_deaths; });
    ASSERT_TRUE(process_subscription);
    std::optional<Error> pending_error;
    std::chrono::steady_clock::time_point pending_ended;
    std::thread caller([&] {
        Request request(*connection);
        auto reply = connection->call(kEcho, request, std::chrono::seconds(5));
        pending_ended = std::chrono::steady_clock::now();
        if (!reply) pending_error = reply.error();
    });
    std::this_thread::sleep_for(milliseconds(200));
    const auto withdrawn = std::chrono::steady_clock::now();
    std::thread ender([&] { service.reset(); });  // waits for the call in its handler
    std::this_thread::sleep_for(milliseconds(500));
    release = true;
    ender.join();
    caller.join();
    ASSERT_TRUE(pending_error) << "the pending call was answered";
    EXPECT_EQ(pending_error->code, Errc::dead_object) << pending_error->describe();
    EXPECT_LT(pending_ended - withdrawn, milliseconds(500));
    const auto next = std::chrono::steady_clock::now();
    Request again(*connection);
    auto later = connection->call(kEcho, again, std::chrono::seconds(2));
    ASSERT_FALSE(later) << "a destroyed service answered";
    EXPECT_EQ(later.error().code, Errc::dead_object) << later.error().describe();
    EXPECT_LT(std::chrono::steady_clock::now() - next, milliseconds(100));
    EXPECT_EQ(connection_deaths.load(), 1);
    EXPECT_EQ(process_deaths.load(), 0);
}

}  // namespace
}  // namespace liteipc::testing
