// Every table a client can fill is under a per-uid quota: one uid at its quota gets a named
// error and a counter, another uid still registers, connects and calls, and after the holder
// dies every count and map is back where it was.
#include <bpf/bpf.h>

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
    "channel_setup_timeout_ms = 60000\n";

class TrustQuotaTest : protected WithConfig, public WithLoader<> {
protected:
    TrustQuotaTest() : WithConfig(kSmallQuotas), WithLoader("trust-quota", true, loader_args()) {}
};

enum Table { kServices, kGrants, kConnections, kSubscriptions, kPending, kProcesses, kSockets, kTables };
const char* const kTableKey[kTables] = {"services", "grants", "connections", "subscriptions",
                                        "pending_channels", "processes", "sockets"};

// Fills each table as one uid, and reports the error of the first request past each quota.
std::array<int, kTables> fill_every_table(const ContextOptions& options, PeerId honest_service, PeerId test_process) {
    std::array<int, kTables> past;
    past.fill(-9999);
    static std::optional<Context> context;  // held until the process dies
    auto opened = Context::open(options);
    if (!opened) return past;
    context.emplace(std::move(*opened));
    auto control = [&](detail::ControlRequest request) { return context->impl().control(request); };

    uint32_t handle = 0;
    for (const char* name : {"nobody.a", "nobody.b", "nobody.c"}) {
        auto request = control_request(ControlOp::register_service, 0, name);
        request.policy = LITEIPC_POLICY_ANYONE;
        auto registered = control(request);
        if (registered && !handle) handle = registered->reply.handle;
        past[kServices] = registered ? 0 : code(registered.error().code);
    }
    for (uint32_t uid : {1001u, 1002u, 1003u}) {
        auto request = control_request(ControlOp::add_uid, handle);
        request.id = uid;
        auto granted = control(request);
        past[kGrants] = granted ? 0 : code(granted.error().code);
    }
    std::vector<uint64_t> conns;
    for (int i = 0; i < 5; ++i) {
        liteipc_connect_ctl connect{};
        connect.handle = handle;
        LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &connect, .ctx_size_in = sizeof connect);
        if (bpf_prog_test_run_opts(context->impl().connect_prog, &run) != 0) return past;
        if (connect.result == 0) conns.push_back(connect.conn_id);
        past[kConnections] = connect.result == -EDQUOT ? code(Errc::quota_exceeded) : connect.result;
    }
    for (PeerId peer : {context->self(), honest_service, test_process}) {
        auto subscribed = context->on_death(peer, [](const DeathNotice&) {});
        past[kSubscriptions] = subscribed ? 0 : code(subscribed.error().code);
        if (subscribed) {
            static std::vector<DeathSubscription> kept;
            kept.push_back(std::move(*subscribed));
        }
    }
    // Client halves of its own connections that no service will ever accept.
    for (std::size_t i = 0; i < 3 && i < conns.size(); ++i) {
        int s = connect_raw(options.socket_path);
        auto ctrl = sealed_memfd(1 << 16, F_SEAL_SHRINK | F_SEAL_GROW);
        auto pool = sealed_memfd(1 << 16, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE);
        auto request = control_request(ControlOp::open_channel);
        request.conn_id = conns[i];
        const int half[] = {ctrl.get(), pool.get()};
        RawReply reply = raw_request(s, request, half, 300);  // a waiting half does not answer
        past[kPending] = reply.answered ? code(reply.code()) : 0;
    }
    for (int i = 0; i < 3; ++i) {
        pid_t child = ::fork();
        if (child == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            int s = connect_raw(options.socket_path);
            RawReply hello = raw_request(s, control_request(ControlOp::hello));
            int result = hello.answered ? code(hello.code()) : -1;
            if (result != 0) ::_exit(result);
            for (;;) ::pause();  // registered through `s`, kept open until the attacker dies
        }
        int status = 0;
        std::this_thread::sleep_for(100ms);
        past[kProcesses] = ::waitpid(child, &status, WNOHANG) == child ? WEXITSTATUS(status) : 0;
    }
    for (int i = 0; i < 50; ++i) {
        int s = connect_raw(options.socket_path);
        RawReply reply = raw_request(s, control_request(ControlOp::lookup, 0, "nobody.a"), {}, 2000);
        past[kSockets] = reply.answered ? code(reply.code()) : -2;
        if (past[kSockets] != 0) break;
    }
    return past;
}

TEST_F(TrustQuotaTest, EachTableFilledByOneUidRefusesItByNameAndLeavesOthersServed) {
    ServiceProcess service(loader_.options(), {.name = "honest.echo", .policy = Policy::anyone});
    int s = connect_raw(loader_.socket());
    RawReply found = raw_request(s, control_request(ControlOp::lookup, 0, "honest.echo"));
    ::close(s);
    ASSERT_EQ(found.reply.result, 0);
    const PeerId honest{found.reply.peer_slot, found.reply.peer_generation, found.reply.peer_pid};
    const std::string before = status_text(loader_);

    Hostile<kTables> attacker(kNobody, [&] { return fill_every_table(loader_.options(), honest, context_->self()); });
    const auto past = attacker.results();
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
    attacker.end();
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
