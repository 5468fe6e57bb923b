// An identity is a process, never a pid number: a control socket kept after its creator exited,
// a socket handed to another process, and a pid reused after its process died act for no one.
#include <bpf/bpf.h>
#include <sched.h>
#include <sys/socket.h>

#include "trust_support.h"

namespace liteipc::testing {
namespace {

using detail::ControlOp;

class TrustIdentityTest : public WithLoader<> {
protected:
    TrustIdentityTest() : WithLoader("trust-id", /*needs_group=*/true) {}
};

constexpr int code(Errc c) { return static_cast<int>(c); }

TEST_F(TrustIdentityTest, SocketKeptAfterItsCreatorExitedActsForNoOne) {
    const long long alive_before = json_number(status_text(loader_), "processes_alive");
    const std::string socket = loader_.socket();
    Hostile<3> attacker(kNobody, [&] {
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return std::array<int, 3>{-1, -1, -1};
        // One creator registers, passes its socket on and exits; another only connects.
        OwnedPid registered = fork_child([&] {
            int s = connect_raw(socket);
            RawReply hello = raw_request(s, control_request(ControlOp::hello));
            send_fd(pair[1], s);
            return hello.answered && hello.reply.result == 0 ? 0 : 1;
        });
        int kept_registered = receive_fd(pair[0]);
        const int status = registered.wait();
        OwnedPid connected = fork_child([&] {
            send_fd(pair[1], connect_raw(socket));
            return 0;
        });
        int kept_connected = receive_fd(pair[0]);
        connected.wait();
        RawReply service = raw_request(kept_registered, control_request(ControlOp::register_service, 0, "trust.kept"));
        RawReply hello = raw_request(kept_connected, control_request(ControlOp::hello));
        return std::array<int, 3>{exit_code(status), code(service.code()), code(hello.code())};
    });
    auto [registered, service, hello] = attacker.results();
    EXPECT_EQ(registered, 0) << "the first creator could not register";
    EXPECT_EQ(service, code(Errc::identity_mismatch)) << "a dead process's socket registered a service";
    EXPECT_EQ(hello, code(Errc::identity_mismatch)) << "a dead process's socket registered a process";

    std::string status = status_when(loader_, [&](const std::string& s) {
        return json_number(s, "processes_alive") == alive_before;
    });
    EXPECT_EQ(json_number(status, "processes_alive"), alive_before) << "a slot stayed alive for a dead process";
    EXPECT_GE(refused_count(status, "identity"), 2);
    int s = connect_raw(loader_.socket());
    EXPECT_EQ(raw_request(s, control_request(ControlOp::lookup, 0, "trust.kept")).code(), Errc::not_found);
    ::close(s);
}

TEST_F(TrustIdentityTest, SocketHandedToAnotherProcessActsForNoOne) {
    const std::string socket = loader_.socket();
    Hostile<2> attacker(kNobody, [&] {
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return std::array<int, 2>{-1, -1};
        // The holder registers and stays alive; its socket goes to the attacker.
        OwnedPid holder = fork_child([&]() -> int {
            int s = connect_raw(socket);
            raw_request(s, control_request(ControlOp::hello));
            send_fd(pair[1], s);
            for (;;) ::pause();
        });
        int handed = receive_fd(pair[0]);
        RawReply service = raw_request(handed, control_request(ControlOp::register_service, 0, "trust.handed"));
        RawReply hello = raw_request(handed, control_request(ControlOp::hello));
        holder.kill_and_wait();
        return std::array<int, 2>{code(service.code()), code(hello.code())};
    });
    auto [service, hello] = attacker.results();
    EXPECT_EQ(service, code(Errc::identity_mismatch)) << "a handed-on socket acted as its creator";
    EXPECT_EQ(hello, code(Errc::identity_mismatch));
}

// Counts the entries of a pinned map, as root sees them.
std::size_t pinned_entries(const std::string& path, std::size_t key_size) {
    int map = bpf_obj_get(path.c_str());
    if (map < 0) return SIZE_MAX;
    std::vector<std::byte> key(key_size), next(key_size);
    std::size_t n = 0;
    for (void* previous = nullptr; bpf_map_get_next_key(map, previous, next.data()) == 0; previous = key.data()) {
        key = next;
        ++n;
    }
    ::close(map);
    return n;
}

TEST_F(TrustIdentityTest, APidGrantEndsWithItsGrantee) {
    auto own = Service::start(*context_, {.name = "granted.only", .policy = Policy::pids}, handle);
    ASSERT_TRUE(own) << own.error().describe();
    const std::string grants_pin = loader_.pin_root() + "/grants";
    const std::size_t grants_before = pinned_entries(grants_pin, sizeof(liteipc_grant_key));
    // The grantee: a spawned peer of another uid (it opens a context, and this process runs threads).
    Peer grantee = Peer::spawn("echo_when_told_as", peer_args(loader_.options(), kOtherUid, "granted.only"));
    int opened = -9999;
    ASSERT_TRUE(grantee.read(opened)) << "the grantee reported nothing";
    ASSERT_EQ(opened, 0) << "the grantee could not open its context";
    auto grant = control_request(ControlOp::add_access, own->handle());
    grant.id = static_cast<uint32_t>(grantee.pid());
    auto granted = context_->impl().control(grant);
    ASSERT_TRUE(granted) << granted.error().describe();
    EXPECT_EQ(pinned_entries(grants_pin, sizeof(liteipc_grant_key)), grants_before + 1);
    ASSERT_TRUE(grantee.send('g'));
    int result = -9999;
    ASSERT_TRUE(grantee.read(result)) << "the grantee reported no call";
    EXPECT_EQ(result, 0) << "the granted process could not call";
    grantee.wait();
    // The grantee is gone: so is its grant, in the loader and in the map the kernel checks.
    std::string status = status_when(loader_, [](const std::string& s) { return json_number(s, "grants") == 0; });
    EXPECT_EQ(json_number(status, "grants"), 0);
    EXPECT_EQ(pinned_entries(grants_pin, sizeof(liteipc_grant_key)), grants_before);
}

// Runs `scenario` as pid 1 of a new pid namespace (in a child), so that it can force pids to be
// reused; its N results, or -2 in every place when it could not run.
template <std::size_t N, typename Scenario>
std::array<int, N> in_pid_namespace(Scenario scenario) {
    return in_child<N>([&] {
        std::array<int, N> failed;
        failed.fill(-2);
        if (::unshare(CLONE_NEWPID) != 0) return failed;
        int report[2];
        if (::pipe(report) != 0) return failed;
        // Pid 1 of the new namespace: its parent, outside it, is no pid it can see (no death signal).
        OwnedPid init = fork_child(
            [&] {
                std::array<int, N> result = scenario();
                return ::write(report[1], result.data(), sizeof result) == static_cast<ssize_t>(sizeof result) ? 0 : 1;
            },
            0);
        std::array<int, N> result = failed;
        if (::read(report[0], result.data(), sizeof result) != sizeof result) result = failed;
        init.wait();
        return result;
    });
}

// The attack that pid reuse allows, made certain: in a pid namespace of its own (loader included,
// so the loader sees the pids this test forces), an attacker keeps the socket of a process that
// exited; the victim is then forked onto that very pid and registers a service of its uid.
std::array<int, 8> pid_reuse_scenario(const std::string& tag) {
    std::array<int, 8> out;
    out.fill(-1);
    Loader loader(tag);
    if (!loader.start()) return out;
    int to_attacker[2], from_attacker[2], from_victim[2];
    if (::pipe(to_attacker) != 0 || ::pipe(from_attacker) != 0 || ::pipe(from_victim) != 0) return out;
    OwnedPid attacker = fork_child([&] {
        std::array<int, 6> result;
        result.fill(-9999);
        if (!become_group_member(kNobody)) return 1;
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return 1;
        OwnedPid creator = fork_child([&] {
            send_fd(pair[1], connect_raw(loader.socket()));
            return 0;
        });
        const pid_t creator_pid = creator.pid();
        int kept = receive_fd(pair[0]);
        creator.wait();
        ssize_t ignored = ::write(from_attacker[1], &creator_pid, sizeof creator_pid);
        uint32_t handle = 0;
        ignored = ::read(to_attacker[0], &handle, sizeof handle);  // the victim now holds the pid
        (void)ignored;
        auto grant = control_request(ControlOp::add_access, handle);
        grant.id = static_cast<uint32_t>(::getpid());
        result[0] = code(raw_request(kept, grant).code());
        result[1] = code(raw_request(kept, control_request(ControlOp::unregister_service, handle)).code());
        auto accept = control_request(ControlOp::accept_channel);
        accept.conn_id = 1;
        result[2] = code(raw_request(kept, accept, {}, 2000).code());
        result[3] = code(raw_request(kept, control_request(ControlOp::register_service, 0, "victim.echo")).code());
        // Its own honest registration gets it nothing of the victim's either.
        auto context = Context::open(loader.options());
        if (context) {
            auto connection = Connection::open(*context, "victim.echo");
            result[4] = connection ? 0 : code(connection.error().code);
        }
        result[5] = 1;
        ignored = ::write(from_attacker[1], result.data(), sizeof result);
        return 0;
    });
    pid_t reused = 0;
    if (::read(from_attacker[0], &reused, sizeof reused) != sizeof reused) return out;
    // Force the next pid of this namespace to be the one the attacker's socket was made by.
    FILE* last_pid = std::fopen("/proc/sys/kernel/ns_last_pid", "w");
    if (!last_pid) return out;
    std::fprintf(last_pid, "%d", reused - 1);
    std::fclose(last_pid);
    OwnedPid victim = fork_child([&] {
        uint32_t registered = 0;
        if (become_group_member(kOtherUid)) {
            auto context = Context::open(loader.options());
            if (context) {
                g_service_context = &*context;
                auto service = Service::start(*context, {.name = "victim.echo", .policy = Policy::same_uid}, handle);
                if (service) registered = service->handle();
                ssize_t ignored = ::write(from_victim[1], &registered, sizeof registered);
                (void)ignored;
                for (;;) ::pause();
            }
        }
        ssize_t ignored = ::write(from_victim[1], &registered, sizeof registered);
        (void)ignored;
        return 1;
    });
    uint32_t handle = 0;
    if (::read(from_victim[0], &handle, sizeof handle) != sizeof handle) return out;
    ssize_t ignored = ::write(to_attacker[1], &handle, sizeof handle);
    (void)ignored;
    std::array<int, 6> attack;
    attack.fill(-9999);
    ignored = ::read(from_attacker[0], attack.data(), sizeof attack);
    attacker.wait();
    // The victim's service is still the victim's.
    int s = connect_raw(loader.socket());
    RawReply lookup = raw_request(s, control_request(ControlOp::lookup, 0, "victim.echo"));
    ::close(s);
    out[0] = victim.pid() == reused && handle != 0;
    for (int i = 0; i < 5; ++i) out[1 + i] = attack[i];
    out[6] = lookup.answered && lookup.reply.result == 0 && lookup.reply.handle == handle;
    out[7] = attack[5];
    victim.kill_and_wait();
    return out;
}

// Each test runs its own loader inside a pid namespace of its own: no fixture loader.
class TrustPidReuseTest : public ::testing::Test {
protected:
    void SetUp() override {
        LITEIPC_REQUIRE_SYSTEM();
        if (!::getgrnam("liteipc")) {
            if (bpf_required()) FAIL() << "group liteipc missing (scripts/setup-env.sh creates it)";
            GTEST_SKIP() << "group liteipc missing";
        }
    }
};

TEST_F(TrustPidReuseTest, AReusedPidCannotGrantUnregisterAcceptOrConnectAsItsNewHolder) {
    const std::string tag = "trust-reuse-" + std::to_string(::getpid());
    auto out = in_pid_namespace<8>([&] { return pid_reuse_scenario(tag); });
    ASSERT_EQ(out[0], 1) << "the victim did not get the reused pid, or did not register";
    ASSERT_EQ(out[7], 1) << "the attacker did not run";
    EXPECT_EQ(out[1], code(Errc::identity_mismatch)) << "granted access as the process that now holds the pid";
    EXPECT_EQ(out[2], code(Errc::identity_mismatch)) << "unregistered the victim's service";
    EXPECT_EQ(out[3], code(Errc::identity_mismatch)) << "accepted a connection as the victim";
    EXPECT_EQ(out[4], code(Errc::identity_mismatch)) << "registered a name as the victim";
    EXPECT_EQ(out[5], code(Errc::permission_denied)) << "connected to the victim's same-uid service";
    EXPECT_EQ(out[6], 1) << "the victim's service changed hands";
}


// A grant to a pid that has not registered yet, that pid then reused: in a pid namespace of its own
// (loader included), a service owner grants the pid of a process of another uid that has not
// registered; that process exits without registering, and an attacker of uid nobody is forked onto
// its pid and registers. The grant was bound to the process that exited, not to the number: the
// attacker's connect is refused.
std::array<int, 3> waiting_grant_reuse_scenario(const std::string& tag) {
    std::array<int, 3> out;
    out.fill(-1);
    Loader loader(tag);
    if (!loader.start()) return out;
    int to_grantee[2], to_owner[2], from_owner[2], from_attacker[2];
    if (::pipe(to_grantee) != 0 || ::pipe(to_owner) != 0 || ::pipe(from_owner) != 0 || ::pipe(from_attacker) != 0)
        return out;
    OwnedPid grantee = fork_child([&] {  // never registers; exits when told
        char go;
        ssize_t ignored = ::read(to_grantee[0], &go, 1);
        (void)ignored;
        return 0;
    });
    const pid_t grantee_pid = grantee.pid();
    OwnedPid owner = fork_child([&]() -> int {
        int granted = -1;
        auto context = Context::open(loader.options());
        std::optional<Service> service;
        if (context) {
            g_service_context = &*context;
            if (auto started = Service::start(*context, {.name = "owner.granted", .policy = Policy::pids}, handle))
                service.emplace(std::move(*started));
        }
        pid_t target = 0;
        ssize_t ignored = ::read(to_owner[0], &target, sizeof target);
        if (service) granted = service->allow_pid(static_cast<uint32_t>(target)) ? 0 : 1;
        ignored = ::write(from_owner[1], &granted, sizeof granted);
        (void)ignored;
        for (;;) ::pause();
    });
    ssize_t ignored = ::write(to_owner[1], &grantee_pid, sizeof grantee_pid);
    int granted = -1;
    ignored = ::read(from_owner[0], &granted, sizeof granted);
    out[0] = granted;
    ignored = ::write(to_grantee[1], "x", 1);
    grantee.wait();
    FILE* last_pid = std::fopen("/proc/sys/kernel/ns_last_pid", "w");
    if (!last_pid) return out;
    std::fprintf(last_pid, "%d", grantee_pid - 1);
    std::fclose(last_pid);
    OwnedPid attacker = fork_child([&] {
        int result = -9999;
        if (become_group_member(kNobody)) {
            auto context = Context::open(loader.options());
            if (context) {
                auto connection = Connection::open(*context, "owner.granted");
                result = connection ? 0 : code(connection.error().code);
            }
        }
        ssize_t written = ::write(from_attacker[1], &result, sizeof result);
        return written == sizeof result ? 0 : 1;
    });
    int result = -9999;
    ignored = ::read(from_attacker[0], &result, sizeof result);
    (void)ignored;
    const pid_t attacker_pid = attacker.pid();
    attacker.wait();
    out[1] = attacker_pid == grantee_pid;
    out[2] = result;
    owner.kill_and_wait();
    return out;
}

TEST_F(TrustPidReuseTest, AGrantToAPidNotYetRegisteredDoesNotPassToTheNextHolderOfThatPid) {
    const std::string tag = "trust-wait-" + std::to_string(::getpid());
    auto out = in_pid_namespace<3>([&] { return waiting_grant_reuse_scenario(tag); });
    ASSERT_EQ(out[0], 0) << "the owner could not grant the unregistered pid";
    ASSERT_EQ(out[1], 1) << "the attacker did not get the pid of the granted process";
    EXPECT_EQ(out[2], code(Errc::permission_denied)) << "the grant passed to the next process of that pid";
}

}  // namespace
}  // namespace liteipc::testing
