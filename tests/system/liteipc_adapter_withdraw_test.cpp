// The older C API meets a service withdrawn while its process lives as its death: the pending
// SendRequest ends with LITEIPC_DEAD_OBJECT at once, RegisterDeathCallback's handler runs once, and
// the handle stays dead: later requests end with LITEIPC_DEAD_OBJECT too, not as for a handle
// never handed out.
#include <atomic>
#include <thread>

#include "c_api_fixture.h"
#include "dataplane_peers.h"
#include "process_state.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class LiteIpcAdapterWithdrawTest : public CApiTest {
protected:
    LiteIpcAdapterWithdrawTest() : CApiTest("capiwd") {}
};

std::atomic<int> withdrawals{0};
int32_t count_withdrawal(const IpcContext*, void*, IpcIo*, void*) {
    ++withdrawals;
    return 0;
}

TEST_F(LiteIpcAdapterWithdrawTest, PendingRequestEndsWithDeadObjectAndTheDeathCallbackRunsOnce) {
    Peer service = Peer::spawn("withdraw_service", peer_args(loader_.options(), std::string("capi.withdraw")));
    char reported = 0;
    ASSERT_TRUE(service.read(reported));
    ASSERT_EQ(reported, 'y');
    IpcContext* context = open();
    const int fds_before = open_fd_count();
    const int mappings_before = liteipc_mapping_count();
    SvcIdentity sid{};
    ASSERT_EQ(LiteIpcGetService(context, "capi.withdraw", &sid), LITEIPC_OK);
    ASSERT_EQ(BinderAcquire(context, sid.handle), LITEIPC_OK);  // so that it can be released below
    withdrawals = 0;
    uint32_t id = 0;
    ASSERT_EQ(RegisterDeathCallback(context, sid, count_withdrawal, nullptr, &id), LITEIPC_OK);

    std::atomic<int32_t> pending{LITEIPC_OK};
    Clock::time_point ended;
    std::thread caller([&] {
        IpcIo reply;
        uintptr_t buffer = 0;
        pending = SendRequest(context, sid, kSlowCall, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer);
        ended = Clock::now();
        if (pending == LITEIPC_OK) FreeBuffer(context, reinterpret_cast<void*>(buffer));
    });
    ASSERT_TRUE(service.read(reported));
    ASSERT_EQ(reported, 'h');
    const auto withdrawn = Clock::now();
    ASSERT_TRUE(service.send('w'));
    caller.join();
    EXPECT_EQ(pending.load(), LITEIPC_DEAD_OBJECT);
    EXPECT_LT(ended - withdrawn, 500ms);

    const auto give_up = Clock::now() + 2s;
    while (withdrawals.load() < 1 && Clock::now() < give_up) std::this_thread::sleep_for(1ms);
    EXPECT_LT(Clock::now() - withdrawn, 500ms);
    ASSERT_TRUE(service.read(reported));
    ASSERT_EQ(reported, 'd');
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(withdrawals.load(), 1);

    // The next requests fail at once, as the pending one did: the handle is withdrawn, not unknown.
    const auto next = Clock::now();
    IpcIo reply;
    uintptr_t buffer = 0;
    EXPECT_EQ(SendRequest(context, sid, 1, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_DEAD_OBJECT);
    EXPECT_EQ(SendRequest(context, sid, 1, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_DEAD_OBJECT);
    EXPECT_EQ(SendRequest(context, sid, 1, nullptr, nullptr, LITEIPC_FLAG_ONEWAY, nullptr), LITEIPC_DEAD_OBJECT);
    EXPECT_EQ(buffer, 0u);
    EXPECT_LT(Clock::now() - next, 100ms);
    // A handle never handed out is unknown, as before.
    const SvcIdentity never{sid.handle + 1000, 0, 0};
    EXPECT_EQ(SendRequest(context, never, 1, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_ENOENT);
    EXPECT_EQ(withdrawals.load(), 1) << "the death callback runs once";

    // Nothing is left: released, the connection's fds and mappings are gone.
    EXPECT_EQ(BinderRelease(context, sid.handle), LITEIPC_OK);
    EXPECT_EQ(open_fd_count(), fds_before);
    EXPECT_EQ(liteipc_mapping_count(), mappings_before);
}

}  // namespace
}  // namespace liteipc::testing
