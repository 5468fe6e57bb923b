// Service names follow the loader's ownership policy (like D-Bus's <allow own="...">): a name
// the policy gives to another uid cannot be taken, and SIGHUP brings a changed policy into force.
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

}  // namespace
}  // namespace liteipc::testing
