// Generated proxies and stubs through a real loader: a service of IAllTypes.idl in another
// process (this binary run with --serve), every type round-tripped, interfaces passed both ways,
// errors, and the kernel's contract check at connect.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <tuple>
#include <utility>

#include "../support/owned_pid.h"
#include "all_types_service.h"
#include "loader_fixture.h"
#include "ilistener_v2.h"

namespace OHOS::Test {
namespace {

using liteipc::Errc;
using namespace std::chrono_literals;

constexpr const char* kServiceName = "test.idl.all_types";
constexpr const char* kListenerName = "test.idl.listener";

// The service process: serves IAllTypes and its own IListener until its stdin closes.
int serve(const char* socket, const char* pin_root) {
    liteipc::ContextOptions options;
    options.socket_path = socket;
    options.pin_root = pin_root;
    auto context = liteipc::Context::open(options);
    if (!context) return 1;
    TripleListener listener;
    auto listening = listener.serve(*context, {.name = kListenerName});
    AllTypesService service(*context);
    if (!listening) return 1;
    service.set_own_listener(*listening);
    auto serving = service.serve(*context, {.name = kServiceName, .workers = 2});
    if (!serving) return 1;
    if (::write(STDOUT_FILENO, "ready\n", 6) != 6) return 1;
    char byte;
    while (::read(STDIN_FILENO, &byte, 1) > 0) {
    }
    return 0;
}

// The service process, from the test's side: spawned with pipes, ended by closing its stdin.
class AllTypesServer {
public:
    ::testing::AssertionResult start(const liteipc::testing::Loader& loader) {
        int to_child[2], from_child[2];
        if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0)
            return ::testing::AssertionFailure() << "pipe: " << std::strerror(errno);
        liteipc::testing::ProgramStart start;
        start.fds = {{to_child[0], STDIN_FILENO}, {from_child[1], STDOUT_FILENO}};
        process_ = liteipc::testing::spawn_program({"/proc/self/exe", "--serve", loader.socket(), loader.pin_root()}, start);
        ::close(to_child[0]);
        ::close(from_child[1]);
        stdin_ = to_child[1];
        stdout_ = from_child[0];
        if (!process_) return ::testing::AssertionFailure() << "spawn: " << std::strerror(errno);
        pollfd ready{stdout_, POLLIN, 0};
        char line[8] = {};
        if (::poll(&ready, 1, 20000) != 1 || ::read(stdout_, line, 6) != 6 || std::string(line) != "ready\n")
            return ::testing::AssertionFailure() << "the service process did not start";
        return ::testing::AssertionSuccess();
    }
    pid_t pid() const { return process_.pid(); }
    ~AllTypesServer() {
        if (stdin_ >= 0) ::close(stdin_);
        if (stdout_ >= 0) ::close(stdout_);
        process_.wait_or_kill(std::chrono::seconds(20));  // it ends once its stdin closes
    }

private:
    liteipc::testing::OwnedPid process_;
    int stdin_ = -1;
    int stdout_ = -1;
};

class IdlCallTest : public liteipc::testing::WithLoader<> {
protected:
    IdlCallTest() : WithLoader("idl") {}
    void SetUp() override {
        WithLoader::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        ASSERT_TRUE(service_.start(loader_));
        auto proxy = AllTypesProxy::open(*context_, kServiceName);
        ASSERT_TRUE(proxy) << proxy.error().describe();
        proxy_.emplace(std::move(*proxy));
    }
    AllTypesServer service_;
    std::optional<AllTypesProxy> proxy_;
};

#define EXPECT_ECHO(method, value)                                     \
    do {                                                               \
        auto echoed = proxy_->method(value);                           \
        ASSERT_TRUE(echoed) << #method << ": " << echoed.error().describe(); \
        EXPECT_EQ(*echoed, value) << #method;                          \
    } while (0)

TEST_F(IdlCallTest, EveryPrimitiveRoundTripsAtItsLimits) {
    EXPECT_ECHO(EchoBoolean, true);
    EXPECT_ECHO(EchoBoolean, false);
    EXPECT_ECHO(EchoByte, int8_t{-128});
    EXPECT_ECHO(EchoByte, int8_t{127});
    EXPECT_ECHO(EchoShort, int16_t{-32768});
    EXPECT_ECHO(EchoShort, int16_t{32767});
    EXPECT_ECHO(EchoInt, INT32_MIN);
    EXPECT_ECHO(EchoInt, INT32_MAX);
    EXPECT_ECHO(EchoLong, INT64_MIN);
    EXPECT_ECHO(EchoLong, INT64_MAX);
    EXPECT_ECHO(EchoFloat, -1.5e30f);
    EXPECT_ECHO(EchoDouble, 2.5e-300);
    EXPECT_ECHO(EchoString, std::string());
    EXPECT_ECHO(EchoString, std::string("héllo, \0 liteipc", 17));
}

TEST_F(IdlCallTest, ContainersAndSequenceablesRoundTrip) {
    EXPECT_ECHO(EchoIntArray, std::vector<int32_t>{});
    EXPECT_ECHO(EchoIntArray, (std::vector<int32_t>{1, -2, INT32_MAX}));
    EXPECT_ECHO(EchoList, (std::vector<std::string>{"a", "", "ccc"}));
    EXPECT_ECHO(EchoMap, (std::unordered_map<std::string, int32_t>{{"one", 1}, {"two", 2}}));
    EXPECT_ECHO(EchoNested, (std::unordered_map<int32_t, std::vector<std::string>>{{1, {"x"}}, {2, {}}}));
    EXPECT_ECHO(EchoPoint, (Point{-3, 4}));
    EXPECT_ECHO(EchoRects, (std::vector<Rect>{{{1, 2}, {3, 4}, "first"}, {{0, 0}, {9, 9}, ""}}));
}

TEST_F(IdlCallTest, ByteArraysSmallAndLargeAreReadInPlace) {
    for (size_t size : {size_t{0}, size_t{16}, size_t{256}, size_t{257}, size_t{64 * 1024}, size_t{1 << 20}}) {
        std::vector<uint8_t> bytes(size);
        int64_t sum = 0;
        for (size_t i = 0; i < size; ++i) sum += bytes[i] = static_cast<uint8_t>(i * 7 + 1);
        auto summed = proxy_->SumBytes(bytes);
        ASSERT_TRUE(summed) << size << ": " << summed.error().describe();
        EXPECT_EQ(*summed, sum) << size;
        if (size > 64 * 1024) continue;  // a reply's bytes stay under the reply pool
        auto echoed = proxy_->EchoBytes(bytes);
        ASSERT_TRUE(echoed) << size << ": " << echoed.error().describe();
        EXPECT_EQ(*echoed, bytes) << size;
    }
}

TEST_F(IdlCallTest, OutAndInoutParametersComeBack) {
    int32_t high = 0, low = 0;
    ASSERT_TRUE(proxy_->Split(0x123456789abcdef0LL, high, low));
    EXPECT_EQ(high, 0x12345678);
    EXPECT_EQ(static_cast<uint32_t>(low), 0x9abcdef0u);
    int32_t value = 21;
    std::string text = "ab";
    ASSERT_TRUE(proxy_->Twice(value, text));
    EXPECT_EQ(value, 42);
    EXPECT_EQ(text, "abab");
}

TEST_F(IdlCallTest, FdsTravelBothWays) {
    int ends[2];
    ASSERT_EQ(::pipe(ends), 0);
    ASSERT_EQ(::write(ends[1], "to the service", 14), 14);
    ::close(ends[1]);
    auto read = proxy_->ReadFd({ends[0]});
    ::close(ends[0]);  // the sender keeps its own
    ASSERT_TRUE(read) << read.error().describe();
    EXPECT_EQ(*read, "to the service");

    auto opened = proxy_->OpenPipe("from the service");
    ASSERT_TRUE(opened) << opened.error().describe();
    char text[32] = {};
    EXPECT_EQ(::read(opened->fd, text, sizeof text), 16);
    EXPECT_STREQ(text, "from the service");
    ::close(opened->fd);
}

TEST_F(IdlCallTest, AnInterfacePassedAsAParameterIsCallableByTheReceiver) {
    TripleListener listener;
    auto listening = listener.serve(*context_, {.name = "test.idl.client_listener"});
    ASSERT_TRUE(listening) << listening.error().describe();
    auto called = proxy_->Call(liteipc::idl::reference_to<IListener>(*listening), 14);
    ASSERT_TRUE(called) << called.error().describe();
    EXPECT_EQ(*called, 42) << "the service called this process's listener";
    EXPECT_EQ(listener.last_caller_pid(), static_cast<uint32_t>(service_.pid()))
        << "current_call() names the caller the kernel stamped";
    EXPECT_EQ(liteipc::idl::current_call(), nullptr) << "outside a method there is no current call";
}

TEST_F(IdlCallTest, AnInterfaceReturnedIsCallable) {
    auto reference = proxy_->Self();
    ASSERT_TRUE(reference) << reference.error().describe();
    auto listener = ListenerProxy::open(*context_, *reference);
    ASSERT_TRUE(listener) << listener.error().describe();
    auto value = listener->OnValue(5);
    ASSERT_TRUE(value) << value.error().describe();
    EXPECT_EQ(*value, 15);
}

// Records what OnText received, for a test to wait on.
class RecordingCallback final : public CallbackStub {
public:
    liteipc::Result<> OnText(const std::string& text) override {
        std::lock_guard lock(mutex_);
        texts_.push_back(text);
        changed_.notify_all();
        return {};
    }
    std::vector<std::string> wait_for(size_t count, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, timeout, [&] { return texts_.size() >= count; });
        return texts_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> texts_;
};

TEST_F(IdlCallTest, OnewayMethodsAndInterfacesReturnAtOnceAndArrive) {
    RecordingCallback callback;
    auto serving = callback.serve(*context_, {.name = "test.idl.callback"});
    ASSERT_TRUE(serving) << serving.error().describe();
    ASSERT_TRUE(proxy_->Notify(liteipc::idl::reference_to<ICallback>(*serving), "one"));
    ASSERT_TRUE(proxy_->Notify(liteipc::idl::reference_to<ICallback>(*serving), "two"));
    // Two oneway calls may run on the service's two workers at once, each calling back on a
    // connection of its own: both arrive, in either order.
    auto texts = callback.wait_for(2, 10s);
    std::sort(texts.begin(), texts.end());
    EXPECT_EQ(texts, (std::vector<std::string>{"notified: one", "notified: two"}));
}

TEST_F(IdlCallTest, AMethodsErrorReachesTheCallerByName) {
    auto failed = proxy_->Fail(static_cast<int32_t>(Errc::permission_denied));
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, Errc::permission_denied);
    // An error code past the known ones is a malformed reply, not a cast to garbage.
    failed = proxy_->Fail(1000);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, Errc::malformed);
}

TEST_F(IdlCallTest, AsyncCallsCompleteInAnyOrderWithTypedResults) {
    std::vector<liteipc::idl::Pending<int32_t, &AllTypesProxy::decode_EchoInt>> pending;
    for (int32_t i = 0; i < 16; ++i) {
        auto call = proxy_->EchoIntAsync(i * 11);
        ASSERT_TRUE(call) << call.error().describe();
        pending.push_back(std::move(*call));
    }
    auto text = proxy_->EchoStringAsync("async");
    ASSERT_TRUE(text) << text.error().describe();
    for (int32_t i = 15; i >= 0; --i) {
        auto value = pending[static_cast<size_t>(i)].wait(5s);
        ASSERT_TRUE(value) << value.error().describe();
        EXPECT_EQ(*value, i * 11);
    }
    auto echoed = text->wait(5s);
    ASSERT_TRUE(echoed) << echoed.error().describe();
    EXPECT_EQ(*echoed, "async");
    auto failed = proxy_->FailAsync(static_cast<int32_t>(Errc::not_found));
    ASSERT_TRUE(failed);
    auto outcome = failed->wait(5s);
    ASSERT_FALSE(outcome);
    EXPECT_EQ(outcome.error().code, Errc::not_found);
}

// The kernel's interface mismatches (the connect program's counter) and the service's denials,
// as the loader reports them.
std::pair<uint64_t, uint64_t> mismatches_and_denials(const liteipc::testing::Loader& loader, const char* service);

TEST_F(IdlCallTest, AProxyOfAnotherInterfaceIsRefusedAtConnectByTheKernel) {
    static_assert(V2::IListener::kContractHash != IListener::kContractHash);
    const auto [mismatches_before, denials_before] = mismatches_and_denials(loader_, kListenerName);
    auto other = V2::ListenerProxy::open(*context_, kListenerName);
    ASSERT_FALSE(other) << "a proxy of OHOS.Test.V2.IListener reached a service of OHOS.Test.IListener";
    EXPECT_EQ(other.error().code, Errc::interface_mismatch) << other.error().describe();
    EXPECT_EQ(other.error().sys_errno, EPROTO) << "the connect program's answer";
    // It was the BPF program: its counter and the service's denials rose by one, and no
    // connection reached the service.
    const auto [mismatches, denials] = mismatches_and_denials(loader_, kListenerName);
    EXPECT_EQ(mismatches, mismatches_before + 1);
    EXPECT_EQ(denials, denials_before + 1);
    // The right interface connects, as does a connection that names none (hand-written code).
    auto same = ListenerProxy::open(*context_, kListenerName);
    ASSERT_TRUE(same) << same.error().describe();
    EXPECT_EQ(*same->OnValue(2), 6);
    auto untyped = liteipc::Connection::open(*context_, kListenerName);
    EXPECT_TRUE(untyped) << untyped.error().describe();
    EXPECT_EQ(mismatches_and_denials(loader_, kListenerName).first, mismatches_before + 1);
}

// What `liteipc` prints for a command line, and its exit status.
std::pair<std::string, int> run_cli(const liteipc::testing::Loader& loader, const std::string& arguments) {
    const std::string command = std::string(LITEIPC_CLI_PATH) + " --socket " + loader.socket() + " --pin-root " +
                                loader.pin_root() + " " + arguments + " 2>&1";
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return {"popen failed", -1};
    char chunk[512];
    for (size_t n; (n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0;) out.append(chunk, n);
    const int status = ::pclose(pipe);
    return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

std::pair<uint64_t, uint64_t> mismatches_and_denials(const liteipc::testing::Loader& loader, const char* service) {
    auto [out, status] = run_cli(loader, "status --json");
    EXPECT_EQ(status, 0) << out;
    const auto number_after = [&](const std::string& text, size_t from) -> uint64_t {
        const size_t at = out.find(text, from);
        return at == std::string::npos ? UINT64_MAX : std::strtoull(out.c_str() + at + text.size(), nullptr, 10);
    };
    const size_t entry = out.find(std::string("\"name\":\"") + service + "\"");
    return {number_after("\"interface_mismatch\":", 0), number_after("\"denials\":", entry)};
}

TEST_F(IdlCallTest, ListShowsEachServicesInterfaceAndVersion) {
    auto [out, status] = run_cli(loader_, "list");
    EXPECT_EQ(status, 0) << out;
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(IAllTypes::kInterfaceHash));
    EXPECT_NE(out.find(std::string("OHOS.Test.IAllTypes v1 ") + hash), std::string::npos) << out;
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(IListener::kInterfaceHash));
    EXPECT_NE(out.find(std::string("OHOS.Test.IListener v1 ") + hash), std::string::npos) << out;
}

TEST_F(IdlCallTest, IntrospectPrintsTheInterfaceAServicePublishes) {
    auto [out, status] = run_cli(loader_, std::string("introspect ") + kServiceName);
    EXPECT_EQ(status, 0) << out;
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(IAllTypes::kInterfaceHash));
    EXPECT_EQ(out, std::string("// served as ") + kServiceName + ", interface hash " + hash + "\n" +
                       std::string(IAllTypes::kIdl));
    // A service written by hand publishes none: a named failure, not garbage.
    auto hand = liteipc::Service::start(*context_, {.name = "test.idl.by_hand"}, [](liteipc::Call&) { return -1; });
    ASSERT_TRUE(hand) << hand.error().describe();
    std::tie(out, status) = run_cli(loader_, "introspect test.idl.by_hand");
    EXPECT_EQ(status, 1) << out;
    EXPECT_NE(out.find("publishes no interface"), std::string::npos) << out;
    std::tie(out, status) = run_cli(loader_, "introspect test.idl.nobody");
    EXPECT_EQ(status, 5) << out;
}

TEST_F(IdlCallTest, TheCommandLineCallsAMethodByNameWithValuesTypedByTheInterface) {
    const std::string service = std::string(" ") + kServiceName + " ";
    auto [out, status] = run_cli(loader_, "call" + service + "EchoLong -- -9000000000");  // -- before a negative value
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("i64  -9000000000"), std::string::npos) << out;
    std::tie(out, status) = run_cli(loader_, "call" + service + "Twice 21 ab");  // inout values come back
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("i32  42\ns    \"abab\""), std::string::npos) << out;
    std::tie(out, status) = run_cli(loader_, "call" + service + "Split 4294967298");  // out values only
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("i32  1\ni32  2"), std::string::npos) << out;
    // What the command line cannot do is said, with the way out.
    std::tie(out, status) = run_cli(loader_, "call" + service + "EchoInt 1 2");
    EXPECT_EQ(status, 2) << out;
    EXPECT_NE(out.find("EchoInt takes 1 values, not 2"), std::string::npos) << out;
    std::tie(out, status) = run_cli(loader_, "call" + service + "EchoInt 99999999999");
    EXPECT_EQ(status, 2) << out;
    std::tie(out, status) = run_cli(loader_, "call" + service + "EchoRects x");
    EXPECT_EQ(status, 2) << out;
    EXPECT_NE(out.find("use a generated proxy"), std::string::npos) << out;
    std::tie(out, status) = run_cli(loader_, "call" + service + "NoSuchMethod");
    EXPECT_EQ(status, 2) << out;
    EXPECT_NE(out.find("its methods: EchoBoolean, EchoByte"), std::string::npos) << out;
}

TEST_F(IdlCallTest, AMalformedRequestIsRefusedByNameAndTheServiceLivesOn) {
    // EchoRects with a count far past the message: refused before anything is allocated.
    liteipc::Request request(proxy_->connection());
    request.writer().write_uint32(0x7fffffff);
    auto reply = proxy_->connection().call(static_cast<uint32_t>(IAllTypes::Code::EchoRects), request);
    ASSERT_TRUE(reply) << reply.error().describe();
    EXPECT_EQ(reply->status(), -static_cast<int32_t>(Errc::malformed));
    // A request cut short.
    liteipc::Request empty(proxy_->connection());
    reply = proxy_->connection().call(static_cast<uint32_t>(IAllTypes::Code::EchoString), empty);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status(), -static_cast<int32_t>(Errc::malformed));
    EXPECT_ECHO(EchoInt, 5);
}

}  // namespace
}  // namespace OHOS::Test

int main(int argc, char** argv) {
    if (argc == 4 && std::string(argv[1]) == "--serve") return OHOS::Test::serve(argv[2], argv[3]);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
