// The LiteIPC C API (liteipc_adapter.h) between real processes: C API services in child
// processes, a C API client here, a real loader and real kills.
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "../support/service_codes.h"
#include "c_api_fixture.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

using namespace capi_codes;

std::atomic<int32_t> g_counted{0};

// The service side, as a LiteIPC user writes it.
int32_t serve(const IpcContext* context, void* ipcMsg, IpcIo* data, void* arg) {
    (void)arg;
    uint32_t code = 0;
    GetCode(ipcMsg, &code);
    uint8_t out[512];
    IpcIo reply;
    IpcIoInit(&reply, out, sizeof out, 1);
    switch (code) {
        case kEcho: {
            size_t length = 0;
            const char* text = reinterpret_cast<const char*>(IpcIoPopString(data, &length));
            int32_t n = IpcIoPopInt32(data);
            IpcIoPushString(&reply, text ? text : "(null)");
            IpcIoPushInt32(&reply, n + 1);
            IpcIoPushUint64(&reply, length);
            break;
        }
        case kWhoAmI:
            IpcIoPushInt32(&reply, GetCallingPid(ipcMsg));
            IpcIoPushInt32(&reply, GetCallingUid(ipcMsg));
            IpcIoPushInt32(&reply, GetCallingGid(ipcMsg));
            IpcIoPushInt32(&reply, GetCallingTid(ipcMsg));
            break;
        case kSleep:
            std::this_thread::sleep_for(std::chrono::milliseconds(IpcIoPopInt32(data)));
            break;
        case kCount: {
            uint32_t flag = 99;
            GetFlag(ipcMsg, &flag);
            if (flag == LITEIPC_FLAG_ONEWAY) g_counted.fetch_add(1);
            FreeBuffer(context, ipcMsg);
            return 0;
        }
        case kGetCount:
            IpcIoPushInt32(&reply, g_counted.load());
            break;
        case kCallBack: {
            // Calls the anonymous callback named in the request; replies its result.
            SvcIdentity* sid = IpcIoPopSvc(data);
            int32_t value = IpcIoPopInt32(data);
            int32_t result = LITEIPC_EINVAL, answer = 0;
            if (sid != nullptr) {
                SvcIdentity target = *sid;
                uint8_t request_data[64];
                IpcIo request, callback_reply;
                IpcIoInit(&request, request_data, sizeof request_data, 0);
                IpcIoPushInt32(&request, value);
                uintptr_t buffer = 0;
                result = SendRequest(context, target, kCallbackCode, &request, &callback_reply, LITEIPC_FLAG_DEFAULT,
                                     &buffer);
                if (result == LITEIPC_OK) {
                    answer = IpcIoPopInt32(&callback_reply);
                    FreeBuffer(context, reinterpret_cast<void*>(buffer));
                }
            }
            IpcIoPushInt32(&reply, result);
            IpcIoPushInt32(&reply, answer);
            break;
        }
        case kToken: {
            uint32_t token = 0;
            GetToken(ipcMsg, &token);
            IpcIoPushUint32(&reply, token);
            break;
        }
        default:
            break;
    }
    SendReply(context, ipcMsg, &reply);
    return 0;
}

// A process serving C API services: `setup` registers them after OpenLiteIpc; then StartLoop.
class CApiServer : public ForkedServer {
public:
    explicit CApiServer(const std::function<bool(IpcContext*)>& setup)
        : ForkedServer(
              [&] {
                  IpcContext* context = OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE);
                  return context != nullptr && setup(context);
              },
              [] { StartLoop(nullptr, serve, nullptr); }) {}
};

std::function<bool(IpcContext*)> named(const char* name, uint32_t policy = LITEIPC_POLICY_SAME_UID) {
    return [name, policy](IpcContext* context) {
        LiteIpcServiceOptions options{name, policy, 0, 0, 2, LITEIPC_SERVICE_DIRECT};
        SvcIdentity sid;
        return LiteIpcRegisterServiceEx(context, &options, serve, nullptr, &sid) == LITEIPC_OK;
    };
}

// kWhoAmI to `sid` from the calling thread: the service names this process, its ids and this thread.
void expect_caller_is_this_thread(IpcContext* context, SvcIdentity sid) {
    IpcIo reply;
    uintptr_t buffer = 0;
    ASSERT_EQ(SendRequest(context, sid, kWhoAmI, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
    EXPECT_EQ(IpcIoPopInt32(&reply), ::getpid());
    EXPECT_EQ(IpcIoPopInt32(&reply), static_cast<int32_t>(::getuid()));
    EXPECT_EQ(IpcIoPopInt32(&reply), static_cast<int32_t>(::getgid()));
    EXPECT_EQ(IpcIoPopInt32(&reply), static_cast<int32_t>(::syscall(SYS_gettid))) << "the calling thread";
    FreeBuffer(context, reinterpret_cast<void*>(buffer));
}

class LiteIpcAdapterTest : public CApiTest {
protected:
    LiteIpcAdapterTest() : CApiTest("capi") {}
    SvcIdentity find(const char* name) {
        SvcIdentity sid{};
        EXPECT_EQ(LiteIpcGetService(open(), name, &sid), LITEIPC_OK) << name;
        return sid;
    }
};

// A request with an int32 argument; returns SendRequest's code and keeps the reply in *reply.
int32_t call_int(IpcContext* context, SvcIdentity sid, uint32_t code, int32_t value, IpcIo* reply, uintptr_t* buffer,
                 uint32_t timeout_ms = 5000) {
    uint8_t data[64];
    IpcIo request;
    IpcIoInit(&request, data, sizeof data, 0);
    IpcIoPushInt32(&request, value);
    return LiteIpcSendRequestTimeout(context, sid, code, &request, reply, LITEIPC_FLAG_DEFAULT, buffer, timeout_ms);
}

TEST_F(LiteIpcAdapterTest, RequestReplyWithIntsAndStrings) {
    CApiServer service(named("capi.echo"));
    IpcContext* context = open();
    EXPECT_EQ(OpenLiteIpc(0), context) << "one context per process, counted";
    CloseLiteIpc(context);
    SvcIdentity echo = find("capi.echo");

    for (int i = 0; i < 100; ++i) {
        uint8_t data[256];
        IpcIo request, reply;
        IpcIoInit(&request, data, sizeof data, 0);
        std::string text = "hello " + std::to_string(i);
        IpcIoPushString(&request, text.c_str());
        IpcIoPushInt32(&request, i);
        uintptr_t buffer = 0;
        ASSERT_EQ(SendRequest(context, echo, kEcho, &request, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
        ASSERT_NE(buffer, 0u);
        size_t length = 0;
        EXPECT_STREQ(reinterpret_cast<const char*>(IpcIoPopString(&reply, &length)), text.c_str());
        EXPECT_EQ(length, text.size());
        EXPECT_EQ(IpcIoPopInt32(&reply), i + 1);
        EXPECT_EQ(IpcIoPopUint64(&reply), text.size());
        EXPECT_TRUE(IpcIoAvailable(&reply));
        EXPECT_EQ(FreeBuffer(context, reinterpret_cast<void*>(buffer)), LITEIPC_OK);
        if (i == 0) {
            EXPECT_EQ(FreeBuffer(context, reinterpret_cast<void*>(buffer)), LITEIPC_EINVAL) << "freed twice";
        }
    }

    // Transact (LiteIPC's older name) and a request without data.
    IpcIo reply;
    uintptr_t buffer = 0;
    EXPECT_EQ(Transact(context, echo, kGetCount, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
    EXPECT_EQ(IpcIoPopInt32(&reply), 0);
    EXPECT_EQ(FreeBuffer(context, reinterpret_cast<void*>(buffer)), LITEIPC_OK);

    // A reply needs somewhere to go.
    EXPECT_EQ(SendRequest(context, echo, kEcho, nullptr, &reply, LITEIPC_FLAG_DEFAULT, nullptr), LITEIPC_EINVAL);
    SvcIdentity none{};
    EXPECT_EQ(LiteIpcGetService(context, "capi.nobody", &none), LITEIPC_ENOENT);
}

TEST_F(LiteIpcAdapterTest, CallerIdentityIsTheRealClients) {
    CApiServer service(named("capi.who"));
    IpcContext* context = open();
    expect_caller_is_this_thread(context, find("capi.who"));
}

// LiteIpcServiceOptions.mode: each message passes the kernel, so GetCallingTid is the kernel's
// word for the calling thread; an unknown mode is refused by name.
TEST_F(LiteIpcAdapterTest, MediatedServiceReadsTheCallerTheKernelStamped) {
    CApiServer service([](IpcContext* context) {
        LiteIpcServiceOptions options{"capi.mediated", LITEIPC_POLICY_SAME_UID, 0, 0, 2, LITEIPC_SERVICE_MEDIATED};
        SvcIdentity sid;
        return LiteIpcRegisterServiceEx(context, &options, serve, nullptr, &sid) == LITEIPC_OK;
    });
    IpcContext* context = open();
    SvcIdentity who = find("capi.mediated");
    std::thread([&] { expect_caller_is_this_thread(context, who); }).join();
    LiteIpcServiceOptions unknown{"capi.unknown.mode", LITEIPC_POLICY_SAME_UID, 0, 0, 1, 7};
    SvcIdentity sid;
    EXPECT_EQ(LiteIpcRegisterServiceEx(context, &unknown, serve, nullptr, &sid), LITEIPC_EINVAL);
}

TEST_F(LiteIpcAdapterTest, OnewayRequestsArriveAndReturnAtOnce) {
    CApiServer service(named("capi.oneway"));
    IpcContext* context = open();
    SvcIdentity sid = find("capi.oneway");
    for (int i = 0; i < 200; ++i) {
        uint8_t data[32];
        IpcIo request;
        IpcIoInit(&request, data, sizeof data, 0);
        IpcIoPushInt32(&request, i);
        ASSERT_EQ(SendRequest(context, sid, kCount, &request, nullptr, LITEIPC_FLAG_ONEWAY, nullptr), LITEIPC_OK);
    }
    // A oneway call to a slow handler does not wait for it.
    uint8_t data[32];
    IpcIo slow;
    IpcIoInit(&slow, data, sizeof data, 0);
    IpcIoPushInt32(&slow, 1000);
    auto started = std::chrono::steady_clock::now();
    ASSERT_EQ(SendRequest(context, sid, kSleep, &slow, nullptr, LITEIPC_FLAG_ONEWAY, nullptr), LITEIPC_OK);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);

    // Every oneway request is counted (calls on one connection are served in order, the
    // slow one on another worker: wait for the count rather than assume it).
    int32_t counted = 0;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (counted != 200 && std::chrono::steady_clock::now() < deadline) {
        IpcIo reply;
        uintptr_t buffer = 0;
        ASSERT_EQ(SendRequest(context, sid, kGetCount, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
        counted = IpcIoPopInt32(&reply);
        FreeBuffer(context, reinterpret_cast<void*>(buffer));
        if (counted != 200) std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(counted, 200);
}

TEST_F(LiteIpcAdapterTest, AddServiceAccessOpensAServiceThatRefusesByDefault) {
    CApiServer service([](IpcContext* context) {
        LiteIpcServiceOptions closed{"capi.closed", LITEIPC_POLICY_PIDS, 0, 0, 1, LITEIPC_SERVICE_DIRECT};
        LiteIpcServiceOptions granted{"capi.granted", LITEIPC_POLICY_PIDS, 0, 0, 1, LITEIPC_SERVICE_DIRECT};
        SvcIdentity closed_sid, granted_sid;
        return LiteIpcRegisterServiceEx(context, &closed, serve, nullptr, &closed_sid) == LITEIPC_OK &&
               LiteIpcRegisterServiceEx(context, &granted, serve, nullptr, &granted_sid) == LITEIPC_OK &&
               AddServiceAccess(granted_sid, ::getppid()) == LITEIPC_OK;
    });
    IpcContext* context = open();
    SvcIdentity sid{};
    EXPECT_EQ(LiteIpcGetService(context, "capi.closed", &sid), LITEIPC_EPERM);
    ASSERT_EQ(LiteIpcGetService(context, "capi.granted", &sid), LITEIPC_OK);
    IpcIo reply;
    uintptr_t buffer = 0;
    ASSERT_EQ(SendRequest(context, sid, kWhoAmI, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
    EXPECT_EQ(IpcIoPopInt32(&reply), ::getpid());
    FreeBuffer(context, reinterpret_cast<void*>(buffer));
    // Only the owner grants access.
    EXPECT_EQ(AddServiceAccess(sid, ::getpid()), LITEIPC_EINVAL);
}

struct DeathCounter {
    std::mutex mutex;
    std::condition_variable changed;
    int fired = 0;
    uint32_t token = 0;
    bool had_context = false;
    bool wait_for(int count, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, timeout, [&] { return fired >= count; });
    }
};

int32_t on_death(const IpcContext* context, void* ipcMsg, IpcIo*, void* arg) {
    auto* counter = static_cast<DeathCounter*>(arg);
    uint32_t token = 0;
    GetToken(ipcMsg, &token);
    std::lock_guard lock(counter->mutex);
    counter->fired++;
    counter->token = token;
    counter->had_context = context != nullptr;
    counter->changed.notify_all();
    return 0;
}

TEST_F(LiteIpcAdapterTest, DeathCallbacksFireOnceAndAPendingRequestEndsWithDeadObject) {
    auto service = std::make_unique<CApiServer>(named("capi.dying"));
    IpcContext* context = open();
    SvcIdentity sid = find("capi.dying");

    // LiteIPC's 5 per service, the 6th refused as LiteIPC refuses it; then more after the opt-in,
    // one of them unregistered again.
    constexpr int kCallbacks = 7;
    DeathCounter counters[kCallbacks];
    uint32_t ids[kCallbacks];
    for (int i = 0; i < kCallbacks; ++i) {
        if (i == MAX_DEATHCB_PER_SVC) {
            EXPECT_EQ(RegisterDeathCallback(context, sid, on_death, &counters[i], &ids[i]), LITEIPC_EINTNL);
            ASSERT_EQ(LiteIpcSetMaxDeathCallbacks(0), LITEIPC_OK);
        }
        ASSERT_EQ(RegisterDeathCallback(context, sid, on_death, &counters[i], &ids[i]), LITEIPC_OK);
        EXPECT_EQ(ids[i], static_cast<uint32_t>(i)) << "ids count per service from 0, as LiteIPC's";
    }
    // The lowest free id is taken again, as LiteIPC does.
    ASSERT_EQ(UnregisterDeathCallback(sid, ids[2]), LITEIPC_OK);
    ASSERT_EQ(RegisterDeathCallback(context, sid, on_death, &counters[2], &ids[2]), LITEIPC_OK);
    EXPECT_EQ(ids[2], 2u);
    ASSERT_EQ(UnregisterDeathCallback(sid, ids[kCallbacks - 1]), LITEIPC_OK);

    std::atomic<int32_t> pending{1};
    std::chrono::steady_clock::time_point failed_at;
    std::thread caller([&] {
        IpcIo reply;
        uintptr_t buffer = 0;
        pending = call_int(context, sid, kSleep, 10'000, &reply, &buffer, 20'000);
        failed_at = std::chrono::steady_clock::now();
    });
    std::this_thread::sleep_for(200ms);
    auto killed_at = std::chrono::steady_clock::now();
    service->kill();
    caller.join();
    EXPECT_EQ(pending.load(), LITEIPC_DEAD_OBJECT);
    EXPECT_LT(failed_at - killed_at, 1s);

    for (int i = 0; i < kCallbacks - 1; ++i) {
        ASSERT_TRUE(counters[i].wait_for(1, 2s)) << "death callback " << i;
        EXPECT_EQ(counters[i].token, sid.handle);
        EXPECT_FALSE(counters[i].had_context) << "LiteIPC passes no context";
    }
    std::this_thread::sleep_for(300ms);
    for (int i = 0; i < kCallbacks - 1; ++i) EXPECT_EQ(counters[i].fired, 1) << "fired more than once";
    EXPECT_EQ(counters[kCallbacks - 1].fired, 0) << "unregistered callback fired";

    // On a peer that is dead already: at once.
    DeathCounter late;
    uint32_t id = 0;
    ASSERT_EQ(RegisterDeathCallback(context, sid, on_death, &late, &id), LITEIPC_OK);
    EXPECT_TRUE(late.wait_for(1, 1s));

    // And the dead service stays dead (as a withdrawn one: liteipc_adapter_withdraw_test.cpp).
    IpcIo reply;
    uintptr_t buffer = 0;
    EXPECT_EQ(SendRequest(context, sid, kGetCount, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_DEAD_OBJECT);
}

struct CallbackState {
    std::atomic<int> calls{0};
    std::atomic<uint32_t> token{0};
    std::atomic<pid_t> caller{0};
};

int32_t on_callback(const IpcContext* context, void* ipcMsg, IpcIo* data, void* arg) {
    auto* state = static_cast<CallbackState*>(arg);
    uint32_t code = 0, token = 0;
    GetCode(ipcMsg, &code);
    GetToken(ipcMsg, &token);
    state->token = token;
    state->caller = GetCallingPid(ipcMsg);
    state->calls.fetch_add(1);
    int32_t value = IpcIoPopInt32(data);
    uint8_t out[32];
    IpcIo reply;
    IpcIoInit(&reply, out, sizeof out, 0);
    IpcIoPushInt32(&reply, code == kCallbackCode ? value * 2 : -1);
    SendReply(context, ipcMsg, &reply);
    return 0;
}

// Asks the service to call `callback` with `value`; returns the service's SendRequest result.
int32_t call_back(IpcContext* context, SvcIdentity service, const SvcIdentity& callback, int32_t value,
                  int32_t* answer) {
    uint8_t data[128];
    IpcIo request, reply;
    IpcIoInit(&request, data, sizeof data, 1);
    IpcIoPushSvc(&request, &callback);
    IpcIoPushInt32(&request, value);
    uintptr_t buffer = 0;
    int32_t sent = SendRequest(context, service, kCallBack, &request, &reply, LITEIPC_FLAG_DEFAULT, &buffer);
    if (sent != LITEIPC_OK) return 1000 + sent;
    int32_t result = IpcIoPopInt32(&reply);
    *answer = IpcIoPopInt32(&reply);
    FreeBuffer(context, reinterpret_cast<void*>(buffer));
    return result;
}

TEST_F(LiteIpcAdapterTest, IpcCallbacksTimeOutOnceOrAfterTheirLastUse) {
    CApiServer service(named("capi.caller"));
    IpcContext* context = open();
    SvcIdentity peer = find("capi.caller");

    CallbackState once_state, reset_state, forever_state;
    SvcIdentity once{}, reset{}, forever{};
    ASSERT_EQ(RegisterIpcCallback(on_callback, ONCE, 600, &once, &once_state), LITEIPC_OK);
    ASSERT_EQ(RegisterIpcCallback(on_callback, RESET_AFTER_USE, 600, &reset, &reset_state), LITEIPC_OK);
    ASSERT_EQ(RegisterIpcCallback(on_callback, ONCE, IPC_WAIT_FOREVER, &forever, &forever_state), LITEIPC_OK);
    EXPECT_EQ(RegisterIpcCallback(on_callback, ONCE, IPC_TIMEOUT_MIN - 1, &once, nullptr), LITEIPC_EINVAL);
    EXPECT_EQ(RegisterIpcCallback(on_callback, 7, 600, &once, nullptr), LITEIPC_EINVAL);
    EXPECT_NE(once.token, reset.token);
    auto registered = std::chrono::steady_clock::now();

    int32_t answer = 0;
    // t = 0 and t = 300 ms: both alive.
    for (int round = 0; round < 2; ++round) {
        EXPECT_EQ(call_back(context, peer, once, 21, &answer), LITEIPC_OK);
        EXPECT_EQ(answer, 42);
        EXPECT_EQ(call_back(context, peer, reset, 5, &answer), LITEIPC_OK);
        EXPECT_EQ(answer, 10);
        std::this_thread::sleep_until(registered + 300ms * (round + 1));
    }
    EXPECT_EQ(once_state.token.load(), once.token);
    EXPECT_EQ(once_state.caller.load(), service.pid());
    // t = 600..900 ms: ONCE ran out 600 ms after registration; RESET_AFTER_USE was used at 300 ms.
    std::this_thread::sleep_until(registered + 750ms);
    EXPECT_EQ(call_back(context, peer, once, 1, &answer), LITEIPC_ENOENT);
    EXPECT_EQ(call_back(context, peer, reset, 1, &answer), LITEIPC_OK);
    EXPECT_EQ(once_state.calls.load(), 2);
    // Unused for longer than its timeout, RESET_AFTER_USE is gone too.
    std::this_thread::sleep_for(900ms);
    EXPECT_EQ(call_back(context, peer, reset, 1, &answer), LITEIPC_ENOENT);
    EXPECT_EQ(reset_state.calls.load(), 3);

    // IPC_WAIT_FOREVER lasts until unregistered.
    EXPECT_EQ(call_back(context, peer, forever, 4, &answer), LITEIPC_OK);
    EXPECT_EQ(answer, 8);
    EXPECT_EQ(UnregisterIpcCallback(forever), LITEIPC_OK);
    EXPECT_EQ(call_back(context, peer, forever, 4, &answer), LITEIPC_ENOENT);
    EXPECT_EQ(forever_state.calls.load(), 1);
}

TEST_F(LiteIpcAdapterTest, TokensReachTheHandler) {
    CApiServer service(named("capi.token"));
    IpcContext* context = open();
    SvcIdentity sid = find("capi.token");
    sid.token = 0xfeed;
    IpcIo reply;
    uintptr_t buffer = 0;
    ASSERT_EQ(SendRequest(context, sid, kToken, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
    EXPECT_EQ(IpcIoPopUint32(&reply), 0xfeedu);
    FreeBuffer(context, reinterpret_cast<void*>(buffer));
}

int32_t loop_handler(const IpcContext* context, void* ipcMsg, IpcIo* data, void* arg) {
    static_cast<std::atomic<int>*>(arg)->fetch_add(1);
    return serve(context, ipcMsg, data, nullptr);
}

TEST_F(LiteIpcAdapterTest, StartLoopServesServicesWithoutAHandlerUntilStopped) {
    IpcContext* context = open();
    SvcIdentity local{};
    ASSERT_EQ(LiteIpcRegisterService(context, "capi.loop", nullptr, nullptr, &local), LITEIPC_OK);
    SvcIdentity sid = find("capi.loop");
    EXPECT_EQ(sid.handle, local.handle);

    // Before StartLoop there is nobody to serve it.
    IpcIo reply;
    uintptr_t buffer = 0;
    EXPECT_EQ(SendRequest(context, sid, kGetCount, nullptr, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_ENOENT);

    std::atomic<int> served{0};
    std::atomic<bool> returned{false};
    std::thread loop([&] {
        EXPECT_EQ(StartLoop(context, loop_handler, &served), LITEIPC_OK);
        returned = true;
    });
    auto deadline = std::chrono::steady_clock::now() + 2s;
    int32_t result = LITEIPC_ENOENT;
    while (result != LITEIPC_OK && std::chrono::steady_clock::now() < deadline) {
        result = call_int(context, sid, kEcho, 0, &reply, &buffer);
        if (result != LITEIPC_OK) std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(result, LITEIPC_OK);
    FreeBuffer(context, reinterpret_cast<void*>(buffer));
    EXPECT_GE(served.load(), 1);
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(returned.load());
    LiteIpcStopLoop(context);
    loop.join();
    EXPECT_TRUE(returned.load());
    EXPECT_EQ(LiteIpcUnregisterService(context, local), LITEIPC_OK);
}

}  // namespace
}  // namespace liteipc::testing
