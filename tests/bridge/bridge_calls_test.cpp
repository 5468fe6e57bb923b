// Calls across the bridge between two network namespaces: both directions and both C APIs,
// identity and access, data buffers up to and one past the configured limit, fds and service
// references refused,
// and the counters `liteipc stats` shows on both hosts.
#include <dirent.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <numeric>
#include <thread>

#include "bridge_fixture.h"

namespace liteipc::testing {
namespace {

int exit_status(Spawned& process) {
    const int status = process.wait();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A counter of `name` ("calls", "oneway") as `liteipc stats --json` shows it on `host`'s loader.
uint64_t counted(TwoHosts& hosts, Host& host, const std::string& name, const char* counter = "calls") {
    const std::string out = hosts.dir() + "/stats.json";
    shell(std::string(LITEIPC_CLI_PATH) + " stats --json --socket " + host.loader->socket() + " --pin-root " +
          host.loader->pin_root() + " > " + out);
    try {
        const auto stats = nlohmann::json::parse(read_text(out));
        for (const auto& service : stats["stats"])
            if (service["name"] == name) return service["counters"][counter].get<uint64_t>();
    } catch (const nlohmann::json::exception& e) {
        ADD_FAILURE() << "liteipc stats: " << e.what() << ": " << read_text(out);
    }
    return 0;
}

// Runs `client` on `from`, which echoes `text` through `import` and sends it as a oneway note;
// checks the echo, and that the note reached `service` on the other host from `serving`'s bridge.
void expect_echo_and_note(TwoHosts& hosts, Host& from, std::vector<std::string> client, const std::string& import,
                          const std::string& text, Spawned& service, Host& serving, const std::string& log_name) {
    for (const std::string& arg : {std::string("--name"), import, std::string("--text"), text}) client.push_back(arg);
    Spawned& run = hosts.run_on(from, client, log_name);
    EXPECT_EQ(exit_status(run), 0) << run.output();
    EXPECT_NE(run.output().find("echo -> \"" + text + "\""), std::string::npos) << run.output();
    const std::string note = "note from pid " + std::to_string(serving.bridge->pid()) + ": " + text;
    EXPECT_TRUE(eventually([&] { return service.output().find(note) != std::string::npos; }, std::chrono::seconds(5)))
        << service.output();
}

TEST_F(BridgeTest, CClientOnACallsCppServiceOnBAndCppClientOnBCallsCServiceOnA) {
    Host& a = hosts_.a();
    Host& b = hosts_.b();
    // The example services print each note with its caller's pid: the serving host's bridge.
    expect_echo_and_note(hosts_, a, {LITEIPC_BRIDGE_C_CLIENT}, "remote.b.demo.cpp-echo", "from C on a",
                         *b.processes[0], b, "c-client");
    expect_echo_and_note(hosts_, b, {LITEIPC_TEST_PEER_PATH, "bridge_client"}, "remote.a.demo.c-echo", "from C++ on b",
                         *a.processes[0], a, "cpp-client");

    // Bridged calls are counted like local ones: at the stand-in on the caller's host and at the
    // service on the other (each client makes two calls and sends one note).
    for (auto [host, name, calls] : {std::tuple{&a, "remote.b.demo.cpp-echo", 2u}, std::tuple{&b, "demo.cpp-echo", 2u},
                                     std::tuple{&b, "remote.a.demo.c-echo", 2u}, std::tuple{&a, "demo.c-echo", 2u}}) {
        EXPECT_EQ(counted(hosts_, *host, name), calls) << name;
        EXPECT_EQ(counted(hosts_, *host, name, "oneway"), 1u) << name;
    }
}

TEST_F(BridgeTest, ServiceReadsTheVouchedTokenAndSeesTheBridgeAsKernelVerifiedCaller) {
    Connection slow = connect("remote.b.demo.slow");
    Request request(slow);
    request.set_token(99);  // a local token does not cross: the serving bridge sets its own
    auto reply = slow.call(kWho, request);
    ASSERT_TRUE(reply) << reply.error().describe();
    Reader reader = reply->reader();
    EXPECT_EQ(reader.read_uint32(), 1u) << "b's config gives peer a the token 1";
    EXPECT_EQ(reader.read_uint32(), static_cast<uint32_t>(hosts_.b().bridge->pid()));
    EXPECT_EQ(reader.read_uint32(), ::getuid());
}

TEST_F(BridgeTest, TheLocalCallersTimeoutBecomesTheRemoteCallsDeadline) {
    Connection slow = connect("remote.b.demo.slow");
    // A caller's timeout reaches the remote service as what is left of it after both bridges and
    // the network (the bridges' call_timeout_ms, 60000, is only a cap).
    for (auto [timeout, low, high] : {std::tuple{800, 1, 800}, std::tuple{30000, 20000, 30000}}) {
        Request request(slow);
        auto reply = slow.call(kDeadline, request, std::chrono::milliseconds(timeout));
        ASSERT_TRUE(reply) << reply.error().describe();
        ASSERT_EQ(reply->status(), 0);
        const uint32_t left = reply->reader().read_uint32();
        EXPECT_GE(left, static_cast<uint32_t>(low)) << "timeout " << timeout << " ms";
        // The time left crosses in milliseconds, rounded up, and bridges and network take their share.
        EXPECT_LE(left, static_cast<uint32_t>(high + 250)) << "timeout " << timeout << " ms";
    }
}

// An import's worker polls for a remote reply (reply_poll_us) only while replies come within
// the poll: for a service that answers in 5 ms it sleeps, and its CPU time stays that of the
// forwarding alone.
class BridgeReplyPollTest : public BridgeTest {
protected:
    static constexpr int kPollUs = 2000;
    BridgeReplyPollTest() { a_settings_ = "\"reply_poll_us\":" + std::to_string(kPollUs) + ","; }

    // CPU time of `pid`'s threads so far (/proc/PID/task/*/schedstat, in ns).
    static uint64_t cpu_ns(pid_t pid) {
        uint64_t total = 0;
        const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
        DIR* dir = ::opendir(tasks.c_str());
        if (!dir) return 0;
        while (const dirent* entry = ::readdir(dir)) {
            if (entry->d_name[0] == '.') continue;
            uint64_t ns = 0;
            std::ifstream(tasks + "/" + entry->d_name + "/schedstat") >> ns;
            total += ns;
        }
        ::closedir(dir);
        return total;
    }
};

TEST_F(BridgeReplyPollTest, AWorkerDoesNotPollForASlowPeersReplies) {
    Connection slow = connect("remote.b.demo.slow");
    pid_t child = 0;
    const nlohmann::json status = bridge_status(hosts_.a());
    for (const auto& import : status["imports"])
        if (import["service"] == "remote.b.demo.slow") child = import["pid"].get<pid_t>();
    ASSERT_GT(child, 0) << status.dump();
    constexpr int kCalls = 40;
    const uint64_t before = cpu_ns(child);
    for (int i = 0; i < kCalls; ++i) {
        Request request(slow);
        request.writer().write_uint32(5);  // ms
        auto reply = slow.call(kSleep, request, std::chrono::seconds(10));
        ASSERT_TRUE(reply && reply->status() == 0) << "call " << i;
    }
    const double spent_ms = static_cast<double>(cpu_ns(child) - before) / 1e6;
    std::printf("[ figure ] import child CPU for %d calls of 5 ms: %.1f ms (polling each: at least %d ms)\n", kCalls,
                spent_ms, kCalls * kPollUs / 1000);
    // Polling on every call would take at least 40 x 2 ms; the first call polls, no other.
    EXPECT_LT(spent_ms, kCalls * kPollUs / 1000 / 2.0);
}

TEST_F(BridgeTest, CallsInFlightOverlapAndTheirStreamsAreReleased) {
    Connection slow = connect("remote.b.demo.slow");
    auto sleep_call = [&](uint32_t ms, std::chrono::milliseconds timeout) {
        Request request(slow);
        request.writer().write_uint32(ms);
        return slow.call(kSleep, request, timeout);
    };
    // Four calls of 600 ms at once take about 600 ms, not 2400: each has a stream of its own.
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> callers;
    std::atomic<int> answered{0};
    for (int i = 0; i < 4; ++i)
        callers.emplace_back([&] {
            auto reply = sleep_call(600, std::chrono::seconds(10));
            if (reply && reply->status() == 0) ++answered;
        });
    for (auto& caller : callers) caller.join();
    EXPECT_EQ(answered, 4);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1800));
    EXPECT_TRUE(eventually([&] { return bridge_status(hosts_.b())["exports"]["streams"] == 4; }, std::chrono::seconds(5)))
        << bridge_status(hosts_.b()).dump() << ": the streams stay open for the next calls";

    // A call whose caller gives up ends with timed_out, and the next calls get whole answers.
    // Its stream is dropped when the importer's deadline passes first, or reused when the
    // exporter's "deadline exceeded" arrives first (both wait for the same deadline): never more
    // streams than before. The importer forwards the caller's own deadline, so the caller's
    // library and the importer's reply race for it: either is the timeout, never the answer.
    auto late = sleep_call(1500, std::chrono::milliseconds(300));
    if (late)
        EXPECT_EQ(late->status(), kBridgeTimedOut) << "the importer's timeout reply, not the service's answer";
    else
        EXPECT_EQ(late.error().code, Errc::timed_out);
    for (const std::string text : {"after", "the timeout"}) {
        Request request(slow);
        request.writer().write_string(text);
        auto reply = slow.call(kEcho, request, std::chrono::seconds(10));
        ASSERT_TRUE(reply) << reply.error().describe();
        EXPECT_EQ(reply->status(), 0);
        EXPECT_EQ(reply->reader().read_string(), text);
    }
    EXPECT_LE(bridge_status(hosts_.b())["exports"]["streams"].get<int>(), 4);

    // The importing child goes: every stream it had open is released on the serving side.
    pid_t child = 0;
    const auto importing = bridge_status(hosts_.a());
    for (const auto& import : importing["imports"])
        if (import["service"] == "remote.b.demo.slow") child = import["pid"].get<pid_t>();
    ASSERT_GT(child, 0) << importing.dump();
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    EXPECT_TRUE(eventually([&] { return bridge_status(hosts_.b())["exports"]["streams"] == 0; }, std::chrono::seconds(5)))
        << bridge_status(hosts_.b()).dump();
}

TEST_F(BridgeTest, RefusedIdentityIsANamedErrorThereAndACounterHere) {
    Spawned& c_client =
        hosts_.run_on(hosts_.a(), {LITEIPC_BRIDGE_C_CLIENT, "--name", "remote.b.demo.secret", "--text", "x"}, "refused");
    EXPECT_EQ(exit_status(c_client), 1);
    EXPECT_NE(c_client.output().find("echo failed: -11"), std::string::npos) << "LITEIPC_EPERM: " << c_client.output();

    Connection secret = connect("remote.b.demo.secret");
    Request request(secret);
    request.writer().write_string("x");
    auto reply = secret.call(kEcho, request);
    ASSERT_TRUE(reply) << reply.error().describe();
    EXPECT_EQ(reply->status(), kBridgePermissionDenied);

    const auto status = bridge_status(hosts_.b());
    EXPECT_EQ(status["exports"]["refused"], 2) << status.dump();
    EXPECT_EQ(counted(hosts_, hosts_.b(), "demo.secret"), 0u) << "a refused call reaches no service";
}

// Header, one OBJ_PTR object and its offsets entry: what a message holding one pool buffer adds.
constexpr uint64_t kOneBufferMessage = sizeof(MessageHeader) + sizeof(WireObject) + sizeof(uint32_t);

// kBuffer sends the buffer back (pool buffers both ways); kSum answers its sum alone, so that
// only the request is near the limit.
Result<Reply> call_with_buffer(Connection& connection, size_t size, BridgePeerCode code = kBuffer) {
    std::vector<std::byte> bytes(size);
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>(i * 7 + 3);
    Request request(connection);
    request.writer().write_buffer(bytes);
    return connection.call(code, request);
}

uint64_t sum_of_pattern(size_t size) {
    uint64_t sum = 0;
    for (size_t i = 0; i < size; ++i) sum += static_cast<uint8_t>(i * 7 + 3);
    return sum;
}

TEST_F(BridgeTest, DataBuffersCrossUpToTheLimitAndBeyondItOrWithFdsOrReferencesAreNamedErrors) {
    Connection slow = connect("remote.b.demo.slow");
    for (size_t size : {size_t{64}, size_t{64 * 1024}}) {
        auto reply = call_with_buffer(slow, size);
        ASSERT_TRUE(reply) << size << ": " << reply.error().describe();
        ASSERT_EQ(reply->status(), 0) << size;
        Reader reader = reply->reader();
        EXPECT_EQ(reader.read_uint64(), sum_of_pattern(size)) << size;
        const auto back = reader.read_buffer();
        ASSERT_EQ(back.size(), size);
        for (size_t i = 0; i < size; ++i)
            if (back[i] != static_cast<std::byte>(i * 7 + 3)) {
                ADD_FAILURE() << size << ": byte " << i << " differs";
                break;
            }
    }
    const size_t at_limit = kMaxMessageBytes - kOneBufferMessage;
    auto largest = call_with_buffer(slow, at_limit, kSum);
    ASSERT_TRUE(largest) << largest.error().describe();
    ASSERT_EQ(largest->status(), 0);
    EXPECT_EQ(largest->reader().read_uint64(), sum_of_pattern(at_limit));
    auto one_past = call_with_buffer(slow, at_limit + 1, kSum);
    ASSERT_TRUE(one_past) << one_past.error().describe();
    EXPECT_EQ(one_past->status(), kBridgeTooLarge);

    int pipe_ends[2];
    ASSERT_EQ(::pipe(pipe_ends), 0);
    Request with_fd(slow);
    with_fd.writer().write_fd(pipe_ends[0]);
    auto refused = slow.call(kEcho, with_fd);
    ::close(pipe_ends[0]);
    ::close(pipe_ends[1]);
    ASSERT_TRUE(refused) << refused.error().describe();
    EXPECT_EQ(refused->status(), kBridgeFdRefused);

    Request with_reference(slow);
    with_reference.writer().write_service(SvcIdentity{slow.handle(), 0, 0});
    auto reference_refused = slow.call(kEcho, with_reference);
    ASSERT_TRUE(reference_refused) << reference_refused.error().describe();
    EXPECT_EQ(reference_refused->status(), kBridgeServiceRefused);

    // Every call reached the stand-in on a; only the 3 that crossed reached the service on b.
    EXPECT_EQ(counted(hosts_, hosts_.a(), "remote.b.demo.slow"), 6u);
    EXPECT_EQ(counted(hosts_, hosts_.b(), "demo.slow"), 3u);
    // The bridge still serves.
    auto after = call_with_buffer(slow, 64);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->status(), 0);
}

}  // namespace
}  // namespace liteipc::testing
