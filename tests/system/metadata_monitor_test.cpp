// `liteipc monitor` run as an unprivileged liteipc group member: each kind of kernel event shows
// with the fields the kernel stamped, the stream ends cleanly on SIGINT with its lost count, the
// kernel stops writing records once no one watches, and every watcher sees every event: one that
// does not read loses only its own.
#include <bpf/bpf.h>
#include <poll.h>
#include <sys/syscall.h>

#include <cstdlib>
#include <ctime>
#include <set>

#include <nlohmann/json.hpp>

#include "liteipc_abi.h"
#include "trust_support.h"

namespace liteipc::testing {
namespace {

using Json = nlohmann::json;

// `liteipc monitor --json` (or its text, with `json` false, in UTC) in a child running as `nobody`
// in the liteipc group; its stdout is a pipe.
class MonitorProcess {
public:
    MonitorProcess(const Loader& loader, std::vector<std::string> extra = {}, bool json = true) {
        int out[2];
        EXPECT_EQ(::pipe(out), 0);
        std::vector<std::string> args{LITEIPC_CLI_PATH, "--socket", loader.socket(), "--pin-root", loader.pin_root(),
                                      "monitor"};
        if (json) args.push_back("--json");
        for (auto& e : extra) args.push_back(e);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        // Forked, not spawned: it becomes a group member before the exec.
        process_ = fork_child([&] {
            ::dup2(out[1], STDOUT_FILENO);
            ::close(out[0]);
            ::close(out[1]);
            if (!become_group_member(kNobody)) return 120;
            ::setenv("TZ", "UTC", 1);
            ::execv(LITEIPC_CLI_PATH, argv.data());
            return 127;
        });
        ::close(out[1]);
        out_ = out[0];
    }
    ~MonitorProcess() {
        process_.kill_and_wait();
        if (out_ >= 0) ::close(out_);
    }

    // The next line, or an empty string after `timeout`.
    std::string next_line(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (auto end = buffer_.find('\n'); end != std::string::npos) {
                std::string line = buffer_.substr(0, end);
                buffer_.erase(0, end + 1);
                return line;
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return {};
            pollfd p{out_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return {};
            char chunk[4096];
            ssize_t n = ::read(out_, chunk, sizeof chunk);
            if (n <= 0) return {};
            buffer_.append(chunk, static_cast<size_t>(n));
        }
    }
    // The next event of `kind` (skipping others), parsed.
    Json next_event(const std::string& kind) {
        for (std::string line; !(line = next_line()).empty();) {
            Json event = Json::parse(line);
            if (event.value("event", "") == kind) return event;
        }
        return {};
    }
    int interrupt_and_wait() {
        process_.signal(SIGINT);
        const int status = process_.wait();
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    pid_t pid() const { return process_.pid(); }

private:
    OwnedPid process_;
    int out_ = -1;
    std::string buffer_;
};

class MetadataMonitorTest : public WithLoader<> {
protected:
    MetadataMonitorTest() : WithLoader("mmon", /*needs_group=*/true) {}

    uint64_t watchers() {
        int fd = bpf_obj_get((loader_.pin_root() + "/mon_on").c_str());
        uint32_t zero = 0;
        uint64_t value = ~0ull;
        if (fd >= 0) bpf_map_lookup_elem(fd, &zero, &value);
        if (fd >= 0) ::close(fd);
        return value;
    }
    bool watchers_become(uint64_t want) {
        for (int i = 0; i < 500; ++i) {
            if (watchers() == want) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
};

TEST_F(MetadataMonitorTest, GroupMemberSeesEachKindOfEventWithKernelStampedFields) {
    ASSERT_EQ(watchers(), 0u) << "no watcher yet: the kernel writes no monitor records";
    ServiceProcess service(loader_.options(), service_named("test.mon", 1));
    ServiceOptions closed = service_named("test.mon.closed");
    closed.policy = Policy::uid_range;
    closed.uid_min = closed.uid_max = 4242;
    ServiceProcess refusing(loader_.options(), closed);

    MonitorProcess monitor(loader_);
    ASSERT_TRUE(watchers_become(1)) << "the monitor never started watching";
    const uint32_t tid = static_cast<uint32_t>(::syscall(SYS_gettid));

    auto connection = Connection::open(*context_, "test.mon");
    ASSERT_TRUE(connection) << connection.error().describe();
    Json connect = monitor.next_event("connect");
    ASSERT_FALSE(connect.is_null());
    EXPECT_EQ(connect["service"], "test.mon");
    EXPECT_EQ(connect["handle"], connection->handle());
    EXPECT_EQ(connect["pid"], static_cast<uint32_t>(::getpid()));
    EXPECT_EQ(connect["tid"], tid);
    EXPECT_EQ(connect["uid"], ::getuid());
    EXPECT_EQ(connect["gid"], ::getgid());
    EXPECT_GT(connect["time_ns"].get<uint64_t>(), 0u);
    const uint64_t conn_id = connect["conn_id"].get<uint64_t>();

    ASSERT_FALSE(Connection::open(*context_, "test.mon.closed"));
    Json denial = monitor.next_event("denial");
    ASSERT_FALSE(denial.is_null());
    EXPECT_EQ(denial["service"], "test.mon.closed");
    EXPECT_EQ(denial["pid"], static_cast<uint32_t>(::getpid()));
    EXPECT_EQ(denial["tid"], tid);
    EXPECT_EQ(denial["uid"], ::getuid());
    EXPECT_EQ(denial["errno"], EPERM);

    connection = std::unexpected(Error{Errc::not_found, 0, "closed"});  // ends the connection
    Json disconnect = monitor.next_event("disconnect");
    ASSERT_FALSE(disconnect.is_null());
    EXPECT_EQ(disconnect["conn_id"], conn_id);
    EXPECT_EQ(disconnect["service"], "test.mon");
    EXPECT_EQ(disconnect["pid"], static_cast<uint32_t>(::getpid()));

    const pid_t service_pid = service.pid();
    service.kill();
    Json death = monitor.next_event("death");
    ASSERT_FALSE(death.is_null());
    EXPECT_EQ(death["pid"], static_cast<uint32_t>(service_pid));
    EXPECT_EQ(death["uid"], 0u);
    EXPECT_FALSE(death["closed"].get<bool>());
    EXPECT_TRUE(WIFSIGNALED(death["exit_code"].get<int>()));
    EXPECT_EQ(WTERMSIG(death["exit_code"].get<int>()), SIGKILL);

    // Ctrl-C: a clean end with the lost count as the last line, and the kernel stops writing.
    EXPECT_EQ(monitor.interrupt_and_wait(), 0);
    Json last;
    for (std::string line; !(line = monitor.next_line(std::chrono::seconds(2))).empty();) last = Json::parse(line);
    ASSERT_TRUE(last.contains("lost")) << last.dump();
    EXPECT_EQ(last["lost"], 0u);
    EXPECT_TRUE(watchers_become(0)) << "records still flow with no one watching";
}

TEST_F(MetadataMonitorTest, MediatedMessagesShowWithTheFieldsTheKernelStamped) {
    ServiceOptions options = service_named("test.mon.mediated");
    options.mode = Mode::mediated;
    ServiceProcess service(loader_.options(), options);
    MonitorProcess monitor(loader_, {"--service", "test.mon.mediated"});
    ASSERT_TRUE(watchers_become(1));
    auto connection = Connection::open(*context_, "test.mon.mediated");
    ASSERT_TRUE(connection) << connection.error().describe();
    const uint64_t conn_id = monitor.next_event("connect")["conn_id"].get<uint64_t>();

    uint32_t tid = 0;
    std::thread([&] {
        tid = static_cast<uint32_t>(::syscall(SYS_gettid));
        Request request(*connection);
        request.writer().write_string("hello");
        request.writer().write_int32(41);
        auto reply = connection->call(kEcho, request);
        ASSERT_TRUE(reply) << reply.error().describe();
    }).join();
    Json call = monitor.next_event("message");
    ASSERT_FALSE(call.is_null());
    EXPECT_EQ(call["service"], "test.mon.mediated");
    EXPECT_EQ(call["handle"], connection->handle());
    EXPECT_EQ(call["conn_id"], conn_id);
    EXPECT_EQ(call["pid"], static_cast<uint32_t>(::getpid()));
    EXPECT_EQ(call["tid"], tid) << "the thread that sent it";
    EXPECT_EQ(call["uid"], ::getuid());
    EXPECT_EQ(call["gid"], ::getgid());
    EXPECT_EQ(call["code"], static_cast<uint32_t>(kEcho));
    EXPECT_FALSE(call["oneway"].get<bool>());
    EXPECT_EQ(call["payload"], "inline") << "a small message travels in its call slot";
    EXPECT_GT(call["payload_bytes"].get<uint64_t>(), 5u);
    EXPECT_GT(call["time_ns"].get<uint64_t>(), 0u);

    // A oneway message, then a raw one written in place: its payload stays in the sender's pool,
    // where the record points.
    Request note(*connection);
    note.writer().write_string("note");
    note.writer().write_int32(1);
    ASSERT_TRUE(connection->send(kEcho, note));
    Json oneway = monitor.next_event("message");
    ASSERT_FALSE(oneway.is_null());
    EXPECT_EQ(oneway["code"], static_cast<uint32_t>(kEcho));
    EXPECT_TRUE(oneway["oneway"].get<bool>());
    auto raw = connection->call_raw(kChecksum, 4096, [](std::span<std::byte> out) {
        std::fill(out.begin(), out.end(), std::byte{7});
    });
    ASSERT_TRUE(raw) << raw.error().describe();
    Json pooled = monitor.next_event("message");
    ASSERT_FALSE(pooled.is_null());
    EXPECT_EQ(pooled["code"], static_cast<uint32_t>(kChecksum));
    EXPECT_EQ(pooled["payload"], "pool");
    EXPECT_EQ(pooled["payload_bytes"], 4096u);
    EXPECT_EQ(monitor.interrupt_and_wait(), 0);
}

// Text lines start with the wall-clock time the kernel saw the event (the kernel stamps
// CLOCK_MONOTONIC), JSON carries it in UTC beside the kernel's stamp, and the closing line does
// not speak of a full ring when nothing was lost.
TEST_F(MetadataMonitorTest, EventsShowTheirWallClockTime) {
    ServiceProcess service(loader_.options(), service_named("test.mon.clock"));
    auto utc_seconds = [](const std::string& text, const char* format) {
        tm parts{};
        const char* end = ::strptime(text.c_str(), format, &parts);
        return end ? static_cast<long long>(::timegm(&parts)) : -1LL;
    };
    {
        MonitorProcess monitor(loader_, {"--count", "1"}, /*json=*/false);
        ASSERT_TRUE(watchers_become(1));
        auto connection = Connection::open(*context_, "test.mon.clock");
        ASSERT_TRUE(connection) << connection.error().describe();
        const long long now = ::time(nullptr);
        std::string line = monitor.next_line();
        ASSERT_NE(line.find("connect"), std::string::npos) << line;
        // "2026-12-06 04:40:01.123456 connect ..."
        ASSERT_GT(line.size(), 27u) << line;
        EXPECT_EQ(line[19], '.') << line;
        const long long seen = utc_seconds(line.substr(0, 19), "%Y-%m-%d %H:%M:%S");
        EXPECT_LE(std::llabs(seen - now), 5) << "not the wall clock: " << line << " (now " << now << ")";
        EXPECT_EQ(monitor.next_line(), "-- no events lost");
    }
    MonitorProcess monitor(loader_, {"--count", "1"});
    ASSERT_TRUE(watchers_become(1));
    auto connection = Connection::open(*context_, "test.mon.clock");
    ASSERT_TRUE(connection) << connection.error().describe();
    const long long now = ::time(nullptr);
    Json event = Json::parse(monitor.next_line());
    ASSERT_EQ(event["event"], "connect") << event.dump();
    const std::string time = event["time"].get<std::string>();  // "2026-12-06T04:40:01.123456Z"
    ASSERT_EQ(time.size(), 27u) << time;
    EXPECT_EQ(time.back(), 'Z') << time;
    EXPECT_LE(std::llabs(utc_seconds(time.substr(0, 19), "%Y-%m-%dT%H:%M:%S") - now), 5) << time;
    EXPECT_GT(event["time_ns"].get<uint64_t>(), 0u) << "the kernel's own stamp stays";
}

TEST_F(MetadataMonitorTest, ServiceFilterShowsOnlyThatServiceAndCountEnds) {
    ServiceProcess one(loader_.options(), service_named("test.one"));
    ServiceProcess two(loader_.options(), service_named("test.two"));
    MonitorProcess monitor(loader_, {"--service", "test.two", "--count", "1"});
    ASSERT_TRUE(watchers_become(1));
    auto a = Connection::open(*context_, "test.one");
    ASSERT_TRUE(a) << a.error().describe();
    auto b = Connection::open(*context_, "test.two");
    ASSERT_TRUE(b) << b.error().describe();
    Json first = Json::parse(monitor.next_line());
    EXPECT_EQ(first["event"], "connect");
    EXPECT_EQ(first["service"], "test.two") << first.dump();
    Json last = Json::parse(monitor.next_line());
    EXPECT_TRUE(last.contains("lost")) << last.dump();
    EXPECT_TRUE(watchers_become(0));
}


TEST_F(MetadataMonitorTest, EveryWatcherSeesEveryEventAndAHostileOneHidesNoneAndLosesOnlyItsOwn) {
    ServiceProcess service(loader_.options(), service_named("test.mon.all", 1));
    // Two honest watchers, read as they print; a hostile one of the same uid that watches and
    // never reads, and tries to consume the kernel's ring itself.
    MonitorProcess first(loader_, {"--service", "test.mon.all"});
    MonitorProcess second(loader_, {"--service", "test.mon.all"});
    const std::string pin_root = loader_.pin_root(), socket = loader_.socket();
    Hostile<2> hostile(kNobody, [&] {
        int ring = bpf_obj_get((pin_root + "/monitor").c_str());
        int open_errno = ring < 0 ? errno : 0;
        int watching = connect_raw(socket);  // kept open, never read again
        RawReply reply = raw_request(watching, control_request(detail::ControlOp::watch_monitor));
        return std::array<int, 2>{open_errno, reply.answered ? code(reply.code()) : -1};
    });
    EXPECT_EQ(hostile.results()[0], EACCES) << "a member may not consume the monitor ring";
    ASSERT_EQ(hostile.results()[1], 0) << "the hostile watcher was refused";
    ASSERT_TRUE(watchers_become(3));

    auto read_all = [](MonitorProcess& monitor) {
        std::vector<Json> lines;
        for (std::string line; !(line = monitor.next_line(std::chrono::seconds(30))).empty();)
            lines.push_back(Json::parse(line));
        return lines;
    };
    std::vector<Json> first_lines, second_lines;
    std::thread first_reader([&] { first_lines = read_all(first); });
    std::thread second_reader([&] { second_lines = read_all(second); });

    // More records than the hostile watcher's queue and socket hold.
    constexpr int kConnections = 1200;
    for (int i = 0; i < kConnections; ++i) {
        auto connection = Connection::open(*context_, "test.mon.all");
        ASSERT_TRUE(connection) << i << ": " << connection.error().describe();
    }
    const uint32_t hostile_pid = static_cast<uint32_t>(hostile.pid());
    auto dropped_by = [&](uint32_t pid, const std::string& status) -> long long {
        Json document = Json::parse(status, nullptr, false);
        if (document.is_discarded()) return -1;
        for (const Json& watcher : document["monitor_watchers"])
            if (watcher["pid"] == pid) return watcher["dropped"].get<long long>();
        return -1;
    };
    std::string status = status_when(loader_, [&](const std::string& s) { return dropped_by(hostile_pid, s) > 0; });
    EXPECT_GT(dropped_by(hostile_pid, status), 0) << "the hostile watcher's own loss is counted\n" << status;
    EXPECT_EQ(dropped_by(static_cast<uint32_t>(first.pid()), status), 0) << status;
    EXPECT_EQ(dropped_by(static_cast<uint32_t>(second.pid()), status), 0) << status;

    // Every event reached both honest watchers, each with its own count of what it lost.
    auto events_until_all_seen = [&](MonitorProcess& monitor, std::thread& reader, std::vector<Json>& lines) {
        // Both events of the last connection printed, or the time is up: then Ctrl-C.
        for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;) {
            std::string text = status_text(loader_);
            Json document = Json::parse(text, nullptr, false);
            bool drained = !document.is_discarded();
            if (drained)
                for (const Json& watcher : document["monitor_watchers"])
                    if (watcher["pid"] == static_cast<uint32_t>(monitor.pid())) drained = watcher["queued"] == 0;
            if (drained) break;
            std::this_thread::sleep_for(20ms);
        }
        std::this_thread::sleep_for(200ms);  // what the loader sent is read and printed
        EXPECT_EQ(monitor.interrupt_and_wait(), 0);
        reader.join();
        std::set<uint64_t> connects, disconnects;
        uint64_t lost = ~0ull;
        for (const Json& line : lines) {
            if (line.contains("lost")) lost = line["lost"].get<uint64_t>();
            else if (line["event"] == "connect") connects.insert(line["conn_id"].get<uint64_t>());
            else if (line["event"] == "disconnect") disconnects.insert(line["conn_id"].get<uint64_t>());
        }
        EXPECT_EQ(lost, 0u);
        EXPECT_EQ(connects.size() + disconnects.size() + lost, 2u * kConnections);
        return connects;
    };
    auto first_seen = events_until_all_seen(first, first_reader, first_lines);
    auto second_seen = events_until_all_seen(second, second_reader, second_lines);
    EXPECT_EQ(first_seen.size(), static_cast<std::size_t>(kConnections));
    EXPECT_EQ(first_seen, second_seen) << "the two watchers saw different events";
}

}  // namespace
}  // namespace liteipc::testing
