// Two interfaces (IPlainTypes.idl, and IComposedTypes.idl under the service's name + ".composed")
// in all four pairings through a real loader: C++ and C proxies against C++ and C stubs. The C++
// services run in this process; the C services (peers/plain_types_service.c,
// composed_types_service.c) and the C client (peers/plain_types_client.c, composed_types_client.c)
// are programs of their own, on this test's loader through LITEIPC_SOCKET and LITEIPC_PIN_ROOT.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <thread>

#include "all_types_service.h"
#include "composed_types_service.h"
#include "loader_fixture.h"
#include "c_api_processes.h"
#include "plain_types_service.h"

namespace OHOS::Test {
namespace {

using liteipc::Errc;
using namespace std::chrono_literals;

constexpr const char* kCxxService = "test.idl.plain.cxx";
constexpr const char* kCService = "test.idl.plain.c";
constexpr const char* kListener = "test.idl.plain.listener";
constexpr const char* kComposed = ".composed";  // where each service's IComposedTypes is served

// The C client against `service`: its exit status (its failure count), or -1 when it did not end
// within the deadline (then it is killed).
int run_c_client(const char* service, const char* program = LITEIPC_IDL_C_CLIENT) {
    ::setenv("IDL_SERVICE", service, 1);
    liteipc::testing::OwnedPid client = liteipc::testing::spawn_program({program});
    const int status = client.wait_or_kill(120s);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class IdlPairingsTest : public liteipc::testing::WithLoader<> {
protected:
    IdlPairingsTest() : WithLoader("idlpair") {}
    void SetUp() override {
        WithLoader::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        ::setenv("LITEIPC_SOCKET", loader_.socket().c_str(), 1);
        ::setenv("LITEIPC_PIN_ROOT", loader_.pin_root().c_str(), 1);
        service_.emplace(*context_);
        auto serving = service_->serve(*context_, {.name = kCxxService, .workers = 2});
        ASSERT_TRUE(serving) << serving.error().describe();
        serving_.emplace(std::move(*serving));
        composed_.emplace(*context_);
        auto composing = composed_->serve(*context_, {.name = std::string(kCxxService) + kComposed, .workers = 2});
        ASSERT_TRUE(composing) << composing.error().describe();
        composing_.emplace(std::move(*composing));
        auto listening = listener_.serve(*context_, {.name = kListener});
        ASSERT_TRUE(listening) << listening.error().describe();
        listening_.emplace(std::move(*listening));
    }
    void TearDown() override {
        ::unsetenv("LITEIPC_SOCKET");
        ::unsetenv("LITEIPC_PIN_ROOT");
        ::unsetenv("IDL_SERVICE");
    }

    // Every type through a C++ proxy to the service `name` (and its IComposedTypes).
    void round_trips(const char* name);
    void composed_round_trips(const std::string& name);

    std::optional<PlainTypesService> service_;
    std::optional<liteipc::Service> serving_;
    std::optional<ComposedTypesService> composed_;
    std::optional<liteipc::Service> composing_;
    TripleListener listener_;
    std::optional<liteipc::Service> listening_;
};

#define EXPECT_ECHO(method, value)                                           \
    do {                                                                     \
        auto echoed = proxy->method(value);                                  \
        ASSERT_TRUE(echoed) << #method << ": " << echoed.error().describe(); \
        EXPECT_EQ(*echoed, value) << #method;                                \
    } while (0)

void IdlPairingsTest::round_trips(const char* name) {
    // The kernel refuses a proxy of another interface at connect, whichever language serves.
    auto wrong = ListenerProxy::open(*context_, name);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, Errc::interface_mismatch) << wrong.error().describe();
    auto proxy = PlainTypesProxy::open(*context_, name);
    ASSERT_TRUE(proxy) << proxy.error().describe();
    proxy->set_timeout(30s);
    EXPECT_ECHO(EchoBoolean, true);
    EXPECT_ECHO(EchoByte, int8_t{-128});
    EXPECT_ECHO(EchoShort, int16_t{32767});
    EXPECT_ECHO(EchoInt, INT32_MIN);
    EXPECT_ECHO(EchoLong, INT64_MAX);
    EXPECT_ECHO(EchoFloat, -1.5e30f);
    EXPECT_ECHO(EchoDouble, 2.5e-300);
    EXPECT_ECHO(EchoString, std::string("héllo, liteipc"));
    EXPECT_ECHO(EchoString, std::string());
    for (size_t size : {size_t{0}, size_t{200}, size_t{4096}, size_t{65536}}) {
        std::vector<uint8_t> bytes(size);
        int64_t sum = 0;
        for (size_t i = 0; i < size; ++i) sum += bytes[i] = static_cast<uint8_t>(i * 13);
        auto echoed = proxy->EchoBytes(bytes);
        ASSERT_TRUE(echoed) << size << ": " << echoed.error().describe();
        EXPECT_EQ(*echoed, bytes) << size;
        auto summed = proxy->SumBytes(bytes);
        ASSERT_TRUE(summed) << summed.error().describe();
        EXPECT_EQ(*summed, sum) << size;
    }
    EXPECT_ECHO(EchoLongs, (std::vector<int64_t>{1, -2, INT64_MAX}));
    EXPECT_ECHO(EchoLongs, std::vector<int64_t>{});
    EXPECT_ECHO(EchoStrings, (std::vector<std::string>{"a", "", "ccc"}));
    EXPECT_ECHO(EchoMap, (std::unordered_map<std::string, int32_t>{{"one", 1}, {"two", 2}}));

    int32_t high = 0, low = 0;
    ASSERT_TRUE(proxy->Split(0x123456789abcdef0, high, low));
    EXPECT_EQ(high, 0x12345678);
    EXPECT_EQ(low, static_cast<int32_t>(0x9abcdef0));
    int32_t value = 21;
    std::string text = "abc";
    std::vector<int32_t> numbers{1, -5};
    ASSERT_TRUE(proxy->Twice(value, text, numbers));
    EXPECT_EQ(value, 42);
    EXPECT_EQ(text, "abcabc");
    EXPECT_EQ(numbers, (std::vector<int32_t>{2, -10}));

    int ends[2];
    ASSERT_EQ(::pipe(ends), 0);
    ASSERT_EQ(::write(ends[1], "through a pipe", 14), 14);
    ::close(ends[1]);
    auto read = proxy->ReadFd(liteipc::idl::FileDescriptor{ends[0]});
    ::close(ends[0]);
    ASSERT_TRUE(read) << read.error().describe();
    EXPECT_EQ(*read, "through a pipe");

    // The receiver calls this process's listener back, by the reference it was given.
    auto tripled = proxy->CallListener(liteipc::idl::reference_to<IListener>(*listening_), 14);
    ASSERT_TRUE(tripled) << tripled.error().describe();
    EXPECT_EQ(*tripled, 42);
    // A reference to a service of another interface passed as an IListener: the receiver's proxy of
    // it is refused by the kernel, as a connect by name is; the method answers with that error.
    auto refused = proxy->CallListener(liteipc::idl::reference_to<IListener>(*serving_), 14);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::interface_mismatch) << refused.error().describe();
    auto again = proxy->CallListener(liteipc::idl::reference_to<IListener>(*listening_), 2);
    ASSERT_TRUE(again) << again.error().describe();
    EXPECT_EQ(*again, 6) << "what is left works";

    auto failed = proxy->Fail(static_cast<int32_t>(Errc::permission_denied));
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, Errc::permission_denied);

    ASSERT_TRUE(proxy->Note("left a note"));
    std::string note;
    for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
        auto last = proxy->LastNote();
        ASSERT_TRUE(last) << last.error().describe();
        if ((note = *last) == "left a note") break;
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(note, "left a note") << "the oneway call arrives";
    composed_round_trips(std::string(name) + kComposed);
}

void IdlPairingsTest::composed_round_trips(const std::string& name) {
    auto proxy = ComposedTypesProxy::open(*context_, name);
    ASSERT_TRUE(proxy) << proxy.error().describe();
    proxy->set_timeout(30s);
    EXPECT_ECHO(EchoPoint, (Point{-7, 1 << 30}));
    EXPECT_ECHO(EchoRect, (Rect{{1, 2}, {3, 4}, "a rect"}));
    const std::vector<Rect> rects{{{1, 2}, {3, 4}, "first"}, {{5, 6}, {7, 8}, ""}};
    EXPECT_ECHO(EchoRects, rects);
    EXPECT_ECHO(EchoRects, std::vector<Rect>{});
    EXPECT_ECHO(EchoPoints, (std::vector<Point>{{1, -1}, {2, -2}, {3, -3}}));
    EXPECT_ECHO(EchoRectMap, (std::unordered_map<std::string, Rect>{{"one", rects[0]}, {"two", rects[1]}}));
    EXPECT_ECHO(EchoTable, (std::vector<std::vector<std::string>>{{"a", "", "ccc"}, {}}));
    EXPECT_ECHO(EchoGrid, (std::vector<std::vector<int32_t>>{{1, 2, 3}, {-4}, {}}));
    EXPECT_ECHO(EchoNested, (std::unordered_map<int32_t, std::vector<std::string>>{{7, {"seven", "sept"}}, {-1, {}}}));
    EXPECT_ECHO(EchoMaps, (std::vector<std::unordered_map<std::string, Point>>{{{"origin", {0, 0}}, {"far", {9, 9}}}, {}}));

    // The receiver calls back each reference in the list.
    const auto listener = liteipc::idl::reference_to<IListener>(*listening_);
    auto sum = proxy->CallListeners({listener, listener}, 7);
    ASSERT_TRUE(sum) << sum.error().describe();
    EXPECT_EQ(*sum, 42);

    Point point{1, 2};
    std::vector<Rect> moved{{{1, 1}, {2, 2}, "first"}, {{3, 3}, {4, 4}, "second"}};
    std::unordered_map<std::string, std::vector<Point>> named{{"stale", {}}};
    ASSERT_TRUE(proxy->Move(point, moved, named));
    EXPECT_EQ(point, (Point{2, 3}));
    EXPECT_EQ(moved, (std::vector<Rect>{{{3, 3}, {4, 4}, "second"}, {{1, 1}, {2, 2}, "first"}}));
    EXPECT_EQ(named, (std::unordered_map<std::string, std::vector<Point>>{{"corners", {{1, 1}, {3, 3}}},
                                                                          {"sizes", {{2, 2}, {4, 4}}}}));
}

TEST_F(IdlPairingsTest, CxxClientCxxService) { round_trips(kCxxService); }

TEST_F(IdlPairingsTest, CxxClientCService) {
    ::setenv("IDL_SERVICE", kCService, 1);
    liteipc::testing::PeerProgram c_service(LITEIPC_IDL_C_SERVICE);
    round_trips(kCService);
}

TEST_F(IdlPairingsTest, CClientCxxService) { EXPECT_EQ(run_c_client(kCxxService), 0) << "its failures are above"; }

TEST_F(IdlPairingsTest, CClientCService) {
    ::setenv("IDL_SERVICE", kCService, 1);
    liteipc::testing::PeerProgram c_service(LITEIPC_IDL_C_SERVICE);
    EXPECT_EQ(run_c_client(kCService), 0) << "its failures are above";
}

// A client of IListener's next version (one contract with version 1, a method appended) reaches
// this process's listener of version 1: the kernel lets it in, and the appended method gets
// unknown_method.
TEST_F(IdlPairingsTest, ANewerVersionOfTheSameLineConnectsAndGetsUnknownMethod) {
    EXPECT_EQ(run_c_client(kListener, LITEIPC_IDL_NEXT_CLIENT), 0) << "its reason is above";
}

// A C stub refuses a request that stops inside a held container (what it read so far is freed:
// the sanitized build checks) or counts past the message, with malformed, and serves on.
TEST_F(IdlPairingsTest, ACStubRefusesMalformedComposedRequestsAndServesOn) {
    ::setenv("IDL_SERVICE", kCService, 1);
    liteipc::testing::PeerProgram c_service(LITEIPC_IDL_C_SERVICE);
    const std::string name = std::string(kCService) + kComposed;
    auto connection = liteipc::Connection::open(*context_, name);
    ASSERT_TRUE(connection) << connection.error().describe();
    const auto grid = static_cast<uint32_t>(IComposedTypes::Code::EchoGrid);
    liteipc::Request cut(*connection);  // two rows announced; the first stops after two of three cells
    cut.writer().write_uint32(2);
    cut.writer().write_uint32(3);
    cut.writer().write_int32(1);
    cut.writer().write_int32(2);
    auto answer = connection->call(grid, cut, 30s);
    ASSERT_TRUE(answer) << answer.error().describe();
    EXPECT_EQ(answer->status(), -static_cast<int32_t>(Errc::malformed));
    liteipc::Request counted(*connection);  // one row of 2^31-1 cells
    counted.writer().write_uint32(1);
    counted.writer().write_uint32(0x7fffffff);
    answer = connection->call(grid, counted, 30s);
    ASSERT_TRUE(answer) << answer.error().describe();
    EXPECT_EQ(answer->status(), -static_cast<int32_t>(Errc::malformed));
    auto proxy = ComposedTypesProxy::open(*context_, name);
    ASSERT_TRUE(proxy) << proxy.error().describe();
    EXPECT_ECHO(EchoGrid, (std::vector<std::vector<int32_t>>{{1, 2, 3}}));
}

// A C stub answers an unknown code (a newer client's method) with unknown_method, and publishes
// its interface as a C++ stub does.
TEST_F(IdlPairingsTest, ACStubAnswersUnknownMethodsAndIntrospection) {
    ::setenv("IDL_SERVICE", kCService, 1);
    liteipc::testing::PeerProgram c_service(LITEIPC_IDL_C_SERVICE);
    auto connection = liteipc::Connection::open(*context_, kCService);
    ASSERT_TRUE(connection) << connection.error().describe();
    liteipc::Request unknown(*connection);
    auto answer = connection->call(1000, unknown, 30s);
    ASSERT_TRUE(answer) << answer.error().describe();
    EXPECT_EQ(answer->status(), -static_cast<int32_t>(Errc::unknown_method));
    liteipc::Request introspect(*connection);
    auto published = connection->call(liteipc::idl::kIntrospectCode, introspect, 30s);
    ASSERT_TRUE(published) << published.error().describe();
    liteipc::Reader r = published->reader();
    EXPECT_EQ(r.read_string_view(), IPlainTypes::kIdl);
    EXPECT_EQ(r.read_uint64(), IPlainTypes::kInterfaceHash);
    EXPECT_TRUE(r.ok());
}

}  // namespace
}  // namespace OHOS::Test
