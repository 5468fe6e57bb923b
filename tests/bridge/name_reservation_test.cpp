// check_prefix_reserved on policies as the loader's status document reports them (no root).
#include <gtest/gtest.h>

#include "name_reservation.h"

namespace liteipc::bridge {
namespace {

constexpr uid_t kBridgeUid = 990;

// unlisted_names = unlisted, then `own pattern by who` for each rule.
status::NamePolicyReport policy(std::vector<std::pair<std::string, std::string>> rules,
                                const std::string& unlisted = "nobody") {
    status::NamePolicyReport names{.config = "loader.conf", .unlisted_names = unlisted, .rules = {}};
    for (auto& [name, owner] : rules) names.rules.push_back({name, owner});
    return names;
}

std::string refusal(const status::NamePolicyReport& names, uid_t uid = kBridgeUid) {
    auto checked = check_prefix_reserved(names, "remote.", uid);
    if (checked) return "";
    EXPECT_EQ(checked.error().code, Errc::name_not_allowed);
    return checked.error().message;
}

TEST(NameReservationTest, ARuleForTheBridgesUidOverThePrefixOrAShorterOneReservesIt) {
    EXPECT_EQ(refusal(policy({{"remote.*", "uid:990"}})), "");
    EXPECT_EQ(refusal(policy({{"remote.*", "uid:990"}}, "anyone")), "");
    EXPECT_EQ(refusal(policy({{"rem*", "uid:990"}, {"remote.b.*", "nobody"}, {"remote.x", "uid:0"}})), "");
    // Rules about other names do not matter.
    EXPECT_EQ(refusal(policy({{"remote.*", "uid:990"}, {"org.*", "anyone"}, {"remote", "anyone"}})), "");
}

TEST(NameReservationTest, NoRuleOrAnyRuleLettingAnotherOwnerInIsRefusedWithTheRuleToAddOrRemove) {
    EXPECT_NE(refusal(policy({}, "anyone")).find("does not reserve remote.* for this bridge (uid 990)"), std::string::npos);
    // Unlisted names for nobody are not enough for an unprivileged bridge: it could not register them.
    EXPECT_NE(refusal(policy({})).find("add `own remote.* by "), std::string::npos);
    // Only part of the prefix reserved.
    EXPECT_NE(refusal(policy({{"remote.b.*", "uid:990"}}, "anyone")).find("does not reserve"), std::string::npos);
    for (const char* by : {"anyone", "uid:991", "gid:990"})
        EXPECT_NE(refusal(policy({{"remote.*", "uid:990"}, {"remote.b.*", by}})).find(std::string("`own remote.b.* by ") + by + "`"),
                  std::string::npos) << by;
    EXPECT_NE(refusal(policy({{"remote.*", "uid:990"}, {"remote.b.echo", "uid:5"}})).find("remote.b.echo"), std::string::npos);
    EXPECT_NE(refusal(policy({{"*", "anyone"}, {"remote.*", "uid:990"}})).find("`own * by anyone`"), std::string::npos);
}

TEST(NameReservationTest, ARootBridgeAcceptsRulesForNobodyOrRoot) {
    EXPECT_EQ(refusal(policy({{"remote.*", "nobody"}}, "anyone"), 0), "");
    EXPECT_EQ(refusal(policy({{"remote.*", "uid:0"}}, "anyone"), 0), "");
    EXPECT_EQ(refusal(policy({}, "nobody"), 0), "");
    EXPECT_NE(refusal(policy({}, "anyone"), 0).find("by user:root"), std::string::npos);
}

}  // namespace
}  // namespace liteipc::bridge
