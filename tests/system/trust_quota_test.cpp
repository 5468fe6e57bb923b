// Every table a client can fill is under a per-uid quota: one uid at its quota gets a named
// error and a counter, another uid still registers, connects and calls, and after the holder
// dies every count and map is back where it was.

#include "trust_support.h"

namespace liteipc::testing {
namespace {

using detail::ControlOp;

class TrustHelloTest : public WithLoader<> {
protected:
    TrustHelloTest() : WithLoader("trust-hello", /*needs_group=*/true) {}
};

TEST_F(TrustHelloTest, HellosFromProcessesThatExitAtOnceLeaveNoSlotAlive) {
    const long long alive_before = json_number(status_text(loader_), "processes_alive");
    const std::string socket = loader_.socket();
    Hostile<1> attacker(kNobody, [&] {
        int sent = 0;
        for (int i = 0; i < 200; ++i) {
            pid_t child = ::fork();
            if (child == 0) {
                int s = connect_raw(socket);
                auto hello = control_request(ControlOp::hello);
                ::_exit(::send(s, &hello, sizeof hello, 0) == sizeof hello ? 0 : 1);
            }
            int status = 0;
            ::waitpid(child, &status, 0);
            sent += WIFEXITED(status) && WEXITSTATUS(status) == 0;
        }
        return std::array<int, 1>{sent};
    });
    EXPECT_EQ(attacker.results()[0], 200);
    std::string status = status_when(loader_, [&](const std::string& s) {
        return json_number(s, "processes_alive") == alive_before && held_by(s, kNobody, "sockets") == 0;
    });
    EXPECT_EQ(json_number(status, "processes_alive"), alive_before) << "slots stayed alive for dead processes";
    EXPECT_EQ(held_by(status, kNobody, "processes"), 0);
    // The table has room for an honest process of another uid.
    EXPECT_EQ(run_peer<1>("open_context_as", peer_args(loader_.options(), kOtherUid))[0], 0);
}

constexpr const char* kSmallQuotas =
    "quota.processes = 3\n"
    "quota.sockets = 12\n"
    "quota.services = 2\n"
    "quota.connections = 4\n"
    "quota.pending_channels = 2\n"
    "quota.grants = 2\n"
    "quota.subscriptions = 2\n"
    "channel_setup_timeout_ms = 60000\n"
    "unlisted_names = anyone\n";

class TrustQuotaTest : protected WithConfig, public WithLoader<> {
protected:
    TrustQuotaTest() : WithConfig(kSmallQuotas), WithLoader("trust-quota", true, loader_args()) {}
};

TEST_F(TrustQuotaTest, EachTableFilledByOneUidRefusesItByNameAndLeavesOthersServed) {
    ServiceProcess service(loader_.options(), {.name = "honest.echo", .policy = Policy::anyone});
    int s = connect_raw(loader_.socket());
    RawReply found = raw_request(s, control_request(ControlOp::lookup, 0, "honest.echo"));
    ::close(s);
    ASSERT_EQ(found.reply.result, 0);
    const PeerId honest{found.reply.peer_slot, found.reply.peer_generation, found.reply.peer_pid};
    const std::string before = status_text(loader_);

    // The attacker: a spawned peer, since it opens a context (threads) and this process runs threads.
    const PeerId self = context_->self();
    Peer attacker = Peer::spawn("fill_every_table_as", peer_args(loader_.options(), kNobody, honest.slot, honest.generation,
                                                                 honest.pid, self.slot, self.generation, self.pid));
    std::array<int, kTables> past;
    ASSERT_TRUE(attacker.read(past)) << "the attacker reported nothing (not uid " << kNobody << "?)";
    std::string status = status_text(loader_);
    for (int table = 0; table < kTables; ++table) {
        EXPECT_EQ(past[table], code(Errc::quota_exceeded)) << "past the quota of " << kTableKey[table];
        EXPECT_GE(refused_count(status, std::string("quota_") + kTableKey[table]), 1) << kTableKey[table];
    }
    EXPECT_EQ(held_by(status, kNobody, "services"), 2) << status;
    EXPECT_EQ(held_by(status, kNobody, "connections"), 4) << status;

    // Another uid is unaffected while the attacker holds everything it may.
    EXPECT_EQ(other_uid_connects_and_calls(loader_.options(), "honest.echo"), 0);
    EXPECT_EQ(run_peer<1>("register_name_as", peer_args(loader_.options(), kOtherUid, "other.service"))[0], 0);

    // The attacker dies: everything it held is reclaimed.
    attacker.kill_and_wait();
    status = status_when(loader_, [&](const std::string& s) {
        for (const char* key : kTableKey)
            if (held_by(s, kNobody, key) != 0) return false;
        return true;
    });
    for (const char* key : kTableKey) EXPECT_EQ(held_by(status, kNobody, key), 0) << key << ": " << status;
    for (const char* key : {"connections", "pending_channels", "grants", "processes_alive"})
        EXPECT_EQ(json_number(status, key), json_number(before, key)) << key;
}

}  // namespace
}  // namespace liteipc::testing
