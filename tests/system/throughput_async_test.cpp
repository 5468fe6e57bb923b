// Asynchronous calls between real processes: many in flight from one thread, replies out of order,
// the completion fd under poll(2), and a service killed with calls pending.
#include <poll.h>
#include <stdlib.h>

#include "liteipc/async.h"

#include <chrono>

#include "process_state.h"
#include "test_processes.h"

namespace liteipc::testing {
namespace {

using Clock = std::chrono::steady_clock;

class ThroughputAsyncTest : public WithLoader<> {
protected:
    ThroughputAsyncTest() : WithLoader("async") {}
    ServiceOptions options(const char* name) {
        ServiceOptions o;
        o.name = name;
        o.workers = 2;
        return o;
    }
    static Result<PendingReply> sleep_async(Connection& connection, int32_t milliseconds) {
        Request request(connection);
        request.writer().write_int32(milliseconds);
        return connection.call_async(kSleep, request, 30s);
    }
    static Result<PendingReply> echo_async(Connection& connection, int32_t n) {
        Request request(connection);
        request.writer().write_string("n" + std::to_string(n));
        request.writer().write_int32(n);
        return connection.call_async(kEcho, request, 30s);
    }
    static int readable_within(int fd, std::chrono::milliseconds timeout) {
        pollfd watched{fd, POLLIN, 0};
        return ::poll(&watched, 1, static_cast<int>(timeout.count()));
    }
    static void drain(int fd) {
        uint64_t count;
        while (::read(fd, &count, sizeof count) > 0) {
        }
    }
};

TEST_F(ThroughputAsyncTest, ManyCallsInFlightFromOneThreadEachGetTheirOwnReply) {
    ServiceProcess service(loader_.options(), options("test.async.many"));
    auto connection = Connection::open(*context_, "test.async.many");
    ASSERT_TRUE(connection) << connection.error().describe();
    constexpr int kInFlight = 48;  // of the 64 slots
    for (int round = 0; round < 20; ++round) {
        std::vector<PendingReply> pending;
        for (int i = 0; i < kInFlight; ++i) {
            auto call = echo_async(*connection, round * 1000 + i);
            ASSERT_TRUE(call) << call.error().describe();
            pending.push_back(std::move(*call));
        }
        for (int i = kInFlight; i-- > 0;) {  // collected in the reverse order
            auto reply = pending[i].wait(10s);
            ASSERT_TRUE(reply) << reply.error().describe();
            Reader reader = reply->reader();
            EXPECT_EQ(reader.read_string_view(), "n" + std::to_string(round * 1000 + i));
            EXPECT_EQ(reader.read_int32(), round * 1000 + i + 1);
            EXPECT_FALSE(pending[i]);  // collected
        }
    }
}

TEST_F(ThroughputAsyncTest, AReplyAnsweredFirstIsReadyFirstAndThePollableFdSaysSo) {
    ServiceProcess service(loader_.options(), options("test.async.order"));
    auto connection = Connection::open(*context_, "test.async.order");
    ASSERT_TRUE(connection) << connection.error().describe();
    auto fd = connection->completion_fd();
    ASSERT_TRUE(fd) << fd.error().describe();
    EXPECT_EQ(readable_within(*fd, 0ms), 0);  // nothing in flight yet

    auto slow = sleep_async(*connection, 1500);
    ASSERT_TRUE(slow) << slow.error().describe();
    std::this_thread::sleep_for(50ms);  // one worker runs it, the other is idle
    auto fast = echo_async(*connection, 7);
    ASSERT_TRUE(fast) << fast.error().describe();
    // The second call's reply comes first: the fd turns readable for it while the first still runs.
    ASSERT_EQ(readable_within(*fd, 10s), 1);
    drain(*fd);
    EXPECT_TRUE(fast->ready());
    EXPECT_FALSE(slow->ready());
    auto fast_reply = fast->wait(1ms);
    ASSERT_TRUE(fast_reply) << fast_reply.error().describe();
    EXPECT_EQ(fast_reply->reader().read_string_view(), "n7");
    // A short wait on the slow one times out and leaves it pending.
    auto early = slow->wait(1ms);
    ASSERT_FALSE(early);
    EXPECT_EQ(early.error().code, Errc::timed_out);
    EXPECT_TRUE(*slow);
    EXPECT_EQ(readable_within(*fd, 0ms), 0);
    ASSERT_EQ(readable_within(*fd, 10s), 1);
    EXPECT_TRUE(slow->ready());
    auto slow_reply = slow->wait(10s);
    ASSERT_TRUE(slow_reply) << slow_reply.error().describe();
    EXPECT_EQ(slow_reply->status(), 0);
}

// A call into an idle service with several workers wakes the one worker that serves it: none is
// woken on the chance that another call comes while the handler runs (the test above shows that
// one that does come is served meanwhile).
TEST_F(ThroughputAsyncTest, ACallToAnIdleServiceWakesOneWorker) {
    ServiceOptions quiet = options("test.async.idle");
    quiet.workers = 4;
    ServiceProcess service(loader_.options(), quiet);
    auto connection = Connection::open(*context_, "test.async.idle");
    ASSERT_TRUE(connection) << connection.error().describe();
    constexpr int kCalls = 200;
    auto call = [&](int n) {
        Request request(*connection);
        request.writer().write_string("idle");
        request.writer().write_int32(n);
        auto reply = connection->call(kEcho, request, 10s);
        ASSERT_TRUE(reply) << reply.error().describe();
        Reader reader = reply->reader();
        EXPECT_EQ(reader.read_string_view(), "idle");
        EXPECT_EQ(reader.read_int32(), n + 1);
    };
    call(-1);
    std::this_thread::sleep_for(20ms);  // every worker asleep
    const long before = thread_sleeps(service.pid());
    for (int n = 0; n < kCalls; ++n) {
        call(n);
        std::this_thread::sleep_for(2ms);  // the serving worker's poll (20 us) runs out: it sleeps again
    }
    const double per_call = static_cast<double>(thread_sleeps(service.pid()) - before) / kCalls;
    EXPECT_LT(per_call, 1.5) << "the service's threads slept " << per_call << " times per call";
    EXPECT_GT(per_call, 0.5);  // the worker did sleep between calls: this measured what it should
}

TEST_F(ThroughputAsyncTest, AKilledServiceEndsPendingCallsWithDeadObjectAndWakesTheFd) {
    auto service = std::make_unique<ServiceProcess>(loader_.options(), options("test.async.death"));
    auto connection = Connection::open(*context_, "test.async.death");
    ASSERT_TRUE(connection) << connection.error().describe();
    auto fd = connection->completion_fd();
    ASSERT_TRUE(fd) << fd.error().describe();
    std::vector<PendingReply> pending;
    for (int i = 0; i < 4; ++i) {
        auto call = sleep_async(*connection, 20'000);
        ASSERT_TRUE(call) << call.error().describe();
        pending.push_back(std::move(*call));
    }
    std::this_thread::sleep_for(50ms);  // both workers inside the handler
    EXPECT_EQ(readable_within(*fd, 0ms), 0);
    const auto killed = Clock::now();
    service->end(Ending::sigkill);
    ASSERT_EQ(readable_within(*fd, 5s), 1) << "the completion fd never heard of the death";
    for (auto& call : pending) {
        EXPECT_TRUE(call.ready());
        auto reply = call.wait(30s);
        ASSERT_FALSE(reply);
        EXPECT_EQ(reply.error().code, Errc::dead_object) << reply.error().describe();
    }
    EXPECT_LT(Clock::now() - killed, 5s);
    auto after = echo_async(*connection, 1);
    ASSERT_FALSE(after);
    EXPECT_EQ(after.error().code, Errc::dead_object);
}

TEST_F(ThroughputAsyncTest, TheCEntryPointsCallAsynchronouslyAndSignalThroughTheFd) {
    ServiceProcess service(loader_.options(), options("test.async.c"));
    ::setenv("LITEIPC_SOCKET", loader_.options().socket_path.c_str(), 1);
    ::setenv("LITEIPC_PIN_ROOT", loader_.options().pin_root.c_str(), 1);
    liteipc_async_connection* connection = nullptr;
    ASSERT_EQ(liteipc_async_open("test.async.c", &connection), 0);
    ::unsetenv("LITEIPC_SOCKET");
    ::unsetenv("LITEIPC_PIN_ROOT");
    const int fd = liteipc_completion_fd(connection);
    ASSERT_GE(fd, 0);
    liteipc_pending* calls[8] = {};
    for (int i = 0; i < 8; ++i) {
        const uint64_t word = 1000 + i;
        ASSERT_EQ(liteipc_call_async(connection, kRawEcho, &word, sizeof word, 10'000, &calls[i]), 0);
    }
    ASSERT_EQ(readable_within(fd, 10s), 1);
    for (int i = 8; i-- > 0;) {
        uint64_t word = 0;
        size_t size = 0;
        int32_t status = 0;
        ASSERT_EQ(liteipc_pending_wait(calls[i], 10'000, &word, sizeof word, &size, &status), 0);
        EXPECT_EQ(word, 1000u + i);
        EXPECT_EQ(size, sizeof word);
        EXPECT_EQ(status, 7);
        EXPECT_EQ(liteipc_pending_wait(calls[i], 1, &word, sizeof word, &size, &status), -LITEIPC_ASYNC_INVALID_ARGUMENT);
        liteipc_pending_free(calls[i]);
    }
    EXPECT_EQ(liteipc_call_async(nullptr, kRawEcho, nullptr, 0, 0, &calls[0]), -LITEIPC_ASYNC_INVALID_ARGUMENT);
    service.kill();
    liteipc_pending* orphan = nullptr;
    const auto killed = Clock::now();
    int published = liteipc_call_async(connection, kRawEcho, "x", 1, 1000, &orphan);
    if (published == 0) {
        EXPECT_EQ(liteipc_pending_wait(orphan, 30'000, nullptr, 0, nullptr, nullptr), -LITEIPC_ASYNC_DEAD_OBJECT);
        liteipc_pending_free(orphan);
    } else {
        EXPECT_EQ(published, -LITEIPC_ASYNC_DEAD_OBJECT);
    }
    EXPECT_LT(Clock::now() - killed, 5s);
    liteipc_async_close(connection);
}

}  // namespace
}  // namespace liteipc::testing
