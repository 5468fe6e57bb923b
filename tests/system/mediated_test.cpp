// Mediated services: every message passes the kernel's send program. The service sees the
// sender as the kernel saw it at that message (true tid, uid after a uid change, whatever the
// client writes into shared memory), a client whose access went is refused by the kernel at its
// next message, and `liteipc status` names the mode.
#include <bpf/bpf.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>

#include "liteipc/log.h"
#include "liteipc_abi.h"
#include "mediated_protocol.h"
#include "trust_support.h"

namespace liteipc::testing {
namespace {

using Json = nlohmann::json;

gid_t liteipc_gid() {
    group* g = ::getgrnam("liteipc");
    return g ? g->gr_gid : 0;
}

ServiceOptions mediated_named(const char* name, Policy policy) {
    ServiceOptions options = service_named(name);
    options.policy = policy;
    options.mode = Mode::mediated;
    return options;
}

// A mediated_client peer; each step is one command and its report.
class MediatedClient {
public:
    MediatedClient(const Loader& loader, uid_t uid, const std::string& service)
        : peer_(Peer::spawn("mediated_client", peer_args(loader.options(), uid, service))) {
        MediatedReport ready{};
        EXPECT_TRUE(peer_.read(ready)) << "the client peer reported nothing";
        EXPECT_EQ(ready.result, 0) << "the client peer could not open a context as uid " << uid;
    }
    MediatedReport step(MediatedOp op, uint32_t arg = 0) {
        MediatedReport out{};
        out.result = -9999;
        if (!peer_.send(MediatedCommand{op, arg}) || !peer_.read(out)) ADD_FAILURE() << "the client peer stopped";
        return out;
    }
    pid_t pid() const { return peer_.pid(); }
    void kill() { peer_.kill_and_wait(); }

private:
    Peer peer_;
};

// The service side in the test process: answers kWhoAmI with the caller as it was served.
class WhoAmIService {
public:
    WhoAmIService(Context& context, const char* name, Policy policy) {
        auto started = Service::start(context, mediated_named(name, policy), [this](Call& call) {
            served_.fetch_add(1);
            mediated_ = call.caller().mediated;
            call.reply().write_uint32(call.caller().pid);
            call.reply().write_uint32(call.caller().uid);
            call.reply().write_uint32(call.caller().gid);
            call.reply().write_uint32(call.caller().tid);
            return 0;
        });
        EXPECT_TRUE(started) << started.error().describe();
        if (started) service_.emplace(std::move(*started));
    }
    Service& operator*() { return *service_; }
    Service* operator->() { return &*service_; }
    int served() const { return served_.load(); }
    bool mediated() const { return mediated_.load(); }

private:
    std::atomic<int> served_{0};
    std::atomic<bool> mediated_{false};
    std::optional<Service> service_;
};

template <typename Key, typename Value>
std::optional<Value> pinned_lookup(const Loader& loader, const char* map, const Key& key) {
    detail::UniqueFd fd(bpf_obj_get((loader.pin_root() + "/" + map).c_str()));
    Value value{};
    if (!fd || bpf_map_lookup_elem(fd.get(), &key, &value) != 0) return std::nullopt;
    return value;
}

// Pid grants on `handle` in the pinned grants map.
std::size_t pid_grants_on(const Loader& loader, uint32_t handle) {
    detail::UniqueFd fd(bpf_obj_get((loader.pin_root() + "/grants").c_str()));
    std::size_t n = 0;
    liteipc_grant_key key{}, next{};
    const liteipc_grant_key* previous = nullptr;
    while (fd && bpf_map_get_next_key(fd.get(), previous, &next) == 0) {
        n += next.handle == handle && next.kind == LITEIPC_GRANT_PID;
        key = next;
        previous = &key;
    }
    return n;
}

// Waits (bounded) until the pinned grants map holds `count` pid grants on `handle`.
bool pid_grants_become(const Loader& loader, uint32_t handle, std::size_t count) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pid_grants_on(loader, handle) != count && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return pid_grants_on(loader, handle) == count;
}

class MediatedTest : public WithLoader<> {
protected:
    MediatedTest() : WithLoader("med", /*needs_group=*/true) {}
};

TEST_F(MediatedTest, ServiceSeesTheTrueTidAndUidOfCallersOfTwoUids) {
    ServiceProcess service(loader_.options(), mediated_named("test.med.who", Policy::anyone));
    const gid_t group = liteipc_gid();
    for (uid_t uid : {kNobody, kOtherUid}) {
        SCOPED_TRACE("caller uid " + std::to_string(uid));
        MediatedClient client(loader_, uid, "test.med.who");
        ASSERT_EQ(client.step(MediatedOp::connect).result, 0);
        MediatedReport who = client.step(MediatedOp::who_am_i);
        ASSERT_EQ(who.result, 0);
        EXPECT_EQ(who.pid, who.own_pid);
        EXPECT_EQ(who.uid, uid);
        EXPECT_EQ(who.gid, group);
        EXPECT_EQ(who.tid, who.own_tid) << "the tid of the calling thread, not the process's";
        EXPECT_NE(who.tid, who.own_pid);
        // The client writes a false tid into its call slots while it calls: the kernel's record wins.
        MediatedReport forged = client.step(MediatedOp::who_am_i_forging_tid);
        ASSERT_EQ(forged.result, 0);
        EXPECT_EQ(forged.tid, forged.own_tid);
        EXPECT_NE(forged.tid, kForgedTid);
    }
}

TEST_F(MediatedTest, UidIsTheSendersAtEachMessageNotAtConnect) {
    ServiceProcess mediated(loader_.options(), mediated_named("test.med.uid", Policy::anyone));
    ServiceOptions direct_options = service_named("test.direct.uid");
    direct_options.policy = Policy::anyone;
    ServiceProcess direct(loader_.options(), direct_options);
    MediatedClient to_mediated(loader_, 0, "test.med.uid");
    MediatedClient to_direct(loader_, 0, "test.direct.uid");
    ASSERT_EQ(to_mediated.step(MediatedOp::connect).result, 0);
    ASSERT_EQ(to_direct.step(MediatedOp::connect).result, 0);
    // Both clients connected as root, then drop to nobody.
    ASSERT_EQ(to_mediated.step(MediatedOp::become_uid, kNobody).result, 0);
    ASSERT_EQ(to_direct.step(MediatedOp::become_uid, kNobody).result, 0);
    MediatedReport seen = to_mediated.step(MediatedOp::who_am_i);
    ASSERT_EQ(seen.result, 0);
    EXPECT_EQ(seen.uid, kNobody) << "a mediated service sees the uid the message was sent with";
    MediatedReport connect_time = to_direct.step(MediatedOp::who_am_i);
    ASSERT_EQ(connect_time.result, 0);
    EXPECT_EQ(connect_time.uid, 0u) << "a direct service knows the uid the client connected with";
}

TEST_F(MediatedTest, WithdrawnUidIsRefusedByTheKernelAtItsNextMessage) {
    WhoAmIService service(*context_, "test.med.revoke", Policy::uid_list);
    ASSERT_TRUE(service->allow_uid(kNobody));
    MediatedClient client(loader_, kNobody, "test.med.revoke");
    ASSERT_EQ(client.step(MediatedOp::connect).result, 0);
    MediatedReport first = client.step(MediatedOp::who_am_i);
    ASSERT_EQ(first.result, 0);
    EXPECT_EQ(first.uid, kNobody);
    EXPECT_TRUE(service.mediated());
    const auto denials_before =
        pinned_lookup<uint32_t, liteipc_svc_stats>(loader_, "svc_stats", service->handle()).value_or(liteipc_svc_stats{});

    ASSERT_TRUE(service->revoke_uid(kNobody));
    MediatedReport second = client.step(MediatedOp::who_am_i);
    EXPECT_EQ(second.result, static_cast<int>(Errc::permission_denied));
    EXPECT_EQ(service.served(), 1) << "the refused message never reached the service";
    auto stats = pinned_lookup<uint32_t, liteipc_svc_stats>(loader_, "svc_stats", service->handle());
    ASSERT_TRUE(stats);
    EXPECT_EQ(stats->denials, denials_before.denials + 1) << "the kernel counts the refusal";
    // The connection itself stays; given access again, the same client's next message goes through.
    ASSERT_TRUE(service->allow_uid(kNobody));
    EXPECT_EQ(client.step(MediatedOp::who_am_i).result, 0);
    EXPECT_EQ(service.served(), 2);
    // Withdrawing what was never given is a named error.
    auto never = service->revoke_uid(4242);
    ASSERT_FALSE(never);
    EXPECT_EQ(never.error().code, Errc::not_found);
}

TEST_F(MediatedTest, PidGrantDiesWithItsGrantorAndItsHolderIsRefusedAtTheNextMessage) {
    WhoAmIService service(*context_, "test.med.grant", Policy::pids);
    MediatedClient holder(loader_, 0, "test.med.grant");
    MediatedClient grantor(loader_, 0, "test.med.grant");
    ASSERT_TRUE(service->allow_pid(static_cast<uint32_t>(grantor.pid())));
    ASSERT_EQ(grantor.step(MediatedOp::connect).result, 0);
    ASSERT_EQ(grantor.step(MediatedOp::grant_pid, static_cast<uint32_t>(holder.pid())).result, 0);
    ASSERT_EQ(holder.step(MediatedOp::connect).result, 0);
    ASSERT_EQ(holder.step(MediatedOp::who_am_i).result, 0);
    ASSERT_EQ(pid_grants_on(loader_, service->handle()), 2u);

    grantor.kill();
    // The loader reclaims the grantor when the kernel reports its death: both its grants go.
    ASSERT_TRUE(pid_grants_become(loader_, service->handle(), 0));
    const int served = service.served();
    MediatedReport refused = holder.step(MediatedOp::who_am_i);
    EXPECT_EQ(refused.result, static_cast<int>(Errc::permission_denied));
    EXPECT_EQ(service.served(), served);
}

// References are capabilities: a holder that never connected hands the service on; when the
// owner withdraws the holder's grant, what the holder handed on goes with it, and the kernel
// refuses the receiver from its next message.
TEST_F(MediatedTest, AWithdrawnGrantTakesWhatItsHolderHandedOn) {
    WhoAmIService service(*context_, "test.med.handed", Policy::pids);
    MediatedClient holder(loader_, 0, "test.med.handed");
    MediatedClient receiver(loader_, 0, "test.med.handed");
    ASSERT_TRUE(service->allow_pid(static_cast<uint32_t>(holder.pid())));
    ASSERT_EQ(holder.step(MediatedOp::grant_pid, static_cast<uint32_t>(receiver.pid())).result, 0)
        << "a holder hands on what it was granted without connecting";
    ASSERT_EQ(receiver.step(MediatedOp::connect).result, 0);
    ASSERT_EQ(receiver.step(MediatedOp::who_am_i).result, 0);
    ASSERT_EQ(pid_grants_on(loader_, service->handle()), 2u);

    ASSERT_TRUE(service->revoke_pid(static_cast<uint32_t>(holder.pid())));
    EXPECT_EQ(pid_grants_on(loader_, service->handle()), 0u) << "the withdrawal is synchronous";
    const int served = service.served();
    EXPECT_EQ(receiver.step(MediatedOp::who_am_i).result, static_cast<int>(Errc::permission_denied));
    EXPECT_EQ(service.served(), served);
    EXPECT_EQ(holder.step(MediatedOp::grant_pid, static_cast<uint32_t>(receiver.pid())).result,
              static_cast<int>(Errc::permission_denied))
        << "holding nothing now, it hands nothing on";
}

// The same grant, its grantor (another uid) killed while no loader runs: the loader that starts
// drops the grant (the pinned grant names its grantor), and the holder, a process of uid nobody,
// is refused at its next message; the service serves it nothing more.
TEST_F(MediatedTest, AGrantWhoseGrantorDiedWhileNoLoaderRanEndsWhenALoaderStarts) {
    WhoAmIService service(*context_, "test.med.restart", Policy::pids);
    MediatedClient holder(loader_, kNobody, "test.med.restart");
    MediatedClient grantor(loader_, kOtherUid, "test.med.restart");
    ASSERT_TRUE(service->allow_pid(static_cast<uint32_t>(grantor.pid())));
    ASSERT_EQ(grantor.step(MediatedOp::connect).result, 0);
    ASSERT_EQ(grantor.step(MediatedOp::grant_pid, static_cast<uint32_t>(holder.pid())).result, 0);
    ASSERT_EQ(holder.step(MediatedOp::connect).result, 0);
    ASSERT_EQ(holder.step(MediatedOp::who_am_i).result, 0);

    loader_.stop();
    grantor.kill();
    ASSERT_TRUE(loader_.start());
    // The service's own grant to the grantor went with the grantor's registration; the holder's
    // grant went with its grantor.
    ASSERT_TRUE(pid_grants_become(loader_, service->handle(), 0));
    const int served = service.served();
    MediatedReport refused = holder.step(MediatedOp::who_am_i);
    EXPECT_EQ(refused.result, static_cast<int>(Errc::permission_denied));
    EXPECT_EQ(service.served(), served) << "the holder's message reached the service";
}

// A connected client of uid nobody cannot get at any message ring to write records the kernel did
// not stamp: the pin is root's, maps by id need CAP_SYS_ADMIN. Its messages still reach the
// service only through the send program.
TEST_F(MediatedTest, AClientCannotReachAMessageRingToForgeRecords) {
    WhoAmIService service(*context_, "test.med.forge", Policy::anyone);
    MediatedClient attacker(loader_, kNobody, "test.med.forge");
    ASSERT_EQ(attacker.step(MediatedOp::connect).result, 0);
    ASSERT_EQ(attacker.step(MediatedOp::who_am_i).result, 0);
    const int served = service.served();
    EXPECT_EQ(attacker.step(MediatedOp::reach_message_rings).result, 0) << "1: the pin, 3: a map by id opened";
    EXPECT_EQ(service.served(), served);
    MediatedReport seen = attacker.step(MediatedOp::who_am_i);
    EXPECT_EQ(seen.result, 0);
    EXPECT_EQ(seen.uid, kNobody) << "the kernel's stamp";
}

// An attacker of uid nobody forges what only the send program should say about its connection,
// while a victim of another uid calls the same service with a secret: each forged record is
// rejected by the service with a log line that names what was wrong, the handler never runs for
// it, the victim's calls go on, and the secret shows nowhere the attacker can read.
TEST_F(MediatedTest, ForgedRecordsNamingSlotsOrBytesOutsideTheSendersOwnAreRejectedWithANamedLine) {
    CapturedLog log;
    auto logged = [&](const std::string& text) { return log.contains(text); };
    std::atomic<int> served_forged{0};
    auto service = Service::start(*context_, mediated_named("test.med.forged", Policy::anyone), [&](Call& call) {
        if (call.code() == kForgedCode) served_forged.fetch_add(1);
        return handle(call);
    });
    ASSERT_TRUE(service) << service.error().describe();

    constexpr uint32_t kSeed = 4711;
    MediatedClient victim(loader_, kOtherUid, "test.med.forged");
    MediatedClient attacker(loader_, kNobody, "test.med.forged");
    ASSERT_EQ(victim.step(MediatedOp::connect).result, 0);
    ASSERT_EQ(attacker.step(MediatedOp::connect).result, 0);
    ASSERT_EQ(victim.step(MediatedOp::echo_secret, kSeed).result, 0);

    MediatedReport forged = attacker.step(MediatedOp::forge_records, kSeed);
    ASSERT_EQ(forged.result, 0) << "the attacker could not take its steps";
    EXPECT_EQ(forged.slot_past_end, 0) << "the kernel passes the slot on: the service is the one to check it";
    EXPECT_EQ(forged.outside_pool, -EBADMSG) << "1: served; -ETIMEDOUT: no reply";
    EXPECT_EQ(forged.wrapping_length, -EBADMSG) << "1: served; -ETIMEDOUT: no reply";
    EXPECT_EQ(forged.secret_seen, 0) << "the victim's payload showed in the attacker's memory";
    EXPECT_EQ(served_forged.load(), 0) << "the handler ran for a forged record";
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!(logged("names slot") && logged("lies outside")) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(logged("message record names slot")) << "no line for the slot past the connection's";
    EXPECT_TRUE(logged("lies outside the")) << "no line for the bytes outside the pool";

    // The victim is served as before, and so is the attacker's next honest call, stamped as itself.
    EXPECT_EQ(victim.step(MediatedOp::echo_secret, kSeed + 1).result, 0);
    MediatedReport honest = attacker.step(MediatedOp::who_am_i);
    EXPECT_EQ(honest.result, 0);
    EXPECT_EQ(honest.uid, kNobody);
}

TEST_F(MediatedTest, StatusNamesTheMode) {
    ServiceProcess mediated(loader_.options(), mediated_named("test.med.status", Policy::anyone));
    ServiceProcess direct(loader_.options(), service_named("test.direct.status"));
    for (auto [name, mode] : {std::pair{"test.med.status", "mediated"}, std::pair{"test.direct.status", "direct"}}) {
        auto [out, status] = run_command("LITEIPC_SOCKET=" + loader_.socket() + " LITEIPC_PIN_ROOT=" +
                                         loader_.pin_root() + " " + LITEIPC_CLI_PATH + " status " + name + " -j 2>&1");
        ASSERT_EQ(status, 0) << out;
        Json document = Json::parse(out, nullptr, false);
        ASSERT_FALSE(document.is_discarded()) << out;
        EXPECT_EQ(document["service"]["mode"], mode) << out;
    }
}

TEST_F(MediatedTest, UnknownModeIsANamedError) {
    auto request = control_request(detail::ControlOp::register_service, 0, "test.med.bad");
    request.mode = 7;
    auto registered = context_->impl().control(request);
    ASSERT_FALSE(registered);
    EXPECT_EQ(registered.error().code, Errc::invalid_argument);
}

// ABI 4 added the service's mode, the message ring and message monitor records: a loader meeting
// the state an ABI 3 loader pinned refuses it and says how to unload, and touches nothing.
TEST(MediatedAbiTest, PinnedStateOfAbi3IsRefusedByThisLoader) {
    LITEIPC_REQUIRE_SYSTEM();
    static_assert(LITEIPC_ABI_VERSION >= 4);
    const std::string root = "/sys/fs/bpf/liteipc-test-med-abi-" + std::to_string(::getpid());
    ASSERT_EQ(::mkdir(root.c_str(), 0700), 0);
    detail::UniqueFd abi(bpf_map_create(BPF_MAP_TYPE_ARRAY, "abi", 4, 8, 1, nullptr));
    ASSERT_TRUE(abi);
    const uint32_t key = 0;
    const uint64_t version = 3;
    ASSERT_EQ(bpf_map_update_elem(abi.get(), &key, &version, 0), 0);
    ASSERT_EQ(bpf_obj_pin(abi.get(), (root + "/abi").c_str()), 0);
    const std::string socket = "/tmp/liteipc-test-med-abi-" + std::to_string(::getpid()) + ".sock";
    auto [text, status] = run_command(std::string(LITEIPC_LOADER_PATH) + " --foreground --pin-root " + root +
                                      " --socket " + socket + " 2>&1");
    EXPECT_NE(status, 0);
    EXPECT_NE(text.find("ABI version 3, this loader speaks " + std::to_string(LITEIPC_ABI_VERSION)), std::string::npos)
        << text;
    EXPECT_NE(text.find("liteipc-loader --unload --pin-root " + root), std::string::npos) << text;
    EXPECT_FALSE(std::filesystem::exists(root + "/procs")) << "the refusing loader pinned nothing";
    auto [ignored, unloaded] = run_command(std::string(LITEIPC_LOADER_PATH) + " --unload --pin-root " + root + " 2>&1");
    EXPECT_EQ(unloaded, 0) << ignored;
    EXPECT_FALSE(std::filesystem::exists(root));
}

}  // namespace
}  // namespace liteipc::testing
