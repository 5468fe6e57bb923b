// The older C API (liteipc_adapter.h) and the C++ API against a service written with the newer C
// API (a real process, tests/system/peers/new_api_service.c, the context object at handle 0):
// values, fds, a callback handed across APIs, death callbacks.
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "liteipc/ipc.h"
#include "c_api_fixture.h"
#include "peers/peer_protocol.h"
#include "test_processes.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

class AdapterInteropTest : public CApiTest {
protected:
    AdapterInteropTest() : CApiTest("interop") {}
};

std::atomic<pid_t> g_callback_caller{0};

int32_t add_one(const IpcContext* context, void* ipcMsg, IpcIo* data, void*) {
    uint8_t out[64];
    IpcIo reply;
    IpcIoInit(&reply, out, sizeof out, 0);
    IpcIoPushInt32(&reply, IpcIoPopInt32(data) + 1);
    g_callback_caller = GetCallingPid(ipcMsg);
    SendReply(context, ipcMsg, &reply);
    return 0;
}

struct Deaths {
    std::mutex mutex;
    std::condition_variable changed;
    int fired = 0;
};
int32_t on_death(const IpcContext*, void*, IpcIo*, void* arg) {
    auto* deaths = static_cast<Deaths*>(arg);
    std::lock_guard lock(deaths->mutex);
    ++deaths->fired;
    deaths->changed.notify_all();
    return 0;
}

TEST_F(AdapterInteropTest, OldApiAndCxxClientsOfANewApiService) {
    PeerProgram peer(LITEIPC_PEER_NEW_API);

    // C++ first, from a process of its own: the context object under its name.
    const auto cxx = in_child<3>([&]() -> std::array<int, 3> {
        auto context = Context::open(loader_.options());
        if (!context) return {-1, -1, -1};
        auto service = Connection::open(*context, "liteipc.context");
        if (!service) return {-2, -2, -2};
        Request request(*service);
        request.writer().write_int32(6);
        request.writer().write_string("c++ to new");
        auto reply = service->call(PEER_ADD, request);
        if (!reply) return {-3, -3, -3};
        Reader reader = reply->reader();
        const int n = reader.read_int32();
        const bool same = reader.read_string_view() == "c++ to new";
        const int pid = reader.read_int32();
        return {n, same && reader.ok() ? 1 : 0, pid};
    });
    EXPECT_EQ(cxx[0], 7);
    EXPECT_EQ(cxx[1], 1);
    EXPECT_EQ(cxx[2], peer.pid());

    context_ = OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE);
    ASSERT_NE(context_, nullptr);
    const SvcIdentity samgr{0, 0, 0};
    uint8_t data[200];
    IpcIo request, reply;
    IpcIoInit(&request, data, sizeof data, 1);
    IpcIoPushInt32(&request, 1);
    IpcIoPushString(&request, "old to new");
    uintptr_t buffer = 0;
    ASSERT_EQ(SendRequest(context_, samgr, PEER_ADD, &request, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
    EXPECT_EQ(IpcIoPopInt32(&reply), 2);
    EXPECT_STREQ(reinterpret_cast<const char*>(IpcIoPopString(&reply, nullptr)), "old to new");
    EXPECT_EQ(IpcIoPopInt32(&reply), peer.pid());
    FreeBuffer(context_, reinterpret_cast<void*>(buffer));

    ASSERT_EQ(SendRequest(context_, samgr, PEER_WHO, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
    EXPECT_EQ(IpcIoPopInt32(&reply), ::getpid());
    FreeBuffer(context_, reinterpret_cast<void*>(buffer));

    // An fd each way.
    int pipefd[2];
    ASSERT_EQ(::pipe(pipefd), 0);
    ASSERT_EQ(::write(pipefd[1], "y", 1), 1);
    IpcIoInit(&request, data, sizeof data, 1);
    IpcIoPushFd(&request, static_cast<uint32_t>(pipefd[0]));
    ASSERT_EQ(SendRequest(context_, samgr, PEER_FD, &request, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    EXPECT_EQ(IpcIoPopInt32(&reply), 'y');
    const int fd = IpcIoPopFd(&reply);
    ASSERT_GE(fd, 0);
    char text[4] = {};
    EXPECT_EQ(::read(fd, text, 4), 4);
    EXPECT_EQ(std::string(text, 4), "peer");
    ::close(fd);
    FreeBuffer(context_, reinterpret_cast<void*>(buffer));

    // An old-API callback, called back by the new-API service.
    SvcIdentity callback{};
    ASSERT_EQ(RegisterIpcCallback(add_one, ONCE, IPC_WAIT_FOREVER, &callback, nullptr), LITEIPC_OK);
    IpcIoInit(&request, data, sizeof data, 1);
    IpcIoPushSvc(&request, &callback);
    IpcIoPushInt32(&request, 20);
    ASSERT_EQ(SendRequest(context_, samgr, PEER_CALL_BACK, &request, &reply, LITEIPC_FLAG_DEFAULT, &buffer),
              LITEIPC_OK);
    EXPECT_EQ(IpcIoPopInt32(&reply), 21);
    EXPECT_EQ(g_callback_caller.load(), peer.pid());
    FreeBuffer(context_, reinterpret_cast<void*>(buffer));

    // Its death reaches the old API's callbacks, once.
    Deaths deaths;
    uint32_t id = 0;
    ASSERT_EQ(RegisterDeathCallback(context_, samgr, on_death, &deaths, &id), LITEIPC_OK);
    peer.kill();
    std::unique_lock lock(deaths.mutex);
    EXPECT_TRUE(deaths.changed.wait_for(lock, 5s, [&] { return deaths.fired == 1; }));
}

}  // namespace
}  // namespace liteipc::testing
