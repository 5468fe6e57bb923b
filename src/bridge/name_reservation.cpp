#include "name_reservation.h"

#include <pwd.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace liteipc::bridge {

namespace {

// How the rule to add names the bridge's user: by name when it has one (loader.conf takes both).
std::string owner_of(uid_t uid) {
    if (const passwd* user = ::getpwuid(uid)) return std::string("user:") + user->pw_name;
    return "uid:" + std::to_string(uid);
}

// The loader's status document, parsed.
Result<nlohmann::json> loader_document(const Context& context) {
    auto status = context.loader_status();
    if (!status) return std::unexpected(status.error());
    auto document = nlohmann::json::parse(*status, nullptr, false);
    if (document.is_discarded()) return fail(Errc::malformed, "the loader's status document is not JSON");
    return document;
}

}  // namespace

Result<void> check_prefix_reserved(const nlohmann::json& name_policy, std::string_view prefix, uid_t uid) {
    const std::string reserve = "own " + std::string(prefix) + "* by " + owner_of(uid);
    const std::string fix = "; add `" + reserve + "` to the loader's config (loader.conf) and reload it";
    if (!name_policy.is_object() || !name_policy.contains("rules"))
        return fail(Errc::name_not_allowed, "the loader does not report its name policy (older than this bridge?)" + fix);
    const std::string mine = "uid:" + std::to_string(uid);
    bool covered = name_policy.value("unlisted_names", "anyone") == "nobody" && uid == 0;
    for (const auto& rule : name_policy.at("rules")) {
        const std::string pattern = rule.value("name", ""), by = rule.value("owner", "");
        const bool is_prefix = !pattern.empty() && pattern.back() == '*';
        const std::string_view stem = is_prefix ? std::string_view(pattern).substr(0, pattern.size() - 1) : pattern;
        // The rule covers every name under the prefix, or some of them, or none.
        const bool covers_all = is_prefix && prefix.starts_with(stem);
        const bool covers_some = covers_all || stem.starts_with(prefix);
        if (!covers_some) continue;
        // Root may own any name anyway: a rule for nobody or root gives nothing away.
        if (by != mine && by != "nobody" && by != "uid:0")
            return fail(Errc::name_not_allowed, "the loader's rule `own " + pattern + " by " + by + "` lets others own names under " +
                                                    std::string(prefix) + ", which this bridge's imports rely on: remove it" +
                                                    (covers_all ? fix : std::string{}));
        if (covers_all && (by == mine || uid == 0)) covered = true;
    }
    if (!covered)
        return fail(Errc::name_not_allowed, "the loader's name policy does not reserve " + std::string(prefix) +
                                                "* for this bridge (uid " + std::to_string(uid) + ")" + fix);
    return {};
}

Result<void> check_loader_reserves(const Context& context, std::string_view prefix) {
    auto document = loader_document(context);
    if (!document) return std::unexpected(document.error());
    return check_prefix_reserved(document->value("name_policy", nlohmann::json()), prefix, ::geteuid());
}

Result<std::map<std::string, NameHolder>> name_holders(const Context& context) {
    auto document = loader_document(context);
    if (!document) return std::unexpected(document.error());
    std::map<std::string, NameHolder> holders;
    for (const auto& service : document->value("services", nlohmann::json::array()))
        holders[service.value("name", "")] = {service.value("pid", int64_t{0}), service.value("uid", int64_t{0})};
    return holders;
}

}  // namespace liteipc::bridge
