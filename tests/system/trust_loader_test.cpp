// The loader never waits on one client: a client that sends and never reads is dropped, a
// connection whose other half never comes ends within the configured bound with a named error,
// and at its fd limit the loader keeps serving the clients it has and refuses new ones by name.
#include <bpf/bpf.h>
#include <sys/resource.h>

#include <filesystem>

#include "trust_support.h"

namespace liteipc::testing {
namespace {

using detail::ControlOp;
using Clock = std::chrono::steady_clock;

class TrustLoaderTest : public WithLoader<> {
protected:
    TrustLoaderTest() : WithLoader("trust-loop", /*needs_group=*/true) {}
};

TEST_F(TrustLoaderTest, AClientThatNeverReadsIsDroppedAndOthersKeepWorking) {
    ServiceProcess service(loader_.options(), {.name = "honest.echo", .policy = Policy::anyone});
    const std::string socket = loader_.socket();
    // Status requests as fast as the loader takes them, for three seconds, never reading one reply.
    Hostile<1> flooder(kNobody, [&] {
        int s = connect_raw(socket);
        auto request = control_request(ControlOp::status);
        int sent = 0;
        for (auto until = Clock::now() + 3s; Clock::now() < until;) {
            if (::send(s, &request, sizeof request, MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof request)
                ++sent;
            else if (errno == EAGAIN)
                std::this_thread::sleep_for(1ms);
            else
                break;  // dropped
        }
        return std::array<int, 1>{sent};
    });
    EXPECT_GT(flooder.results()[0], 256) << "the flood did not get going";
    // The flooder still holds its socket: everyone else is served all the same.
    auto started = Clock::now();
    auto echo = Connection::open(*context_, "honest.echo");
    ASSERT_TRUE(echo) << echo.error().describe();
    EXPECT_TRUE(echo_works(*echo));
    EXPECT_EQ(other_uid_connects_and_calls(loader_.options(), "honest.echo"), 0);
    EXPECT_LT(Clock::now() - started, 5s);
    std::string status = status_text(loader_);
    EXPECT_GE(refused_count(status, "slow_clients"), 1) << status;
    flooder.end();
    status = status_when(loader_, [](const std::string& s) { return held_by(s, kNobody, "sockets") == 0; });
    EXPECT_EQ(held_by(status, kNobody, "sockets"), 0);
}

class TrustSetupDeadlineTest : protected WithConfig, public WithLoader<> {
protected:
    TrustSetupDeadlineTest()
        : WithConfig("channel_setup_timeout_ms = 1000\nunlisted_names = anyone\n"),
          WithLoader("trust-setup", true, loader_args()) {}
};

TEST_F(TrustSetupDeadlineTest, AServiceThatNeverAcceptsEndsTheClientsWaitWithANamedError) {
    // Registered, and reachable by anyone, but nothing accepts the connections it gets.
    Peer trap = Peer::spawn("register_and_hold_as", peer_args(loader_.options(), kNobody, "trap.never",
                                                              static_cast<int>(LITEIPC_POLICY_ANYONE)));
    int registered = -9999;
    ASSERT_TRUE(trap.read(registered));
    ASSERT_EQ(registered, 0);
    auto started = Clock::now();
    auto connection = Connection::open(*context_, "trap.never", {.timeout = 20s});
    auto waited = Clock::now() - started;
    ASSERT_FALSE(connection);
    EXPECT_EQ(connection.error().code, Errc::timed_out) << connection.error().describe();
    EXPECT_NE(connection.error().message.find("did not accept"), std::string::npos) << connection.error().describe();
    EXPECT_LT(waited, 5s) << "the client waited for its own timeout, not the loader's bound";
    std::string status = status_text(loader_);
    EXPECT_GE(refused_count(status, "expired_channels"), 1);
    EXPECT_EQ(json_number(status, "pending_channels"), 0);
}

TEST_F(TrustSetupDeadlineTest, ClientsThatNeverOpenDoNotHoldTheServiceUp) {
    ServiceProcess service(loader_.options(), {.name = "honest.echo", .policy = Policy::anyone});
    // Two connects the kernel approves, then nothing: the service's accepts wait for halves
    // that never come.
    Peer half_open = Peer::spawn("half_open_connects_as", peer_args(loader_.options(), kNobody, 1, 2));
    int made = -9999;
    ASSERT_TRUE(half_open.read(made));
    ASSERT_EQ(made, 2);
    // The service accepts one connection at a time: each half-open one holds it up to the
    // loader's bound (1 s here), not for the service's own 5 s timeout.
    auto started = Clock::now();
    std::string status = status_when(loader_, [](const std::string& s) { return refused_count(s, "expired_channels") >= 2; });
    EXPECT_GE(refused_count(status, "expired_channels"), 2);
    EXPECT_LT(Clock::now() - started, 4s);
    // Then an honest client of another uid is served within its own timeout.
    EXPECT_EQ(other_uid_connects_and_calls(loader_.options(), "honest.echo"), 0);
    status = status_text(loader_);
    // An expired connection leaves the table and its uid's quota.
    EXPECT_EQ(held_by(status, kNobody, "connections"), 0) << status;
}

TEST(TrustFdLimitTest, AtItsFdLimitTheLoaderServesItsClientsAndRefusesNewOnesByName) {
    LITEIPC_REQUIRE_SYSTEM();
    if (!::getgrnam("liteipc")) {
        if (bpf_required()) FAIL() << "group liteipc missing (scripts/setup-env.sh creates it)";
        GTEST_SKIP() << "group liteipc missing";
    }
    // No socket quota, so the fd limit is what binds.
    TempFile config("quota.sockets = 0\n");
    Loader loader("trust-fds", {"--config", config.path()});
    ASSERT_TRUE(loader.start());
    auto context = Context::open(loader.options());
    ASSERT_TRUE(context) << context.error().describe();
    ServiceProcess service(loader.options(), {.name = "honest.echo", .policy = Policy::anyone});
    auto echo = Connection::open(*context, "honest.echo");
    ASSERT_TRUE(echo) << echo.error().describe();
    // Room for about 40 more sockets: the loader's fd limit, lowered from outside.
    std::size_t open_fds = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(loader.pid()) + "/fd")) {
        (void)entry;
        ++open_fds;
    }
    rlimit small{open_fds + 80, open_fds + 80};
    ASSERT_EQ(::prlimit(loader.pid(), RLIMIT_NOFILE, &small, nullptr), 0);

    const std::string socket = loader.socket();
    Hostile<2> hoarder(kNobody, [&] {
        // Idle sockets until the loader says no.
        for (int opened = 0; opened < 1000; ++opened) {
            int s = connect_raw(socket);
            if (s < 0) return std::array<int, 2>{opened, -1};
            RawReply reply = raw_request(s, control_request(ControlOp::lookup, 0, "honest.echo"), {}, 2000);
            if (!reply.answered) return std::array<int, 2>{opened, -2};
            if (reply.reply.result != 0) return std::array<int, 2>{opened, code(reply.code())};
        }
        return std::array<int, 2>{1000, 0};
    });
    auto [opened, refusal] = hoarder.results();
    EXPECT_EQ(refusal, code(Errc::loader_busy)) << "after " << opened << " sockets";
    // The clients it has are served: status on the context's socket, calls on the connection.
    auto status = context->loader_status();
    ASSERT_TRUE(status) << status.error().describe();
    EXPECT_GE(refused_count(*status, "at_fd_limit"), 1);
    EXPECT_TRUE(echo_works(*echo));
    // A new one is refused by name, at once.
    auto refused = in_child<1>([&] {
        auto other = Context::open(loader.options());
        return std::array<int, 1>{other ? 0 : code(other.error().code)};
    });
    EXPECT_EQ(refused[0], code(Errc::loader_busy));
    // A client that arrives as the hoarder dies is let in: the loader frees the hoarder's fds
    // before it decides it has no room. Made certain with the loader stopped: the new socket
    // waits in its backlog ahead of the hoarder's hang-ups, so both reach one turn of its loop,
    // the accept first.
    ASSERT_EQ(::kill(loader.pid(), SIGSTOP), 0);
    struct Resume {
        pid_t pid;
        ~Resume() { ::kill(pid, SIGCONT); }
    } resume{loader.pid()};
    int arriving = connect_raw(socket);
    ASSERT_GE(arriving, 0);
    hoarder.end();  // reaped: its sockets are closed
    ::kill(loader.pid(), SIGCONT);
    RawReply first = raw_request(arriving, control_request(ControlOp::lookup, 0, "honest.echo"));
    ::close(arriving);
    ASSERT_TRUE(first.answered);
    EXPECT_EQ(first.code(), Errc{}) << "the first client after the hoarder died: " << first.text;
    // Then an honest client of another uid opens a context, connects and calls, at its first try.
    const auto started = Clock::now();
    EXPECT_EQ(other_uid_connects_and_calls(loader.options(), "honest.echo"), 0);
    EXPECT_LT(Clock::now() - started, 2s) << "a new client waited";
    std::string after = status_text(loader);
    ASSERT_FALSE(after.empty()) << "the loader refused a status request";
    EXPECT_EQ(held_by(after, kNobody, "sockets"), 0) << after;
}

}  // namespace
}  // namespace liteipc::testing
