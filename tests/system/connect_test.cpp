// The kernel-checked connect: the connect program stamps the caller's identity from BPF helpers,
// enforces the service's policy, and delivers a connect record to the owner's inbox. A denied
// client is refused and the service never hears of it; a forged context changes nothing.
#include <grp.h>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "api/context_impl.h"
#include "test_processes.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

struct ConnectOutcome {
    int32_t result = 1;
    pid_t pid = 0;
};

// Runs the connect program from a peer process running as `uid` (registered unless told not to),
// with an honest context or a forged one (pid 1, uid 0, a chosen connection).
ConnectOutcome connect_from_child(const ContextOptions& options, uint32_t handle, uid_t uid, bool forge,
                                  bool register_it = true) {
    auto out = run_peer<2>("run_connect_program", peer_args(options, handle, uid, forge ? 1 : 0, register_it ? 1 : 0));
    return ConnectOutcome{out[0], out[1]};
}

class ConnectTest : public WithLoader<> {
protected:
    ConnectTest() : WithLoader("connect", /*needs_group=*/true) {}
    // The context's inbox thread calls record_connect(): stop it before records_ goes.
    ~ConnectTest() override { context_.reset(); }

    std::function<void(const liteipc_connect_record&)> record_connect() {
        return [this](const liteipc_connect_record& r) {
            std::lock_guard lock(mutex_);
            records_.push_back(r);
            changed_.notify_all();
        };
    }

    uint32_t register_service(const char* name, uint32_t policy, uint32_t uid_min = 0, uint32_t uid_max = 0) {
        detail::ControlRequest request{};
        request.op = detail::ControlOp::register_service;
        std::snprintf(request.name, sizeof request.name, "%s", name);
        request.policy = policy;
        request.uid_min = uid_min;
        request.uid_max = uid_max;
        auto response = context_->impl().control(request);
        EXPECT_TRUE(response) << (response ? "" : response.error().describe());
        if (!response) return 0;
        context_->impl().set_connect_listener(response->reply.handle, record_connect());
        return response->reply.handle;
    }

    Result<> grant(detail::ControlOp op, uint32_t handle, uint32_t id) {
        detail::ControlRequest request{};
        request.op = op;
        request.handle = handle;
        request.id = id;
        auto response = context_->impl().control(request);
        if (!response) return std::unexpected(response.error());
        return {};
    }

    std::vector<liteipc_connect_record> records_after(std::chrono::milliseconds wait, std::size_t expected) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, wait, [&] { return records_.size() >= expected; });
        return records_;
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<liteipc_connect_record> records_;
};

TEST_F(ConnectTest, SameUidClientConnectsWithKernelStampedIdentity) {
    uint32_t handle = register_service("demo.same_uid", LITEIPC_POLICY_SAME_UID);
    ConnectOutcome out = connect_from_child(loader_.options(), handle, 0, /*forge=*/false);
    ASSERT_EQ(out.result, 0);
    auto records = records_after(2s, 1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].kind, static_cast<uint32_t>(LITEIPC_REC_CONNECT));
    EXPECT_EQ(records[0].handle, handle);
    EXPECT_EQ(records[0].client_pid, static_cast<uint32_t>(out.pid));
    EXPECT_EQ(records[0].client_tid, static_cast<uint32_t>(out.pid));
    EXPECT_EQ(records[0].client_uid, 0u);
    EXPECT_NE(records[0].conn_id, 0u);
}

TEST_F(ConnectTest, OtherUidIsDeniedAndTheServiceNeverSeesIt) {
    uint32_t handle = register_service("demo.private", LITEIPC_POLICY_SAME_UID);
    ConnectOutcome out = connect_from_child(loader_.options(), handle, kNobody, false);
    EXPECT_EQ(out.result, -EPERM);
    EXPECT_TRUE(records_after(300ms, 1).empty());
    auto status = context_->loader_status();
    ASSERT_TRUE(status);
    EXPECT_NE(status->find("\"denials\":1"), std::string::npos) << *status;
}

TEST_F(ConnectTest, PoliciesAdmitWhomTheySay) {
    uint32_t anyone = register_service("demo.anyone", LITEIPC_POLICY_ANYONE);
    uint32_t range = register_service("demo.range", LITEIPC_POLICY_UID_RANGE, 60000, 65534);
    uint32_t narrow = register_service("demo.narrow", LITEIPC_POLICY_UID_RANGE, 1000, 1999);
    uint32_t listed = register_service("demo.listed", LITEIPC_POLICY_UID_LIST);
    EXPECT_EQ(connect_from_child(loader_.options(), anyone, kNobody, false).result, 0);
    EXPECT_EQ(connect_from_child(loader_.options(), range, kNobody, false).result, 0);
    EXPECT_EQ(connect_from_child(loader_.options(), narrow, kNobody, false).result, -EPERM);
    EXPECT_EQ(connect_from_child(loader_.options(), listed, kNobody, false).result, -EPERM);
    ASSERT_TRUE(grant(detail::ControlOp::add_uid, listed, kNobody));
    EXPECT_EQ(connect_from_child(loader_.options(), listed, kNobody, false).result, 0);
}

TEST_F(ConnectTest, ForgedContextChangesNothing) {
    uint32_t handle = register_service("demo.forged", LITEIPC_POLICY_SAME_UID);
    // A nobody client claiming to be pid 1 / uid 0 in the context is still nobody.
    EXPECT_EQ(connect_from_child(loader_.options(), handle, kNobody, /*forge=*/true).result, -EPERM);
    ConnectOutcome out = connect_from_child(loader_.options(), handle, 0, /*forge=*/true);
    ASSERT_EQ(out.result, 0);
    auto records = records_after(2s, 1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].client_pid, static_cast<uint32_t>(out.pid));
    EXPECT_NE(records[0].conn_id, 42u);
}

TEST_F(ConnectTest, UnregisteredProcessCannotConnect) {
    uint32_t handle = register_service("demo.members", LITEIPC_POLICY_ANYONE);
    EXPECT_EQ(connect_from_child(loader_.options(), handle, 0, false, /*register_it=*/false).result, -EPERM);
}

TEST_F(ConnectTest, OnlyTheOwnerGrantsAccess) {
    uint32_t handle = register_service("demo.granted", LITEIPC_POLICY_PIDS);
    EXPECT_EQ(connect_from_child(loader_.options(), handle, 0, false).result, -EPERM);
    // A grant from another process is refused by the service manager.
    auto [code] = run_peer<1>("grant_access_from_other", peer_args(loader_.options(), handle));
    EXPECT_EQ(code, static_cast<int>(Errc::permission_denied));
}

TEST_F(ConnectTest, ServiceDisappearsWhenItsOwnerDies) {
    // A peer registers a service and is killed; the exit program drops it from the registry.
    Peer child = Peer::spawn("register_and_wait", peer_args(loader_.options(), "demo.mortal"));
    uint32_t handle = 0;
    ASSERT_TRUE(child.read(handle));
    ASSERT_NE(handle, 0u);
    auto before = context_->loader_status();
    ASSERT_TRUE(before);
    EXPECT_NE(before->find("demo.mortal"), std::string::npos);
    child.kill_and_wait();
    std::this_thread::sleep_for(100ms);
    auto after = context_->loader_status();
    ASSERT_TRUE(after);
    EXPECT_EQ(after->find("demo.mortal"), std::string::npos) << *after;
    EXPECT_EQ(connect_from_child(loader_.options(), handle, 0, false).result, -ENOENT);
}

TEST_F(ConnectTest, InvalidServiceNamesAreRefused) {
    for (const char* name : {"", "has space", "has/slash", "quote\"d"}) {
        detail::ControlRequest request{};
        request.op = detail::ControlOp::register_service;
        std::snprintf(request.name, sizeof request.name, "%s", name);
        auto response = context_->impl().control(request);
        ASSERT_FALSE(response) << "accepted '" << name << "'";
        EXPECT_EQ(response.error().code, Errc::invalid_argument);
    }
    detail::ControlRequest request{};
    request.op = detail::ControlOp::register_service;
    std::memset(request.name, 'a', sizeof request.name);  // no terminator: 256 bytes
    auto response = context_->impl().control(request);
    EXPECT_FALSE(response);
    EXPECT_EQ(register_service(std::string(255, 'b').c_str(), LITEIPC_POLICY_ANYONE) != 0, true);
}

}  // namespace
}  // namespace liteipc::testing
