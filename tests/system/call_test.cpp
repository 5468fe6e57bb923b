// Calls between real processes: a service in a child process, clients here and in other children.
#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <atomic>
#include <numeric>
#include <vector>

#include "liteipc/liteipc_adapter.h"
#include "process_state.h"
#include "test_processes.h"

namespace liteipc::testing {
namespace {

class CallTest : public WithLoader<> {
protected:
    CallTest() : WithLoader("call", /*needs_group=*/true) {}
    ServiceOptions options(const char* name) {
        ServiceOptions o;
        o.name = name;
        o.workers = 2;
        return o;
    }
};

TEST_F(CallTest, RequestReplyRoundTrip) {
    ServiceProcess service(loader_.options(), options("test.echo"));
    auto echo = Connection::open(*context_, "test.echo");
    ASSERT_TRUE(echo) << echo.error().describe();
    Request request(*echo);
    request.writer().write_string("hello");
    request.writer().write_int32(41);
    auto reply = echo->call(kEcho, request);
    ASSERT_TRUE(reply) << reply.error().describe();
    EXPECT_EQ(reply->status(), 0);
    Reader reader = reply->reader();
    EXPECT_EQ(reader.read_string_view(), "hello");
    EXPECT_EQ(reader.read_int32(), 42);
    EXPECT_TRUE(reader.ok()) << reader.error_reason();
    EXPECT_EQ(echo->service().pid, static_cast<uint32_t>(service.pid()));
}

TEST_F(CallTest, ServiceSeesTheKernelVerifiedCaller) {
    ServiceProcess service(loader_.options(), options("test.who"));
    auto who = Connection::open(*context_, "test.who");
    ASSERT_TRUE(who) << who.error().describe();
    Request request(*who);
    auto reply = who->call(kWhoAmI, request);
    ASSERT_TRUE(reply) << reply.error().describe();
    Reader reader = reply->reader();
    EXPECT_EQ(reader.read_uint32(), static_cast<uint32_t>(::getpid()));
    EXPECT_EQ(reader.read_uint32(), ::getuid());
    EXPECT_EQ(reader.read_uint32(), ::getgid());
    EXPECT_EQ(reader.read_uint32(), static_cast<uint32_t>(::syscall(SYS_gettid)));
}

TEST_F(CallTest, EightThreadsTimesTenThousandCallsEachGetTheirOwnReply) {
    ServiceProcess service(loader_.options(), options("test.many"));
    auto many = Connection::open(*context_, "test.many");
    ASSERT_TRUE(many) << many.error().describe();
    constexpr int kThreads = 8, kCalls = 10'000;
    std::atomic<int> wrong{0}, failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kCalls; ++i) {
                Request request(*many);
                request.writer().write_string("t" + std::to_string(t));
                request.writer().write_int32(i);
                auto reply = many->call(kEcho, request, 10s);
                if (!reply) {
                    failed.fetch_add(1);
                    continue;
                }
                Reader reader = reply->reader();
                if (reader.read_string_view() != "t" + std::to_string(t) || reader.read_int32() != i + 1)
                    wrong.fetch_add(1);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(wrong.load(), 0);
}

TEST_F(CallTest, OnewayCallsArrive) {
    // One worker serves the ring in order, so the two-way call comes after every oneway one.
    ServiceOptions one_worker = options("test.oneway");
    one_worker.workers = 1;
    ServiceProcess service(loader_.options(), one_worker);
    auto conn = Connection::open(*context_, "test.oneway");
    ASSERT_TRUE(conn);
    for (int i = 0; i < 1000; ++i) {
        Request request(*conn);
        ASSERT_TRUE(conn->send(kCount, request));
    }
    Request request(*conn);
    auto reply = conn->call(kCount, request);
    ASSERT_TRUE(reply) << reply.error().describe();
    EXPECT_EQ(reply->reader().read_uint64(), 1001u);  // the oneway calls were all served first
}

TEST_F(CallTest, TimeoutsFire) {
    ServiceProcess service(loader_.options(), options("test.slow"));
    auto slow = Connection::open(*context_, "test.slow");
    ASSERT_TRUE(slow);
    Request request(*slow);
    request.writer().write_int32(3000);
    auto started = std::chrono::steady_clock::now();
    auto reply = slow->call(kSleep, request, 200ms);
    auto took = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, Errc::timed_out);
    EXPECT_GE(took, 200ms);
    EXPECT_LT(took, 1500ms);
}

TEST_F(CallTest, SixtyFourMebibytePayloadArrivesIntactAndIsReadInPlace) {
    ServiceOptions o = options("test.big");
    o.reply_pool_bytes = 80u << 20;
    ServiceProcess service(loader_.options(), o);
    ConnectOptions c;
    c.request_pool_bytes = 80u << 20;
    auto big = Connection::open(*context_, "test.big", c);
    ASSERT_TRUE(big) << big.error().describe();
    constexpr size_t kSize = 64u << 20;
    // Every byte is written and read on both sides: under ThreadSanitizer on a loaded 2-core
    // machine this test takes about 40 s in all, so the deadline is generous.
    constexpr auto kTimeout = 90s;

    Request request(*big);
    std::span<std::byte> out = request.writer().reserve_buffer(kSize);  // written once, in the pool
    ASSERT_EQ(out.size(), kSize) << request.writer().error_reason();
    for (size_t i = 0; i < kSize; ++i) out[i] = static_cast<std::byte>((i * 131) >> 3);
    uint64_t expected = checksum(out);
    auto reply = big->call(kChecksum, request, kTimeout);
    ASSERT_TRUE(reply) << reply.error().describe();
    Reader reader = reply->reader();
    EXPECT_EQ(reader.read_uint64(), kSize);
    EXPECT_EQ(reader.read_uint64(), expected);

    // And back: a 64 MiB reply read in place from the service's reply pool.
    Request ask(*big);
    ask.writer().write_uint64(kSize);
    auto large = big->call(kBigReply, ask, kTimeout);
    ASSERT_TRUE(large) << large.error().describe();
    Reader back = large->reader();
    auto bytes = back.read_buffer();
    ASSERT_EQ(bytes.size(), kSize) << back.error_reason();
    size_t bad = 0;
    for (size_t i = 0; i < kSize; ++i) bad += bytes[i] != static_cast<std::byte>(i * 7);
    EXPECT_EQ(bad, 0u);
}

TEST_F(CallTest, ExhaustedPoolIsAClearError) {
    ServiceProcess service(loader_.options(), options("test.full"));
    ConnectOptions c;
    c.request_pool_bytes = 1u << 20;
    auto conn = Connection::open(*context_, "test.full", c);
    ASSERT_TRUE(conn);
    Request request(*conn);
    request.writer().reserve_buffer(4u << 20);
    EXPECT_FALSE(request.writer().ok());
    EXPECT_EQ(request.writer().error(), ParcelError::pool_exhausted);
    auto reply = conn->call(kChecksum, request);
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, Errc::no_memory);
    // The connection still works.
    Request small(*conn);
    small.writer().write_string("still here");
    small.writer().write_int32(1);
    EXPECT_TRUE(conn->call(kEcho, small));
}

TEST_F(CallTest, PendingCallFailsWithDeadObjectWhenTheServiceDies) {
    auto service = std::make_unique<ServiceProcess>(loader_.options(), options("test.dying"));
    auto conn = Connection::open(*context_, "test.dying");
    ASSERT_TRUE(conn);
    std::atomic<bool> done{false};
    Result<Reply> pending = fail(Errc::closed, "not run");
    std::chrono::steady_clock::time_point failed_at;
    std::thread caller([&] {
        Request request(*conn);
        request.writer().write_int32(10'000);
        pending = conn->call(kSleep, request, 20s);
        failed_at = std::chrono::steady_clock::now();
        done = true;
    });
    std::this_thread::sleep_for(200ms);
    auto killed_at = std::chrono::steady_clock::now();
    service->kill();
    caller.join();
    ASSERT_FALSE(pending);
    EXPECT_EQ(pending.error().code, Errc::dead_object) << pending.error().describe();
    EXPECT_LT(failed_at - killed_at, 1s);

    // A new call fails at once, and the service is gone from the registry.
    Request again(*conn);
    auto started = std::chrono::steady_clock::now();
    auto next = conn->call(kEcho, again, 5s);
    ASSERT_FALSE(next);
    EXPECT_EQ(next.error().code, Errc::dead_object);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 100ms);
    auto reconnect = Connection::open(*context_, "test.dying");
    ASSERT_FALSE(reconnect);
    EXPECT_EQ(reconnect.error().code, Errc::not_found);
}

TEST_F(CallTest, ClientOfAnotherUidIsRefusedUnlessThePolicyAllows) {
    ServiceProcess closed(loader_.options(), options("test.private"));
    ServiceOptions open_options = options("test.public");
    open_options.policy = Policy::anyone;
    ServiceProcess open(loader_.options(), open_options);
    // A nobody in the liteipc group: refused by the private service, served by the public one.
    auto denied = run_peer<4>("connect_and_call", peer_args(loader_.options(), kNobody, "test.private"));
    EXPECT_EQ(denied[0], static_cast<int>(Errc::permission_denied));
    auto allowed = run_peer<4>("connect_and_call", peer_args(loader_.options(), kNobody, "test.public"));
    EXPECT_EQ(allowed[0], 0) << "an allowed client of another uid must connect";
    EXPECT_EQ(allowed[1], 0) << "and be served";
    EXPECT_EQ(allowed[2], 1) << "with its own pid";
    EXPECT_EQ(allowed[3], static_cast<int>(kNobody)) << "and its own uid";
}

TEST_F(CallTest, FdsPassBothWays) {
    ServiceProcess service(loader_.options(), options("test.fds"));
    auto conn = Connection::open(*context_, "test.fds");
    ASSERT_TRUE(conn) << conn.error().describe();
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    Request request(*conn);
    request.writer().write_fd(pipe_fds[1]);  // borrowed: the call sends a copy
    auto reply = conn->call(kPipe, request);
    ::close(pipe_fds[1]);
    ASSERT_TRUE(reply) << reply.error().describe();
    ASSERT_EQ(reply->status(), 0);
    char got[5] = {};
    ASSERT_EQ(::read(pipe_fds[0], got, 4), 4);
    EXPECT_STREQ(got, "ping");
    ::close(pipe_fds[0]);

    Reader reader = reply->reader();
    int back = reader.take_fd();  // ours now
    ASSERT_GE(back, 0) << reader.error_reason();
    EXPECT_TRUE(reader.read_bool());
    char pong[5] = {};
    EXPECT_EQ(::read(back, pong, 4), 4);
    EXPECT_STREQ(pong, "pong");
    ::close(back);
}

TEST_F(CallTest, ServiceReferenceGrantsTheRightToCall) {
    // This process owns a service that, by policy, only granted pids may reach.
    ServiceOptions locked = options("test.locked");
    locked.policy = Policy::pids;
    auto own = Service::start(*context_, locked, handle);
    ASSERT_TRUE(own) << own.error().describe();
    ServiceProcess relay(loader_.options(), options("test.relay"));
    auto conn = Connection::open(*context_, "test.relay");
    ASSERT_TRUE(conn);

    // Knowing the handle is not enough: the kernel refuses the relay's connect.
    Request number(*conn);
    number.writer().write_uint32(own->handle());
    auto refused = conn->call(kTryNumber, number);
    ASSERT_TRUE(refused) << refused.error().describe();
    EXPECT_EQ(refused->status(), -static_cast<int32_t>(Errc::permission_denied));

    // A reference passed in a message is a capability: now it may connect and call.
    Request reference(*conn);
    reference.writer().write_service(SvcIdentity{own->handle(), 0, 0});
    auto allowed = conn->call(kTryReference, reference);
    ASSERT_TRUE(allowed) << allowed.error().describe();
    EXPECT_EQ(allowed->status(), 0) << "a passed reference must let the receiver connect";
}


// The LiteIPC C API talks to a C++ service, and fds in an IpcIo travel like any others.
TEST_F(CallTest, CApiClientPassesAnFdToACppService) {
    ServiceProcess service(loader_.options(), options("test.capi"));
    ::setenv("LITEIPC_SOCKET", loader_.socket().c_str(), 1);
    ::setenv("LITEIPC_PIN_ROOT", loader_.pin_root().c_str(), 1);
    IpcContext* ipc = OpenLiteIpc(0);
    ASSERT_NE(ipc, nullptr);
    SvcIdentity sid{};
    ASSERT_EQ(LiteIpcGetService(ipc, "test.capi", &sid), LITEIPC_OK);

    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    alignas(8) uint8_t data[256];
    IpcIo request;
    IpcIoInit(&request, data, sizeof data, 4);
    IpcIoPushFd(&request, static_cast<uint32_t>(pipe_fds[1]));
    IpcIo reply;
    uintptr_t buffer = 0;
    ASSERT_EQ(SendRequest(ipc, sid, kPipe, &request, &reply, LITEIPC_FLAG_DEFAULT, &buffer), LITEIPC_OK);
    ::close(pipe_fds[1]);
    char got[5] = {};
    ASSERT_EQ(::read(pipe_fds[0], got, 4), 4);
    EXPECT_STREQ(got, "ping");
    ::close(pipe_fds[0]);
    int back = IpcIoPopFd(&reply);
    ASSERT_GE(back, 0);
    EXPECT_TRUE(IpcIoPopBool(&reply));
    char pong[5] = {};
    EXPECT_EQ(::read(back, pong, 4), 4);
    EXPECT_STREQ(pong, "pong");
    ::close(back);
    EXPECT_EQ(FreeBuffer(ipc, reinterpret_cast<void*>(buffer)), LITEIPC_OK);
    CloseLiteIpc(ipc);
}


// What a service sends to one client sits in that connection's reply pool, which no other client
// maps: a second, unprivileged client of the same service finds it nowhere it can read.
TEST_F(CallTest, ASecondClientCannotReadWhatTheServiceSentTheFirst) {
    ServiceOptions open = options("test.shared");
    open.policy = Policy::anyone;
    ServiceProcess service(loader_.options(), open);

    // The first client asks for a large reply; it lands in its reply pool.
    auto first = Connection::open(*context_, "test.shared");
    ASSERT_TRUE(first);
    Request ask(*first);
    ask.writer().write_uint64(1u << 20);
    auto reply = first->call(kSecret, ask);
    ASSERT_TRUE(reply) << reply.error().describe();
    Reader reader = reply->reader();
    auto sent = reader.read_buffer();
    ASSERT_EQ(sent.size(), 1u << 20);
    std::vector<std::byte> secret(sent.begin() + 4096, sent.begin() + 4096 + 64);
    ASSERT_TRUE(mapped_liteipc_memory_contains(secret)) << "the first client reads its reply in its pool";

    auto outcome = run_peer<3>("look_for_another_clients_reply",
                               peer_args(loader_.options(), "test.shared", service.pid(), to_hex(secret)));
    EXPECT_EQ(outcome[0], 1) << "the second client must be able to connect";
    EXPECT_EQ(outcome[1], 0) << "the second client could read the first client's reply";
    EXPECT_EQ(outcome[2], 0) << "the second client opened one of the service's fds";
}


// Identity never comes from memory a client can write: a client that scribbles a forged pid over
// its whole ctrl region gets either its real identity or a named error, and the service serves on.
TEST_F(CallTest, ForgedIdentityInSharedMemoryChangesNothing) {
    ServiceProcess service(loader_.options(), options("test.forge"));
    // Forged pid seen, real pid seen, named error.
    auto outcome = run_peer<3>("forge_identity", peer_args(loader_.options(), "test.forge"));
    EXPECT_NE(outcome[0], 1) << "a forged pid reached the service";
    EXPECT_TRUE(outcome[1] == 1 || outcome[2] == 1) << "neither a real identity nor a named error";

    // The service is unharmed and serves an honest client.
    auto honest = Connection::open(*context_, "test.forge");
    ASSERT_TRUE(honest);
    Request request(*honest);
    auto reply = honest->call(kWhoAmI, request, 2s);
    ASSERT_TRUE(reply) << reply.error().describe();
    EXPECT_EQ(reply->reader().read_uint32(), static_cast<uint32_t>(::getpid()));
}

}  // namespace
}  // namespace liteipc::testing
