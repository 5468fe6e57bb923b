// The newer C API (ipc_skeleton.h) against a service written with the older one (a real process,
// tests/system/peers/old_api_service.c, the service manager at handle 0): values, fds, a local
// object called back across APIs, death recipients.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "ipc_skeleton.h"  // by its bare name, as upstream code includes it
#include "loader_fixture.h"
#include "c_api_processes.h"
#include "peers/peer_protocol.h"
#include "rpc_errno.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

// One loader for the suite: the newer API keeps its process context for good (it has no close),
// as upstream's does.
class SkeletonInteropTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (!why_no_bpf().empty()) return;
        loader_ = new Loader("skeleton");
        if (!loader_->start()) return;
        ::setenv("LITEIPC_SOCKET", loader_->socket().c_str(), 1);
        ::setenv("LITEIPC_PIN_ROOT", loader_->pin_root().c_str(), 1);
    }
    static void TearDownTestSuite() {
        delete loader_;
        loader_ = nullptr;
        ::unsetenv("LITEIPC_SOCKET");
        ::unsetenv("LITEIPC_PIN_ROOT");
    }
    void SetUp() override {
        LITEIPC_REQUIRE_SYSTEM();
        ASSERT_NE(loader_, nullptr);
    }
    static inline Loader* loader_ = nullptr;
};

MessageOption sync_option() {
    MessageOption option;
    MessageOptionInit(&option);
    return option;
}

std::atomic<pid_t> g_stub_caller{0};

// A local object the old-API service calls back.
int32_t add_one(uint32_t code, IpcIo* data, IpcIo* reply, MessageOption option) {
    (void)option;
    if (code != PEER_ADD) return IPC_INVOKER_UNKNOWN_CODE;
    int32_t n = 0;
    ReadInt32(data, &n);
    g_stub_caller = GetCallingPid();
    WriteInt32(reply, n + 1);
    return ERR_NONE;
}

struct Deaths {
    std::mutex mutex;
    std::condition_variable changed;
    int fired = 0;
};
void on_dead(void* args) {
    auto* deaths = static_cast<Deaths*>(args);
    std::lock_guard lock(deaths->mutex);
    ++deaths->fired;
    deaths->changed.notify_all();
}

TEST_F(SkeletonInteropTest, NewApiClientOfAnOldApiService) {
    PeerProgram peer(LITEIPC_PEER_OLD_API);
    const SvcIdentity samgr = *GetContextObject();

    // Values both ways.
    uint8_t data[200];
    IpcIo request, reply;
    IpcIoInit(&request, data, sizeof data, 1);
    WriteInt32(&request, 41);
    WriteString(&request, "new to old");
    uintptr_t buffer = 0;
    ASSERT_EQ(SendRequest(samgr, PEER_ADD, &request, &reply, sync_option(), &buffer), ERR_NONE);
    int32_t n = 0, pid = 0;
    EXPECT_TRUE(ReadInt32(&reply, &n));
    EXPECT_EQ(n, 42);
    EXPECT_STREQ(reinterpret_cast<const char*>(ReadString(&reply, nullptr)), "new to old");
    EXPECT_TRUE(ReadInt32(&reply, &pid));
    EXPECT_EQ(pid, peer.pid());
    EXPECT_EQ(FreeBuffer(reinterpret_cast<void*>(buffer)), ERR_NONE);
    EXPECT_EQ(FreeBuffer(reinterpret_cast<void*>(buffer)), ERR_INVALID_PARAM) << "freed twice";

    ASSERT_EQ(SendRequest(samgr, PEER_WHO, nullptr, &reply, sync_option(), &buffer), ERR_NONE);
    EXPECT_TRUE(ReadInt32(&reply, &pid));
    EXPECT_EQ(pid, ::getpid()) << "the kernel-verified caller";
    FreeBuffer(reinterpret_cast<void*>(buffer));

    // An fd each way.
    int pipefd[2];
    ASSERT_EQ(::pipe(pipefd), 0);
    ASSERT_EQ(::write(pipefd[1], "x", 1), 1);
    IpcIoInit(&request, data, sizeof data, 1);
    WriteFileDescriptor(&request, static_cast<uint32_t>(pipefd[0]));
    ASSERT_EQ(SendRequest(samgr, PEER_FD, &request, &reply, sync_option(), &buffer), ERR_NONE);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    int32_t first = 0;
    EXPECT_TRUE(ReadInt32(&reply, &first));
    EXPECT_EQ(first, 'x');
    const int fd = ReadFileDescriptor(&reply);
    ASSERT_GE(fd, 0);
    char text[4] = {};
    EXPECT_EQ(::read(fd, text, 4), 4);
    EXPECT_EQ(std::string(text, 4), "peer");
    ::close(fd);
    FreeBuffer(reinterpret_cast<void*>(buffer));

    // A local object, handed over and called back by the old-API service.
    static IpcObjectStub stub = {add_one, nullptr, false};
    const SvcIdentity self{MIN_BINDER_HANDLE, 0, reinterpret_cast<uintptr_t>(&stub)};
    IpcIoInit(&request, data, sizeof data, 1);
    ASSERT_TRUE(WriteRemoteObject(&request, &self));
    WriteInt32(&request, 99);
    ASSERT_EQ(SendRequest(samgr, PEER_CALL_BACK, &request, &reply, sync_option(), &buffer), ERR_NONE);
    EXPECT_TRUE(ReadInt32(&reply, &n));
    EXPECT_EQ(n, 100);
    EXPECT_EQ(g_stub_caller.load(), peer.pid());
    FreeBuffer(reinterpret_cast<void*>(buffer));

    // Asynchronous requests return at once and need no buffer.
    MessageOption async = sync_option();
    async.flags = TF_OP_ASYNC;
    EXPECT_EQ(SendRequest(samgr, PEER_WHO, nullptr, nullptr, async, nullptr), ERR_NONE);
    EXPECT_EQ(SendRequest(samgr, PEER_WHO, nullptr, &reply, sync_option(), nullptr), ERR_INVALID_PARAM);
}

TEST_F(SkeletonInteropTest, DeathRecipientsFireOnceWhenTheServiceDies) {
    PeerProgram peer(LITEIPC_PEER_OLD_API);
    const SvcIdentity samgr = *GetContextObject();
    Deaths kept, removed;
    uint32_t kept_id = 0, removed_id = 0;
    ASSERT_EQ(AddDeathRecipient(samgr, on_dead, &kept, &kept_id), ERR_NONE);
    ASSERT_EQ(AddDeathRecipient(samgr, on_dead, &removed, &removed_id), ERR_NONE);
    EXPECT_NE(kept_id, removed_id);
    ASSERT_EQ(RemoveDeathRecipient(samgr, removed_id), ERR_NONE);
    EXPECT_EQ(RemoveDeathRecipient(samgr, removed_id), ERR_INVALID_PARAM);

    peer.kill();
    {
        std::unique_lock lock(kept.mutex);
        EXPECT_TRUE(kept.changed.wait_for(lock, 5s, [&] { return kept.fired == 1; }));
    }
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(kept.fired, 1) << "once";
    EXPECT_EQ(removed.fired, 0);

    // Calls to the dead service fail with ERR_DEAD_OBJECT, as many times as they are made, never
    // hang; a new death recipient is told at once.
    for (int i = 0; i < 3; ++i) {
        uintptr_t buffer = 0;
        IpcIo reply;
        EXPECT_EQ(SendRequest(samgr, PEER_WHO, nullptr, &reply, sync_option(), &buffer), ERR_DEAD_OBJECT);
        EXPECT_EQ(buffer, 0u);
    }
    Deaths late;
    uint32_t late_id = 1;
    EXPECT_EQ(AddDeathRecipient(samgr, on_dead, &late, &late_id), ERR_NONE);
    EXPECT_EQ(late.fired, 1);
    EXPECT_EQ(late_id, 0u);

    // A new process in the role of the context object is reached through the same handle.
    PeerProgram successor(LITEIPC_PEER_OLD_API);
    uintptr_t buffer = 0;
    IpcIo reply;
    EXPECT_EQ(SendRequest(samgr, PEER_WHO, nullptr, &reply, sync_option(), &buffer), ERR_NONE);
    if (buffer != 0) FreeBuffer(reinterpret_cast<void*>(buffer));
}

}  // namespace
}  // namespace liteipc::testing
