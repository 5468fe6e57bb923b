// Every table a client can fill is under a per-uid quota: one uid at its quota gets a named
// error and a counter, another uid still registers, connects and calls, and after the holder
// dies every count and map is back where it was.

#include <fstream>
#include <iterator>

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
            OwnedPid child = fork_child([&] {
                int s = connect_raw(socket);
                auto hello = control_request(ControlOp::hello);
                return ::send(s, &hello, sizeof hello, 0) == sizeof hello ? 0 : 1;
            });
            sent += exit_code(child.wait()) == 0;
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


// ---- the reserve: slots of each global table only root takes ----

// Members together may hold 6 processes, 4 services, 4 connections and 2 grants; the rest is root's.
constexpr const char* kSmallRoom =
    "reserve.processes = 4090\n"
    "reserve.services = 4092\n"
    "reserve.connections = 65532\n"
    "reserve.grants = 65534\n"
    "channel_setup_timeout_ms = 60000\n"
    "unlisted_names = anyone\n";

class TrustReserveTest : protected WithConfig, public WithLoader<> {
protected:
    TrustReserveTest() : WithConfig(kSmallRoom), WithLoader("trust-reserve", true, loader_args()) {}

    // A process of `uid` registers `name` and holds both; its report is 0 or the Errc.
    Peer register_and_hold(uid_t uid, const std::string& name, int& result) {
        Peer peer = Peer::spawn("register_and_hold_as",
                                peer_args(loader_.options(), uid, name, static_cast<int>(LITEIPC_POLICY_ANYONE)));
        result = -9999;
        EXPECT_TRUE(peer.read(result)) << "uid " << uid << " reported nothing";
        return peer;
    }
    Peer half_open(uid_t uid, uint32_t handle, int count, int& approved) {
        Peer peer = Peer::spawn("half_open_connects_as", peer_args(loader_.options(), uid, handle, count));
        approved = -9999;
        EXPECT_TRUE(peer.read(approved)) << "uid " << uid << " reported nothing";
        return peer;
    }
};

TEST_F(TrustReserveTest, ColludingUidsFillUpToTheReserveAndRootStillRegistersAndConnects) {
    // Four uids, one service each: the members' room for services is full. The first also grants
    // three uids access: two fit in the members' room for grants.
    std::vector<Peer> colluders;
    colluders.push_back(Peer::spawn("register_and_grant_as", peer_args(loader_.options(), 65500, "colluder.65500", 3)));
    std::array<int, 3> grants{-9999, -9999, -9999};
    ASSERT_TRUE(colluders.back().read(grants));
    ASSERT_EQ(grants[0], 0);
    EXPECT_EQ(grants[1], 2) << "grants within the members' room";
    EXPECT_EQ(grants[2], code(Errc::quota_exceeded)) << "one grant past the members' room";
    for (uid_t uid = 65502; uid <= 65504; ++uid) {
        int result = 0;
        colluders.push_back(register_and_hold(uid, "colluder." + std::to_string(uid), result));
        ASSERT_EQ(result, 0) << "uid " << uid;
    }
    int fifth = 0;
    colluders.push_back(register_and_hold(65505, "colluder.65505", fifth));
    EXPECT_EQ(fifth, code(Errc::quota_exceeded)) << "one service past the members' room";

    // A sixth uid's process (the members' last slot) makes connections: 4 of its 5 are approved.
    int s = connect_raw(loader_.socket());
    RawReply found = raw_request(s, control_request(ControlOp::lookup, 0, "colluder.65500"));
    ::close(s);
    ASSERT_EQ(found.reply.result, 0);
    int approved = 0;
    colluders.push_back(half_open(65506, found.reply.handle, 5, approved));
    EXPECT_EQ(approved, 4) << "connections past the members' room";
    EXPECT_EQ(run_peer<1>("open_context_as", peer_args(loader_.options(), 65507))[0], code(Errc::quota_exceeded))
        << "one process past the members' room";

    // Root's processes still register, own names and connect.
    EXPECT_EQ(run_peer<1>("open_context_as", peer_args(loader_.options(), 0))[0], 0);
    EXPECT_EQ(run_peer<1>("register_name_as", peer_args(loader_.options(), 0, "root.after"))[0], 0);
    int root_approved = 0;
    Peer root_connects = half_open(0, found.reply.handle, 2, root_approved);
    EXPECT_EQ(root_approved, 2);
    auto root_service = Service::start(*context_, {.name = "root.granting", .policy = Policy::uid_list}, handle);
    ASSERT_TRUE(root_service) << root_service.error().describe();
    for (uint32_t uid = 2000; uid < 2003; ++uid) EXPECT_TRUE(root_service->allow_uid(uid)) << "root's grant " << uid;

    const std::string status = status_text(loader_);
    for (const char* key : {"reserve_processes", "reserve_services", "reserve_connections", "reserve_grants"})
        EXPECT_GE(refused_count(status, key), 1) << key << ": " << status;
    for (const char* table : {"process", "service", "connection", "grant"}) {
        std::size_t at = status.find("\"" + std::string(table) + "\":{");
        ASSERT_NE(at, std::string::npos) << table;
        EXPECT_EQ(status.substr(status.find("\"near_full\":", at) + 12, 4), "true") << table << ": " << status;
    }
}

// ---- near full: told in the log and `status` while members still have room ----

// Members together may hold 10 services: near full at 9, full at 10; the rest is root's.
constexpr const char* kTenServices =
    "reserve.services = 4086\n"
    "unlisted_names = anyone\n";

class TrustHeadroomTest : protected WithConfig, public WithLoader<> {
protected:
    TrustHeadroomTest()
        : WithConfig(kTenServices),
          WithLoader("trust-headroom", true, {"--config", config.path(), "--log-level", "warn"}) {
        loader_.log_to(log_path_);
    }
    ~TrustHeadroomTest() override { ::unlink(log_path_.c_str()); }

    // A process of `uid` registers `name` and holds both until the peer goes.
    int register_and_hold(uid_t uid, const std::string& name) {
        holders_.push_back(Peer::spawn("register_and_hold_as",
                                       peer_args(loader_.options(), uid, name, static_cast<int>(LITEIPC_POLICY_ANYONE))));
        int result = -9999;
        EXPECT_TRUE(holders_.back().read(result)) << name << ": the peer reported nothing";
        return result;
    }
    std::string log() const {
        std::ifstream in(log_path_);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }
    // A field of the "service" table in the status document ("members", "near_full").
    static std::string service_table(const std::string& status, const std::string& field) {
        std::size_t table = status.find("\"service\":{");
        if (table == std::string::npos) return "no service table";
        std::size_t at = status.find("\"" + field + "\":", table);
        return status.substr(at + field.size() + 3, status.find_first_of(",}", at) - at - field.size() - 3);
    }

    const std::string log_path_ = "/tmp/liteipc-test-headroom-" + std::to_string(::getpid()) + ".log";
    static constexpr const char* kNearFullLine = "the service table is near full";
    std::vector<Peer> holders_;
};

TEST_F(TrustHeadroomTest, NearFullIsLoggedAndInStatusBeforeTheTableFillsAndRootStillRegistersOnceItIs) {
    // Two uids take 8 of the members' 10: not near full yet, nothing said.
    for (int i = 0; i < 8; ++i)
        ASSERT_EQ(register_and_hold(i % 2 ? kNobody : kOtherUid, "member." + std::to_string(i)), 0) << i;
    std::string status = status_text(loader_);
    EXPECT_EQ(service_table(status, "members"), "8") << status;
    EXPECT_EQ(service_table(status, "near_full"), "false") << status;
    EXPECT_EQ(log().find(kNearFullLine), std::string::npos) << log();

    // The ninth: near full, in `status` at once and in the log, while the members' last slot is free.
    ASSERT_EQ(register_and_hold(kNobody, "member.8"), 0);
    status = status_text(loader_);
    EXPECT_EQ(service_table(status, "near_full"), "true") << status;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (log().find(kNearFullLine) == std::string::npos && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    EXPECT_NE(log().find(kNearFullLine), std::string::npos) << log();
    ASSERT_EQ(register_and_hold(kOtherUid, "member.9"), 0) << "near full is a warning, not a refusal";

    // One past the members' room is refused by name and counted; root's reserve still admits root.
    EXPECT_EQ(register_and_hold(kNobody, "member.10"), code(Errc::quota_exceeded));
    EXPECT_EQ(run_peer<1>("register_name_as", peer_args(loader_.options(), 0, "root.after"))[0], 0);
    status = status_text(loader_);
    EXPECT_EQ(service_table(status, "members"), "10") << "root's name is not the members'";
    EXPECT_EQ(refused_count(status, "reserve_services"), 1) << status;
    const std::string said = log();
    EXPECT_EQ(said.find(kNearFullLine, said.find(kNearFullLine) + 1), std::string::npos) << "logged once: " << said;

    // When the members go, their room is whole again and the table is no longer near full.
    holders_.clear();
    status = status_when(loader_, [&](const std::string& s) { return service_table(s, "members") == "0"; });
    EXPECT_EQ(service_table(status, "members"), "0") << status;
    EXPECT_EQ(service_table(status, "near_full"), "false") << status;
}

}  // namespace
}  // namespace liteipc::testing
