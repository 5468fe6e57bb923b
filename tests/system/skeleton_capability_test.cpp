// References are capabilities (docs/SECURITY.md): a process handed a service reference may hand
// it on, and its receiver may call the service; a reference nobody handed a process cannot be
// forged; what a holder handed on ends with the holder. The service manager is the upstream-style
// one (tests/upstream/ipc_samgr.c); the other processes are forks using the newer C API.
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <memory>

#include "../upstream/case_process.h"
#include "../upstream/ipc_proxy.h"
#include "ipc_skeleton.h"  // by its bare name, as upstream code includes it
#include "loader_fixture.h"
#include "rpc_errno.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

constexpr int32_t kAdderSaId = SERVER_SA_ID1;
constexpr int32_t kReceiverSaId = SERVER_SA_ID1 + 1;
constexpr int32_t kNoAnswer = INT32_MIN;

// A process of its own: for each command byte the test sends, runs `step` and answers its result.
class Child {
public:
    explicit Child(std::function<int32_t(char)> step) {
        int to[2], from[2];
        if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0) return;
        process_ = fork_child([&] {
            for (char command; ::read(to[0], &command, 1) == 1;) {
                const int32_t result = step(command);
                if (::write(from[1], &result, sizeof result) != sizeof result) break;
            }
            return 0;
        });
        ::close(to[0]);
        ::close(from[1]);
        to_ = to[1];
        from_ = from[0];
    }
    ~Child() {
        kill();
        ::close(to_);
        ::close(from_);
    }
    pid_t pid() const { return process_.pid(); }
    void kill() { process_.kill_and_wait(); }
    int32_t ask(char command) {
        if (::write(to_, &command, 1) != 1) return kNoAnswer;
        pollfd readable{from_, POLLIN, 0};
        int32_t result = kNoAnswer;
        if (::poll(&readable, 1, 30'000) == 1 && ::read(from_, &result, sizeof result) == sizeof result) return result;
        return kNoAnswer;
    }

private:
    OwnedPid process_;
    int to_ = -1, from_ = -1;
};

MessageOption sync_option() {
    MessageOption option;
    MessageOptionInit(&option);
    return option;
}

// The samgr's calls, as upstream's server and client make them.
int32_t add_ability(int32_t saId, const SvcIdentity& svc) {
    uint8_t bytes[IPC_MAX_SIZE];
    IpcIo data, reply;
    IpcIoInit(&data, bytes, sizeof bytes, 1);
    WriteInt32(&data, saId);
    WriteRemoteObject(&data, &svc);
    uintptr_t buffer = 0;
    int32_t ret = SendRequest(*GetContextObject(), ADD_SYSTEM_ABILITY_TRANSACTION, &data, &reply, sync_option(), &buffer);
    if (ret == ERR_NONE) FreeBuffer(reinterpret_cast<void*>(buffer));
    return ret;
}
int32_t get_ability(int32_t saId, SvcIdentity* svc) {
    uint8_t bytes[IPC_MAX_SIZE];
    IpcIo data, reply;
    IpcIoInit(&data, bytes, sizeof bytes, 0);
    WriteInt32(&data, saId);
    uintptr_t buffer = 0;
    int32_t ret = SendRequest(*GetContextObject(), GET_SYSTEM_ABILITY_TRANSACTION, &data, &reply, sync_option(), &buffer);
    if (ret != ERR_NONE) return ret;
    ret = ReadRemoteObject(&reply, svc) ? ERR_NONE : ERR_FAILED;
    FreeBuffer(reinterpret_cast<void*>(buffer));
    return ret;
}

// Calls the adder: OP_A + OP_B, or the error. *caller: whom the adder saw calling.
int32_t call_adder(const SvcIdentity& adder, int32_t* caller = nullptr) {
    uint8_t bytes[IPC_MAX_SIZE];
    IpcIo data, reply;
    IpcIoInit(&data, bytes, sizeof bytes, 0);
    WriteInt32(&data, OP_A);
    WriteInt32(&data, OP_B);
    uintptr_t buffer = 0;
    const int32_t ret = SendRequest(adder, SERVER_OP_ADD, &data, &reply, sync_option(), &buffer);
    if (ret != ERR_NONE) return ret;
    int32_t sum = kNoAnswer, seen = 0;
    ReadInt32(&reply, &sum);
    ReadInt32(&reply, &seen);
    if (caller != nullptr) *caller = seen;
    FreeBuffer(reinterpret_cast<void*>(buffer));
    return sum;
}

// Hands `reference` to the receiver's object.
int32_t hand_on(const SvcIdentity& receiver, const SvcIdentity& reference) {
    uint8_t bytes[IPC_MAX_SIZE];
    IpcIo data, reply;
    IpcIoInit(&data, bytes, sizeof bytes, 1);
    WriteRemoteObject(&data, &reference);
    uintptr_t buffer = 0;
    const int32_t ret = SendRequest(receiver, SERVER_OP_ADD_SERVICE, &data, &reply, sync_option(), &buffer);
    if (ret == ERR_NONE) FreeBuffer(reinterpret_cast<void*>(buffer));
    return ret;
}

// Each child process has its own copy of these.
SvcIdentity g_reference{IPC_INVALID_HANDLE, 0, 0};  // what a child got or was handed
std::atomic<int32_t> g_handed{0};                   // references the receiver was handed
std::atomic<int32_t> g_deaths{0};                   // death recipients that ran

int32_t adder(uint32_t code, IpcIo* data, IpcIo* reply, MessageOption) {
    if (code != SERVER_OP_ADD) return IPC_INVOKER_UNKNOWN_CODE;
    int32_t a = 0, b = 0;
    ReadInt32(data, &a);
    ReadInt32(data, &b);
    WriteInt32(reply, a + b);
    WriteInt32(reply, GetCallingPid());
    return ERR_NONE;
}
int32_t receiver(uint32_t code, IpcIo* data, IpcIo* reply, MessageOption) {
    if (code != SERVER_OP_ADD_SERVICE) return IPC_INVOKER_UNKNOWN_CODE;
    SvcIdentity handed{};
    if (ReadRemoteObject(data, &handed)) {
        g_reference = handed;
        ++g_handed;
    }
    WriteInt32(reply, ERR_NONE);
    return ERR_NONE;
}
IpcObjectStub g_adder_stub = {adder, nullptr, false};
IpcObjectStub g_receiver_stub = {receiver, nullptr, false};

class SkeletonCapabilityTest : public ::testing::Test {
protected:
    void SetUp() override {
        LITEIPC_REQUIRE_SYSTEM();
        loader_ = std::make_unique<Loader>("capability");
        ASSERT_TRUE(loader_->start());
        ::setenv("LITEIPC_SOCKET", loader_->socket().c_str(), 1);
        ::setenv("LITEIPC_PIN_ROOT", loader_->pin_root().c_str(), 1);
        samgr_ = std::make_unique<CaseProcess>(LITEIPC_UPSTREAM_SAMGR);
        ASSERT_EQ(samgr_->verdict("IpcSamgrTest001"), "ok");
        // The owner of the adder hands it to the samgr, the first holder.
        owner_ = std::make_unique<Child>([](char) {
            return add_ability(kAdderSaId, SvcIdentity{MIN_BINDER_HANDLE, 1, reinterpret_cast<uintptr_t>(&g_adder_stub)});
        });
        ASSERT_EQ(owner_->ask('r'), ERR_NONE);
    }
    void TearDown() override {
        owner_.reset();
        samgr_.reset();
        loader_.reset();
        ::unsetenv("LITEIPC_SOCKET");
        ::unsetenv("LITEIPC_PIN_ROOT");
    }

    // A holder: 'g' gets the adder from the samgr and calls it; 'p' hands it to the receiver it
    // gets from the samgr; 'h' / 't' tell its handle / token.
    static std::unique_ptr<Child> holder() {
        return std::make_unique<Child>([](char command) -> int32_t {
            switch (command) {
                case 'g': {
                    const int32_t got = get_ability(kAdderSaId, &g_reference);
                    return got == ERR_NONE ? call_adder(g_reference) : got;
                }
                case 'p': {
                    SvcIdentity receiving{};
                    const int32_t got = get_ability(kReceiverSaId, &receiving);
                    return got == ERR_NONE ? hand_on(receiving, g_reference) : got;
                }
                case 'd': {  // a death recipient on what it got
                    uint32_t id = 0;
                    return AddDeathRecipient(g_reference, [](void*) { ++g_deaths; }, nullptr, &id);
                }
                case 'u': return LiteIpcSetMaxDeathRecipients(0);
                case 'f': return g_deaths.load();
                case 'h': return g_reference.handle;
                case 't': return static_cast<int32_t>(g_reference.token);
                default: return kNoAnswer;
            }
        });
    }
    // A receiver: 'r' registers its object with the samgr; 'c' calls what it was handed ('w':
    // whom the adder saw); 'x' drops its connection to it; 'n' counts what it was handed.
    static std::unique_ptr<Child> receiving_process() {
        return std::make_unique<Child>([](char command) -> int32_t {
            static int32_t seen = 0;
            switch (command) {
                case 'r':
                    return add_ability(kReceiverSaId,
                                       SvcIdentity{MIN_BINDER_HANDLE, 2, reinterpret_cast<uintptr_t>(&g_receiver_stub)});
                case 'c': return call_adder(g_reference, &seen);
                case 'w': return seen;
                case 'x': return ReleaseSvc(g_reference);
                case 'n': return g_handed.load();
                default: return kNoAnswer;
            }
        });
    }

    std::unique_ptr<Loader> loader_;
    std::unique_ptr<CaseProcess> samgr_;
    std::unique_ptr<Child> owner_;
};

TEST_F(SkeletonCapabilityTest, AReferencePassesThroughThreeProcesses) {
    // owner -> samgr -> holder -> receiver: each hands on what it was handed.
    auto receiving = receiving_process();
    ASSERT_EQ(receiving->ask('r'), ERR_NONE);
    auto first = holder();
    ASSERT_EQ(first->ask('g'), OP_A + OP_B) << "the samgr handed on what the owner handed it";
    ASSERT_EQ(first->ask('p'), ERR_NONE) << "the holder hands it on";
    ASSERT_EQ(receiving->ask('n'), 1);
    EXPECT_EQ(receiving->ask('c'), OP_A + OP_B);
    EXPECT_EQ(receiving->ask('w'), receiving->pid()) << "the adder sees its real caller";
}

TEST_F(SkeletonCapabilityTest, AForgedReferenceNeverWorks) {
    auto receiving = receiving_process();
    ASSERT_EQ(receiving->ask('r'), ERR_NONE);
    auto first = holder();
    ASSERT_EQ(first->ask('g'), OP_A + OP_B);
    const SvcIdentity known{first->ask('h'), static_cast<uintptr_t>(static_cast<uint32_t>(first->ask('t'))), 0};
    // A process that knows the handle and token, but was handed nothing, can neither call the
    // adder nor hand it on.
    auto forger = std::make_unique<Child>([known](char command) -> int32_t {
        switch (command) {
            case 'c': return call_adder(known);
            case 'p': {
                SvcIdentity receiving_object{};
                const int32_t got = get_ability(kReceiverSaId, &receiving_object);
                return got == ERR_NONE ? hand_on(receiving_object, known) : got;
            }
            default: return kNoAnswer;
        }
    });
    EXPECT_EQ(forger->ask('c'), IPC_INVOKER_IOCTL_FAILED);
    EXPECT_EQ(forger->ask('p'), IPC_INVOKER_IOCTL_FAILED);
    EXPECT_EQ(receiving->ask('n'), 0) << "the receiver was handed nothing";
    EXPECT_EQ(forger->ask('c'), IPC_INVOKER_IOCTL_FAILED) << "and the refusal gave the forger nothing";
}

TEST_F(SkeletonCapabilityTest, WhatAHolderHandedOnDiesWithIt) {
    auto receiving = receiving_process();
    ASSERT_EQ(receiving->ask('r'), ERR_NONE);
    auto first = holder();
    ASSERT_EQ(first->ask('g'), OP_A + OP_B);
    ASSERT_EQ(first->ask('p'), ERR_NONE);
    ASSERT_EQ(receiving->ask('c'), OP_A + OP_B);
    first->kill();
    // Once the loader has seen the holder die, the receiver's next connection is refused.
    int32_t outcome = OP_A + OP_B;
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         outcome == OP_A + OP_B && std::chrono::steady_clock::now() < deadline;) {
        receiving->ask('x');
        outcome = receiving->ask('c');
    }
    EXPECT_EQ(outcome, IPC_INVOKER_IOCTL_FAILED);
    // The samgr, alive, still holds the reference and hands it on.
    auto second = holder();
    EXPECT_EQ(second->ask('g'), OP_A + OP_B);
}

// Upstream's 4 death recipients per target, one past it refused; more once the process opts in;
// the refused one never runs.
TEST_F(SkeletonCapabilityTest, DeathRecipientsKeepUpstreamsLimitUnlessTheProcessOptsIn) {
    auto watcher = holder();
    ASSERT_EQ(watcher->ask('g'), OP_A + OP_B);
    for (int i = 0; i < 4; ++i) ASSERT_EQ(watcher->ask('d'), ERR_NONE) << "recipient " << i;
    EXPECT_EQ(watcher->ask('d'), ERR_INVALID_PARAM) << "the 5th, as upstream";
    ASSERT_EQ(watcher->ask('u'), ERR_NONE);
    EXPECT_EQ(watcher->ask('d'), ERR_NONE) << "the 5th after LiteIpcSetMaxDeathRecipients(0)";
    owner_->kill();
    int32_t fired = 0;
    for (auto deadline = std::chrono::steady_clock::now() + 10s; fired < 5 && std::chrono::steady_clock::now() < deadline;)
        fired = watcher->ask('f');
    EXPECT_EQ(fired, 5);
    EXPECT_EQ(watcher->ask('f'), 5) << "each ran once";
}

// examples/c/samgr.c: its samgr keeps what its service registers and hands it to its client.
TEST(SkeletonSamgrExample, HandsOutWhatItKeeps) {
    LITEIPC_REQUIRE_SYSTEM();
    Loader loader("samgr-example");
    ASSERT_TRUE(loader.start());
    ::setenv("LITEIPC_SOCKET", loader.socket().c_str(), 1);
    ::setenv("LITEIPC_PIN_ROOT", loader.pin_root().c_str(), 1);
    CaseProcess samgr(LITEIPC_EXAMPLE_SAMGR);
    ASSERT_EQ(samgr.line("samgr:"), "serving");
    CaseProcess service(LITEIPC_EXAMPLE_SAMGR, {"--register", "7"});
    ASSERT_EQ(service.line("service:"), "registered as 7");
    CaseProcess client(LITEIPC_EXAMPLE_SAMGR, {"--call", "7", "20", "22"});
    EXPECT_EQ(client.line("client:"), "42");
    ::unsetenv("LITEIPC_SOCKET");
    ::unsetenv("LITEIPC_PIN_ROOT");
}

}  // namespace
}  // namespace liteipc::testing
