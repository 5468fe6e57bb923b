// Service names follow the loader's ownership policy (like D-Bus's <allow own="...">): a name
// the policy gives to another uid cannot be taken, SIGHUP brings a changed policy into force, and
// a changed policy applies to names already taken, on reload and at a loader's start alike.
#include <signal.h>

#include "trust_support.h"

namespace liteipc::testing {
namespace {

using detail::ControlOp;

std::string policy(const char* unlisted) {
    return std::string("own org.victim.* by uid:") + std::to_string(kOtherUid) +
           "\n"
           "own reserved.name by nobody\n"
           "own shared.* by group:liteipc\n"
           "unlisted_names = " + unlisted + "\n";
}

class TrustNamesTest : protected WithConfig, public WithLoader<> {
protected:
    TrustNamesTest() : WithConfig(policy("nobody")), WithLoader("trust-names", true, loader_args()) {}

    // Registers `name` as `uid` in a new (spawned) process; 0 or the Errc.
    int register_as(uid_t uid, const char* name) {
        return run_peer<1>("register_name_as", peer_args(loader_.options(), uid, name))[0];
    }
};

TEST_F(TrustNamesTest, ANameThePolicyGivesToAnotherUidCannotBeTaken) {
    EXPECT_EQ(register_as(kNobody, "org.victim.audio"), code(Errc::name_not_allowed));
    EXPECT_EQ(register_as(kNobody, "reserved.name"), code(Errc::name_not_allowed));
    EXPECT_EQ(register_as(kNobody, "unlisted.name"), code(Errc::name_not_allowed));
    EXPECT_EQ(register_as(kNobody, "shared.by-group"), 0) << "a group rule admits the group's members";
    EXPECT_EQ(register_as(kOtherUid, "org.victim.audio"), 0) << "the owner the policy names";
    EXPECT_GE(refused_count(status_text(loader_), "name_policy"), 3);
}

TEST_F(TrustNamesTest, SighupBringsAChangedPolicyIntoForce) {
    EXPECT_EQ(register_as(kNobody, "unlisted.name"), code(Errc::name_not_allowed));
    config.rewrite(policy("anyone"));
    ASSERT_EQ(::kill(loader_.pid(), SIGHUP), 0);
    int result = -1;
    for (auto until = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < until;) {
        if ((result = register_as(kNobody, "unlisted.name")) == 0) break;
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(result, 0);
    EXPECT_EQ(register_as(kNobody, "org.victim.other"), code(Errc::name_not_allowed)) << "listed names stay listed";
}


TEST_F(TrustNamesTest, ANameThePolicyGivesItsOwnerIsNotFreeTheMomentTheOwnerDies) {
    const char* name = "org.victim.db";
    Peer victim = Peer::spawn("serve_echo_as", peer_args(loader_.options(), kOtherUid, name));
    int served = -9999;
    ASSERT_TRUE(victim.read(served));
    ASSERT_EQ(served, 0);
    auto connection = Connection::open(*context_, name);
    ASSERT_TRUE(connection) << connection.error().describe();
    ASSERT_TRUE(echo_works(*connection));
    victim.kill_and_wait();
    // The attacker asks at once, and again while the death is being handled.
    for (int attempt = 0; attempt < 5; ++attempt)
        EXPECT_EQ(register_as(kNobody, name), code(Errc::name_not_allowed)) << "attempt " << attempt;
    Request request(*connection);
    request.writer().write_string("after the death");
    request.writer().write_int32(1);
    auto reply = connection->call(kEcho, request, 2000ms);
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, Errc::dead_object);
    Peer restarted = Peer::spawn("serve_echo_as", peer_args(loader_.options(), kOtherUid, name));
    ASSERT_TRUE(restarted.read(served));
    EXPECT_EQ(served, 0) << "the owner's restarted service takes its name back";
}

// ---- a policy change applies to what is registered ----

constexpr const char* kOpenPolicy = "unlisted_names = anyone\n";
std::string acme_policy() {
    return "own acme.db.* by uid:" + std::to_string(kOtherUid) + "\nunlisted_names = anyone\n";
}

class TrustPolicyChangeTest : protected WithConfig, public WithLoader<> {
protected:
    TrustPolicyChangeTest() : WithConfig(kOpenPolicy), WithLoader("trust-policy", true, loader_args()) {}

    // A process of `uid` serving echo under `name`.
    Peer serve_as(uid_t uid, const char* name) {
        Peer peer = Peer::spawn("serve_echo_as", peer_args(loader_.options(), uid, name));
        int served = -9999;
        EXPECT_TRUE(peer.read(served));
        EXPECT_EQ(served, 0) << uid << " could not serve " << name;
        return peer;
    }
    static int calls_seen_by(Peer& peer) {
        int calls = -1;
        return peer.send('?') && peer.read(calls) ? calls : -1;
    }
    bool registered(const char* name) {
        return context_->impl().control(control_request(ControlOp::lookup, 0, name)).has_value();
    }
    bool gone_within(const char* name, std::chrono::milliseconds timeout) {
        for (auto until = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < until;
             std::this_thread::sleep_for(20ms))
            if (!registered(name)) return true;
        return false;
    }

    // The squatter took the name while the policy said nothing about it, and this process (the
    // owner's client, root) is connected to it; `change` brings acme_policy() into force. After
    // it the squatter's service is gone, the client has seen a death, the rightful owner
    // registers and serves, and no call the client makes afterwards reaches the squatter.
    template <typename Change>
    void squatter_is_withdrawn_by(Change change) {
        const char* name = "acme.db.orders";
        Peer squatter = serve_as(kNobody, name);
        auto connection = Connection::open(*context_, name);
        ASSERT_TRUE(connection) << connection.error().describe();
        NoticeBox deaths;
        auto subscription = connection->on_death(deaths.callback());
        ASSERT_TRUE(subscription) << subscription.error().describe();
        ASSERT_TRUE(echo_works(*connection));
        ASSERT_EQ(calls_seen_by(squatter), 1);

        change();

        ASSERT_TRUE(gone_within(name, 10s)) << "the squatter still holds " << name;
        EXPECT_TRUE(deaths.wait_for(1, 5s)) << "the client saw no death of the withdrawn service";
        Request request(*connection);
        request.writer().write_string("secret order");
        request.writer().write_int32(1);
        auto reply = connection->call(kEcho, request, 2000ms);
        ASSERT_FALSE(reply) << "a call on the withdrawn connection was answered";
        EXPECT_EQ(reply.error().code, Errc::dead_object) << reply.error().describe();

        Peer owner = serve_as(kOtherUid, name);
        auto again = Connection::open(*context_, name);
        ASSERT_TRUE(again) << again.error().describe();
        EXPECT_TRUE(echo_works(*again));
        EXPECT_EQ(calls_seen_by(owner), 1) << "the client's call reached the rightful owner";
        EXPECT_EQ(calls_seen_by(squatter), 1) << "nothing after the change reached the squatter";
        std::string status = status_text(loader_);
        EXPECT_GE(refused_count(status, "withdrawn_by_name_policy"), 1) << status;
        EXPECT_EQ(register_as(kNobody, "acme.db.orders2"), code(Errc::name_not_allowed));
    }
    int register_as(uid_t uid, const char* name) {
        return run_peer<1>("register_name_as", peer_args(loader_.options(), uid, name))[0];
    }
};

TEST_F(TrustPolicyChangeTest, ReloadWithdrawsASquatterItsClientSeesADeathAndTheOwnerRegisters) {
    squatter_is_withdrawn_by([&] {
        config.rewrite(acme_policy());
        ASSERT_EQ(::kill(loader_.pid(), SIGHUP), 0);
    });
}

TEST_F(TrustPolicyChangeTest, ALoaderStartingWithAChangedPolicyWithdrawsASquatterItAdopts) {
    squatter_is_withdrawn_by([&] {
        loader_.stop();
        config.rewrite(acme_policy());
        ASSERT_TRUE(loader_.start());
    });
}

// ---- the shipped policy ----

class TrustShippedPolicyTest : public WithLoader<> {
protected:
    TrustShippedPolicyTest()
        : WithLoader("trust-shipped", true, {"--config", LITEIPC_SOURCE_DIR "/packaging/loader.conf"}) {}
};

TEST_F(TrustShippedPolicyTest, UnlistedAndBridgeNamesAreRefusedToMembersWithTheRuleToAdd) {
    auto as_nobody = [&](const char* name) {
        return run_peer<1>("register_name_as", peer_args(loader_.options(), kNobody, name))[0];
    };
    EXPECT_EQ(as_nobody("unlisted.name"), code(Errc::name_not_allowed));
    EXPECT_EQ(as_nobody("remote.peer.echo"), code(Errc::name_not_allowed)) << "remote.* is the bridge's";
    auto refused = context_->impl().control(control_request(ControlOp::register_service, 0, "remote.peer.echo"));
    EXPECT_TRUE(refused) << "root may own any name";
    std::string status = status_text(loader_);
    EXPECT_NE(status.find("\"unlisted_names\":\"nobody\""), std::string::npos) << status;
    EXPECT_NE(status.find("{\"name\":\"remote.*\",\"owner\":"), std::string::npos) << status;
}

}  // namespace
}  // namespace liteipc::testing
