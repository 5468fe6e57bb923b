// The C API as samgr_lite's endpoint uses it: a handler hands the request to a task thread, which
// reads it later (IpcIoInitFromMsg) and replies (SendReply) or drops it (FreeBuffer); data
// buffers of 64 KiB beside a small IpcIo, both ways; the service manager at handle 0.
#include <sys/syscall.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "c_api_fixture.h"  // liteipc_adapter.h by its bare name, as LiteIPC code includes it
#include "capi_handlers.h"
#include "peer.h"
#include "peer_args.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

enum DeferredCode : uint32_t { kAddLater = 1, kDropLater = 2, kDropInHandler = 3, kBuffers = 4, kFreesSoFar = 5 };
constexpr uint32_t kBufferBytes = 64 * 1024;

// The endpoint's hand-off: the handler queues, the task thread serves.
struct TaskQueue {
    std::mutex mutex;
    std::condition_variable queued;
    std::deque<void*> messages;
};
TaskQueue g_tasks;
std::atomic<int> g_handlers_returned{0};
std::atomic<int> g_reply_frees{0};

uint8_t pattern(size_t i, uint32_t seed) { return static_cast<uint8_t>(i * 31 + seed); }

void free_reply_buffer(void* ptr) {
    g_reply_frees.fetch_add(1);
    std::free(ptr);
}

int32_t endpoint_handler(const IpcContext* context, void* ipcMsg, IpcIo* data, void* arg) {
    (void)data;
    (void)arg;
    uint32_t code = 0;
    GetCode(ipcMsg, &code);
    if (code == kDropInHandler) {
        FreeBuffer(context, ipcMsg);
        return 0;
    }
    {
        std::lock_guard lock(g_tasks.mutex);
        g_tasks.messages.push_back(ipcMsg);
    }
    g_tasks.queued.notify_one();
    g_handlers_returned.fetch_add(1);
    return 0;
}

// The task thread: every request is answered here, after its handler returned.
void task_thread(const IpcContext* context) {
    for (;;) {
        void* msg;
        {
            std::unique_lock lock(g_tasks.mutex);
            g_tasks.queued.wait(lock, [] { return !g_tasks.messages.empty(); });
            msg = g_tasks.messages.front();
            g_tasks.messages.pop_front();
        }
        std::this_thread::sleep_for(20ms);  // well after the handler returned
        uint32_t code = 0;
        GetCode(msg, &code);
        IpcIo request;
        IpcIoInitFromMsg(&request, msg);
        uint8_t out[200];
        IpcIo reply;
        IpcIoInit(&reply, out, sizeof out, 1);
        switch (code) {
            case kAddLater:
                IpcIoPushInt32(&reply, IpcIoPopInt32(&request) + 1);
                IpcIoPushInt32(&reply, g_handlers_returned.load());
                IpcIoPushInt32(&reply, static_cast<int32_t>(::syscall(SYS_gettid)));
                IpcIoPushInt32(&reply, GetCallingPid(msg));
                break;
            case kDropLater:
                FreeBuffer(context, msg);
                continue;
            case kBuffers: {
                // The client's 64 KiB, read in place; then 64 KiB back, freed by the runtime.
                const uint32_t seed = IpcIoPopUint32(&request);
                BuffPtr* in = IpcIoPopDataBuff(&request);
                int32_t intact = in != nullptr && in->buffSz == kBufferBytes;
                for (size_t i = 0; intact && i < kBufferBytes; ++i)
                    intact = static_cast<const uint8_t*>(in->buff)[i] == pattern(i, seed);
                auto* back = static_cast<uint8_t*>(std::malloc(kBufferBytes));
                for (size_t i = 0; i < kBufferBytes; ++i) back[i] = pattern(i, seed + 1);
                const BuffPtr buff{kBufferBytes, back};
                IpcIoPushInt32(&reply, intact);
                IpcIoPushDataBuffWithFree(&reply, &buff, free_reply_buffer);
                break;
            }
            case kFreesSoFar:
                IpcIoPushInt32(&reply, g_reply_frees.load());
                break;
            default:
                break;
        }
        SendReply(context, msg, &reply);
    }
}

class LiteIpcDeferredTest : public CApiTest {
protected:
    LiteIpcDeferredTest() : CApiTest("capi-late") {}

    // An endpoint process: one worker (the "boss"), a task thread answering everything.
    std::unique_ptr<ForkedServer> start_endpoint(const char* name) {
        return std::make_unique<ForkedServer>(
            [name] {
                IpcContext* context = OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE);
                LiteIpcServiceOptions options{name, LITEIPC_POLICY_SAME_UID, 0, 0, 1, LITEIPC_SERVICE_DIRECT};
                SvcIdentity sid;
                if (context == nullptr ||
                    LiteIpcRegisterServiceEx(context, &options, endpoint_handler, nullptr, &sid) != LITEIPC_OK)
                    return false;
                std::thread(task_thread, context).detach();
                return true;
            },
            [] { StartLoop(nullptr, endpoint_handler, nullptr); });
    }

};

TEST_F(LiteIpcDeferredTest, ATaskThreadRepliesAfterTheHandlerReturned) {
    auto endpoint = start_endpoint("late.add");
    IpcContext* context = open();
    SvcIdentity sid{};
    ASSERT_EQ(LiteIpcGetService(context, "late.add", &sid), LITEIPC_OK);
    // Several at once on one worker: each handler returns at once, the task thread answers all.
    std::vector<std::thread> callers;
    std::atomic<int> answered{0};
    for (int t = 0; t < 4; ++t) {
        callers.emplace_back([&, t] {
            for (int i = 0; i < 5; ++i) {
                uint8_t data[32];
                IpcIo request, reply;
                IpcIoInit(&request, data, sizeof data, 0);
                IpcIoPushInt32(&request, t * 100 + i);
                uintptr_t buffer = 0;
                ASSERT_EQ(SendRequest(context, sid, kAddLater, &request, &reply, LITEIPC_FLAG_DEFAULT, &buffer),
                          LITEIPC_OK);
                EXPECT_EQ(IpcIoPopInt32(&reply), t * 100 + i + 1);
                EXPECT_GE(IpcIoPopInt32(&reply), 1) << "the handler had returned";
                EXPECT_NE(IpcIoPopInt32(&reply), endpoint->pid()) << "answered on the task thread";
                EXPECT_EQ(IpcIoPopInt32(&reply), ::getpid());
                EXPECT_TRUE(IpcIoAvailable(&reply));
                EXPECT_EQ(FreeBuffer(context, reinterpret_cast<void*>(buffer)), LITEIPC_OK);
                answered.fetch_add(1);
            }
        });
    }
    for (auto& caller : callers) caller.join();
    EXPECT_EQ(answered.load(), 20);
}

TEST_F(LiteIpcDeferredTest, ARequestFreedWithoutAReplyFailsItsCallerAtOnce) {
    auto endpoint = start_endpoint("late.drop");
    IpcContext* context = open();
    SvcIdentity sid{};
    ASSERT_EQ(LiteIpcGetService(context, "late.drop", &sid), LITEIPC_OK);
    for (uint32_t code : {kDropLater, kDropInHandler}) {
        IpcIo reply;
        uintptr_t buffer = 0;
        const auto started = std::chrono::steady_clock::now();
        EXPECT_EQ(LiteIpcSendRequestTimeout(context, sid, code, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer, 10000),
                  LITEIPC_FAILED_REPLY)
            << "code " << code;
        EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "at once, not at the timeout";
        EXPECT_EQ(buffer, 0u) << "no reply buffer to free";
    }
    // The service goes on answering.
    IpcIo reply;
    uintptr_t buffer = 0;
    ASSERT_EQ(SendRequest(context, sid, kFreesSoFar, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
    FreeBuffer(context, reinterpret_cast<void*>(buffer));
}

std::atomic<int> g_request_frees{0};
void free_request_buffer(void* ptr) {
    g_request_frees.fetch_add(1);
    std::free(ptr);
}

TEST_F(LiteIpcDeferredTest, SixtyFourKibDataBuffersBesideA200ByteIpcIoBothWays) {
    auto endpoint = start_endpoint("late.buffers");
    IpcContext* context = open();
    SvcIdentity sid{};
    ASSERT_EQ(LiteIpcGetService(context, "late.buffers", &sid), LITEIPC_OK);
    g_request_frees = 0;
    for (uint32_t seed = 1; seed <= 3; ++seed) {
        auto* bytes = static_cast<uint8_t*>(std::malloc(kBufferBytes));
        for (size_t i = 0; i < kBufferBytes; ++i) bytes[i] = pattern(i, seed);
        uint8_t data[200];
        IpcIo request, reply;
        IpcIoInit(&request, data, sizeof data, 1);
        IpcIoPushUint32(&request, seed);
        const BuffPtr buff{kBufferBytes, bytes};
        IpcIoPushDataBuffWithFree(&request, &buff, free_request_buffer);
        ASSERT_TRUE(IpcIoAvailable(&request));
        uintptr_t buffer = 0;
        ASSERT_EQ(SendRequest(context, sid, kBuffers, &request, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
        EXPECT_EQ(g_request_frees.load(), static_cast<int>(seed)) << "freed once, when sent";
        EXPECT_EQ(IpcIoPopInt32(&reply), 1) << "the service read our 64 KiB intact";
        BuffPtr* back = IpcIoPopDataBuff(&reply);
        ASSERT_NE(back, nullptr);
        ASSERT_EQ(back->buffSz, kBufferBytes);
        size_t wrong = 0;
        for (size_t i = 0; i < kBufferBytes; ++i) wrong += static_cast<const uint8_t*>(back->buff)[i] != pattern(i, seed + 1);
        EXPECT_EQ(wrong, 0u);
        EXPECT_EQ(FreeBuffer(context, reinterpret_cast<void*>(buffer)), LITEIPC_OK);
    }
    // The service's free function ran once per reply.
    IpcIo reply;
    uintptr_t buffer = 0;
    ASSERT_EQ(SendRequest(context, sid, kFreesSoFar, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
    EXPECT_EQ(IpcIoPopInt32(&reply), 3);
    FreeBuffer(context, reinterpret_cast<void*>(buffer));

    // A send that fails still frees, once: to a handle that names nothing, and a buffer larger
    // than the connection's pool (4 MiB) in liteipc's larger IpcIo.
    g_request_frees = 0;
    uint8_t data[200];
    IpcIo request;
    IpcIoInit(&request, data, sizeof data, 1);
    const BuffPtr small{16, std::malloc(16)};
    IpcIoPushDataBuffWithFree(&request, &small, free_request_buffer);
    const SvcIdentity nobody{0x7fffff, 0, 0};
    EXPECT_NE(SendRequest(context, nobody, kBuffers, &request, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
    EXPECT_EQ(g_request_frees.load(), 1);
    const size_t huge_size = 8u << 20;
    LiteIpcIoInitLarge(&request, data, sizeof data, 1);
    const BuffPtr huge{static_cast<uint32_t>(huge_size), std::calloc(huge_size, 1)};
    IpcIoPushDataBuffWithFree(&request, &huge, free_request_buffer);
    ASSERT_TRUE(IpcIoAvailable(&request));
    EXPECT_EQ(SendRequest(context, sid, kBuffers, &request, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_ENOMEM);
    EXPECT_EQ(g_request_frees.load(), 2);
    IpcIoFreeDataBuff(&request);
    EXPECT_EQ(g_request_frees.load(), 2) << "never twice";
}

// samgr_lite's shape: a service manager reached as handle 0 hands out handles made with
// GenServiceHandle for the thread that registered; access granted by thread id.
enum SamgrCode : uint32_t { kRegister = 1, kLookup = 2, kWho = 3 };
std::atomic<uint32_t> g_registered_handle{0};

int32_t samgr_handler(const IpcContext* context, void* ipcMsg, IpcIo* data, void*) {
    (void)data;
    uint32_t code = 0;
    GetCode(ipcMsg, &code);
    uint8_t out[64];
    IpcIo reply;
    IpcIoInit(&reply, out, sizeof out, 0);
    if (code == kRegister) {
        SvcIdentity sid{};
        const int32_t ret = GenServiceHandle(&sid, GetCallingTid(ipcMsg));
        if (ret == LITEIPC_OK) g_registered_handle = sid.handle;
        IpcIoPushInt32(&reply, ret);
    } else if (code == kLookup) {
        IpcIoPushUint32(&reply, g_registered_handle.load());
    }
    SendReply(context, ipcMsg, &reply);
    return 0;
}

TEST_F(LiteIpcDeferredTest, AServiceManagerAtHandleZeroHandsOutGeneratedHandles) {
    ForkedServer samgr(
        [] {
            IpcContext* context = OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE);
            return context != nullptr && SetSaManager(context, 256) == LITEIPC_OK;
        },
        [] { StartLoop(nullptr, samgr_handler, nullptr); });
    ForkedServer endpoint(
        [] {
            IpcContext* context = OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE);
            if (context == nullptr) return false;
            std::thread([] { StartLoop(nullptr, answer_pid, nullptr); }).detach();
            // Registers with the manager from a thread of its own, as samgr's endpoint does (a
            // new thread: the runtime caches a thread id, and the forking thread holds its parent's).
            bool registered = false;
            std::thread([&] {
                for (int attempt = 0; attempt < 100 && !registered; ++attempt) {
                    IpcIo reply;
                    uintptr_t buffer = 0;
                    const SvcIdentity manager{0, 0, 0};
                    if (SendRequest(context, manager, kRegister, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer) ==
                        LITEIPC_OK) {
                        registered = IpcIoPopInt32(&reply) == LITEIPC_OK;
                        FreeBuffer(context, reinterpret_cast<void*>(buffer));
                    }
                    if (!registered) std::this_thread::sleep_for(10ms);  // until StartLoop runs
                }
            }).join();
            return registered;
        },
        [] { ::pause(); });
    IpcContext* context = open();
    IpcIo reply;
    uintptr_t buffer = 0;
    ASSERT_EQ(SendRequest(context, SvcIdentity{0, 0, 0}, kLookup, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer),
              LITEIPC_OK);
    const SvcIdentity registered{IpcIoPopUint32(&reply), 0, 0};
    FreeBuffer(context, reinterpret_cast<void*>(buffer));
    ASSERT_NE(registered.handle, 0u);
    ASSERT_EQ(SendRequest(context, registered, kWho, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
    EXPECT_EQ(IpcIoPopInt32(&reply), endpoint.pid());
    FreeBuffer(context, reinterpret_cast<void*>(buffer));

    // A second manager is refused while the first lives.
    EXPECT_EQ(SetSaManager(context, 256), LITEIPC_EEXIST);
}

TEST_F(LiteIpcDeferredTest, AddServiceAccessTakesAThreadIdOfTheProcess) {
    // A thread of this process, whose id the service is given (samgr passes GetCallingTid).
    std::atomic<pid_t> worker_tid{0};
    std::atomic<bool> done{false};
    std::thread worker([&] {
        worker_tid = static_cast<pid_t>(::syscall(SYS_gettid));
        while (!done) std::this_thread::sleep_for(1ms);
    });
    while (worker_tid == 0) std::this_thread::yield();
    const pid_t tid = worker_tid;
    // Spawned, not forked: this process runs a thread now, and the service opens a context.
    Peer service = Peer::spawn("capi_service_granting_thread", peer_args("late.granted", tid));
    int ready = 0;
    ASSERT_TRUE(service.read(ready)) << "the service reported nothing";
    ASSERT_EQ(ready, 1) << "the service's setup failed";
    SvcIdentity sid{};
    EXPECT_EQ(LiteIpcGetService(open(), "late.granted", &sid), LITEIPC_OK) << "granted through a thread id";
    done = true;
    worker.join();
}

}  // namespace
}  // namespace liteipc::testing
