// Death notification and crash cleanup, for services and for clients, whichever way they die.
#include <fstream>
#include <random>
#include <sstream>

#include "hugepage_holdings.h"
#include "process_state.h"
#include "test_processes.h"

namespace liteipc::testing {
namespace {

long processes_alive(Context& context) {
    auto status = context.loader_status();
    if (!status) return -1;
    auto at = status->find("\"processes_alive\":");
    return at == std::string::npos ? -1 : std::stol(status->substr(at + 18));
}

// Waits (bounded) until `value()` equals `expected`; returns the last value seen.
template <typename F>
long settles_to(long expected, F value) {
    long seen = value();
    for (int i = 0; i < 100 && seen != expected; ++i) {
        std::this_thread::sleep_for(20ms);
        seen = value();
    }
    return seen;
}

class CrashTest : public WithLoader<::testing::TestWithParam<Ending>> {
protected:
    CrashTest() : WithLoader("crash") {}
};

TEST_P(CrashTest, ServiceDeathFailsPendingCallsNotifiesOnceAndLeavesNothing) {
    const long alive_before = processes_alive(*context_);
    const auto hugepages_before = HugetlbHoldings::of_this_process_tree();
    const int mappings_before = liteipc_mapping_count();
    {
        ServiceOptions options;
        options.name = "crash.service";
        ServiceProcess service(loader_.options(), options);
        auto conn = Connection::open(*context_, "crash.service");
        ASSERT_TRUE(conn) << conn.error().describe();
        NoticeBox first, second;
        auto sub1 = context_->on_death(conn->service(), first.callback());
        auto sub2 = context_->on_death(conn->service(), second.callback());
        ASSERT_TRUE(sub1 && sub2);

        // A call pending on the service when it dies.
        Result<Reply> pending = fail(Errc::closed, "not run");
        std::chrono::steady_clock::time_point failed_at;
        std::thread caller([&] {
            Request request(*conn);
            request.writer().write_int32(20'000);
            pending = conn->call(kSleep, request, 30s);
            failed_at = std::chrono::steady_clock::now();
        });
        std::this_thread::sleep_for(150ms);
        auto ended_at = std::chrono::steady_clock::now();
        int status = service.end(GetParam());
        caller.join();

        ASSERT_FALSE(pending);
        EXPECT_EQ(pending.error().code, Errc::dead_object) << pending.error().describe();
        EXPECT_LT(failed_at - ended_at, 1s) << "a pending call must fail at the death, not at its timeout";
        ASSERT_TRUE(first.wait_for(1, 5s));
        ASSERT_TRUE(second.wait_for(1, 5s));
        std::this_thread::sleep_for(200ms);
        EXPECT_EQ(first.size(), 1u);
        EXPECT_EQ(second.size(), 1u);
        EXPECT_EQ(first.notices[0].exit_status, status);

        // A new call fails at once; the name is gone from the registry.
        Request again(*conn);
        auto next = conn->call(kEcho, again);
        ASSERT_FALSE(next);
        EXPECT_EQ(next.error().code, Errc::dead_object);
        auto gone = Connection::open(*context_, "crash.service");
        ASSERT_FALSE(gone);
        EXPECT_EQ(gone.error().code, Errc::not_found);
    }
    // The connection is dropped: every pool mapping, hugepage and slot is back.
    EXPECT_EQ(liteipc_mapping_count(), mappings_before);
    EXPECT_EQ(settles_to(alive_before, [&] { return processes_alive(*context_); }), alive_before);
    EXPECT_EQ(hugepages_left_over(hugepages_before), "");
}

TEST_P(CrashTest, ClientDeathDropsItsConnectionAtTheService) {
    ServiceOptions options;
    options.name = "crash.host";
    auto service = Service::start(*context_, options, handle);
    ASSERT_TRUE(service) << service.error().describe();
    const long alive_before = processes_alive(*context_);

    // A client in its own process, with a call in flight on another thread when it dies.
    Peer client = Peer::spawn("client_with_call_in_flight", peer_args(loader_.options(), "crash.host"));
    PeerId peer{};
    ASSERT_TRUE(client.read(peer));
    NoticeBox first, second;
    auto sub1 = context_->on_death(peer, first.callback());
    auto sub2 = context_->on_death(peer, second.callback());
    ASSERT_TRUE(sub1 && sub2);
    EXPECT_EQ(settles_to(1, [&] { return static_cast<long>(service->connection_count()); }), 1);

    Ending ending = GetParam();
    std::this_thread::sleep_for(100ms);
    if (ending == Ending::sigkill)
        client.signal(SIGKILL);
    else
        ASSERT_TRUE(client.send(ending));
    int status = client.wait();

    ASSERT_TRUE(first.wait_for(1, 5s));
    ASSERT_TRUE(second.wait_for(1, 5s));
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(first.size(), 1u);
    EXPECT_EQ(second.size(), 1u);
    EXPECT_EQ(first.notices[0].exit_status, status);
    EXPECT_EQ(settles_to(0, [&] { return static_cast<long>(service->connection_count()); }), 0)
        << "the service must drop the dead client's connection";
    EXPECT_EQ(settles_to(alive_before, [&] { return processes_alive(*context_); }), alive_before);
}

INSTANTIATE_TEST_SUITE_P(Endings, CrashTest, kAllEndings,
                         [](const auto& info) { return std::string(ending_name(info.param)); });

class RestartTest : public WithLoader<> {
protected:
    RestartTest() : WithLoader("restart") {}
};

TEST_F(RestartTest, ANewServiceUnderTheSameNameGetsANewHandleAndStaleHandlesStayDead) {
    ServiceOptions options;
    options.name = "restart.svc";
    auto first = std::make_unique<ServiceProcess>(loader_.options(), options);
    auto old = Connection::open(*context_, "restart.svc");
    ASSERT_TRUE(old);
    uint32_t old_handle = old->handle();
    first->end(Ending::sigkill);

    ServiceProcess second(loader_.options(), options);
    auto fresh = Connection::open(*context_, "restart.svc");
    ASSERT_TRUE(fresh) << fresh.error().describe();
    EXPECT_NE(fresh->handle(), old_handle);
    Request request(*old);
    auto stale = old->call(kEcho, request);
    ASSERT_FALSE(stale);
    EXPECT_EQ(stale.error().code, Errc::dead_object);
    auto by_old_handle = Connection::open(*context_, old_handle);
    ASSERT_FALSE(by_old_handle);
    EXPECT_EQ(by_old_handle.error().code, Errc::not_found);
}

// Services are killed and restarted for a bounded time while clients call them: no call outlives
// its timeout, every death is told exactly once, and memory comes back.
TEST_F(RestartTest, SoakKillAndRestartWhileCalling) {
    const auto soak = std::chrono::seconds(std::getenv("LITEIPC_SOAK_SECONDS") ? std::atoi(std::getenv("LITEIPC_SOAK_SECONDS")) : 10);
    constexpr auto kCallTimeout = 500ms;
    const int mappings_before = liteipc_mapping_count();
    const long alive_before = processes_alive(*context_);
    const auto hugepages_before = HugetlbHoldings::of_this_process_tree();

    ServiceOptions options;
    options.name = "soak.svc";
    std::atomic<bool> stop{false};
    std::atomic<long> calls{0}, late{0}, wrong_error{0};
    std::atomic<long> worst_ms{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 3; ++t) {
        clients.emplace_back([&, t] {
            std::optional<Connection> conn;
            while (!stop) {
                if (!conn || !conn->alive()) {
                    conn.reset();
                    auto opened = Connection::open(*context_, "soak.svc");
                    if (!opened) {
                        std::this_thread::sleep_for(2ms);
                        continue;
                    }
                    conn.emplace(std::move(*opened));
                }
                Request request(*conn);
                request.writer().write_string("soak");
                request.writer().write_int32(t);
                auto started = std::chrono::steady_clock::now();
                auto reply = conn->call(kEcho, request, kCallTimeout);
                auto took = std::chrono::steady_clock::now() - started;
                long ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
                long seen = worst_ms.load();
                while (ms > seen && !worst_ms.compare_exchange_weak(seen, ms)) {}
                if (took > kCallTimeout + 300ms) late.fetch_add(1);
                if (reply) {
                    calls.fetch_add(1);
                } else if (reply.error().code != Errc::dead_object && reply.error().code != Errc::timed_out) {
                    wrong_error.fetch_add(1);
                    ADD_FAILURE() << reply.error().describe();
                }
            }
        });
    }

    std::mt19937 random(42);
    int deaths = 0;
    std::vector<std::unique_ptr<NoticeBox>> boxes;
    std::vector<DeathSubscription> subscriptions;
    auto deadline = std::chrono::steady_clock::now() + soak;
    while (std::chrono::steady_clock::now() < deadline) {
        ServiceProcess service(loader_.options(), options);
        auto watch = Connection::open(*context_, "soak.svc");
        if (watch) {
            boxes.push_back(std::make_unique<NoticeBox>());
            auto sub = context_->on_death(watch->service(), boxes.back()->callback());
            if (sub) subscriptions.push_back(std::move(*sub));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50 + random() % 150));
        service.end(Ending::sigkill);
        ++deaths;
    }
    stop = true;
    for (auto& client : clients) client.join();

    std::this_thread::sleep_for(300ms);
    long notified = 0, doubled = 0;
    for (auto& box : boxes) {
        notified += box->size() >= 1;
        doubled += box->size() > 1;
    }
    EXPECT_GT(calls.load(), 0);
    EXPECT_EQ(late.load(), 0) << "worst call took " << worst_ms.load() << " ms";
    EXPECT_EQ(wrong_error.load(), 0);
    EXPECT_EQ(notified, static_cast<long>(boxes.size())) << "a death notice was lost";
    EXPECT_EQ(doubled, 0) << "a death notice came twice";
    subscriptions.clear();
    EXPECT_EQ(liteipc_mapping_count(), mappings_before);
    EXPECT_EQ(settles_to(alive_before, [&] { return processes_alive(*context_); }), alive_before);
    EXPECT_EQ(hugepages_left_over(hugepages_before), "");
    std::printf("soak: %d service deaths, %ld calls served, worst call %ld ms\n", deaths, calls.load(),
                worst_ms.load());
}

}  // namespace
}  // namespace liteipc::testing
