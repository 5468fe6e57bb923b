// A service withdrawn while its process lives on is, to its clients, its death: pending calls end
// with dead_object at once, the next call too, the connection's death callback runs once; the
// name can then be registered again and served.
#include <atomic>
#include <future>
#include <thread>

#include "dataplane_peers.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class Withdraw : public WithLoader<> {
protected:
    Withdraw() : WithLoader("wdrw") {}
};

// A withdraw_service peer serving `name`.
Peer spawn_withdraw_service(const ContextOptions& options, const std::string& name) {
    Peer service = Peer::spawn("withdraw_service", peer_args(options, name));
    char started = 0;
    EXPECT_TRUE(service.read(started) && started == 'y') << "withdraw_service " << name << " did not start";
    return service;
}

long long ms_since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

TEST_F(Withdraw, DestroyedServiceInALivingProcessIsItsDeathToItsClients) {
    const std::string name = "withdraw.cpp";
    Peer service = spawn_withdraw_service(loader_.options(), name);

    auto connection = Connection::open(*context_, name);
    ASSERT_TRUE(connection) << connection.error().describe();
    std::atomic<int> deaths{0};
    std::atomic<bool> withdrawn{false};
    auto subscription = connection->on_death([&](const DeathNotice& notice) {
        withdrawn = notice.withdrawn;
        ++deaths;
    });
    ASSERT_TRUE(subscription) << subscription.error().describe();

    // Two calls in the service's handlers (it says so), each with 10 s to run.
    auto slow_call = [&] {
        Request request(*connection);
        auto reply = connection->call(kSlowCall, request, 10000ms);
        return reply ? Errc{} : reply.error().code;
    };
    auto first = std::async(std::launch::async, slow_call);
    auto second = std::async(std::launch::async, slow_call);
    for (int i = 0; i < 2; ++i) {
        char running = 0;
        ASSERT_TRUE(service.read(running));
        ASSERT_EQ(running, 'h');
    }

    const auto withdraw = Clock::now();
    ASSERT_TRUE(service.send('w'));
    EXPECT_EQ(first.get(), Errc::dead_object);
    EXPECT_EQ(second.get(), Errc::dead_object);
    const long long pending_ended_ms = ms_since(withdraw);
    // The handlers still run for up to 2 s: the calls ended because the service hung up, not
    // because it answered.
    EXPECT_LT(pending_ended_ms, 500) << "pending calls ended " << pending_ended_ms << " ms after the withdrawal";

    const auto next = Clock::now();
    Request request(*connection);
    auto refused = connection->call(1, request, 10000ms);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::dead_object);
    EXPECT_LT(ms_since(next), 100);
    EXPECT_FALSE(connection->alive());

    char gone = 0;
    ASSERT_TRUE(service.read(gone));
    ASSERT_EQ(gone, 'd');
    // The same process serves the same name again; a new connection is served.
    ASSERT_TRUE(service.send('r'));
    char started = 0;
    ASSERT_TRUE(service.read(started));
    ASSERT_EQ(started, 'y');
    auto again = Connection::open(*context_, name);
    ASSERT_TRUE(again) << again.error().describe();
    Request hello(*again);
    auto answered = again->call(7, hello, 10000ms);
    ASSERT_TRUE(answered) << answered.error().describe();
    EXPECT_EQ(answered->reader().read_uint32(), 7u);

    // Once, and as a withdrawal: the process still lives.
    EXPECT_EQ(deaths.load(), 1);
    EXPECT_TRUE(withdrawn.load());
    EXPECT_TRUE(context_->alive(connection->service()));
    std::cout << "withdrawal to pending calls ended: " << pending_ended_ms << " ms\n";
}

// A death callback registered after the withdrawal runs at once.
TEST_F(Withdraw, CallbackOnAWithdrawnConnectionRunsAtOnce) {
    const std::string name = "withdraw.late";
    Peer service = spawn_withdraw_service(loader_.options(), name);
    char reported = 0;
    auto connection = Connection::open(*context_, name);
    ASSERT_TRUE(connection) << connection.error().describe();
    ASSERT_TRUE(service.send('w'));
    ASSERT_TRUE(service.read(reported));
    ASSERT_EQ(reported, 'd');
    // The hangup reaches our inbox thread shortly after the Service is gone.
    const auto give_up = Clock::now() + 5s;
    while (connection->alive() && Clock::now() < give_up) std::this_thread::sleep_for(1ms);
    EXPECT_FALSE(connection->alive());
    int deaths = 0;
    auto subscription = connection->on_death([&](const DeathNotice& notice) {
        EXPECT_TRUE(notice.withdrawn);
        ++deaths;
    });
    ASSERT_TRUE(subscription) << subscription.error().describe();
    EXPECT_EQ(deaths, 1);
}

}  // namespace
}  // namespace liteipc::testing
