#include "name_reservation.h"

#include <pwd.h>
#include <unistd.h>

namespace liteipc::bridge {

namespace {

// How the rule to add names the bridge's user: by name when it has one (loader.conf takes both).
std::string owner_of(uid_t uid) {
    if (const passwd* user = ::getpwuid(uid)) return std::string("user:") + user->pw_name;
    return "uid:" + std::to_string(uid);
}

// The loader's status document, parsed.
Result<status::StatusDocument> loader_document(const Context& context) {
    auto text = context.loader_status();
    if (!text) return std::unexpected(text.error());
    return status::parse_status_document(*text);
}

}  // namespace

Result<void> check_prefix_reserved(const status::NamePolicyReport& name_policy, std::string_view prefix, uid_t uid) {
    const std::string reserve = "own " + std::string(prefix) + "* by " + owner_of(uid);
    const std::string fix = "; add `" + reserve + "` to the loader's config (loader.conf) and reload it";
    const std::string mine = "uid:" + std::to_string(uid);
    bool covered = name_policy.unlisted_names == "nobody" && uid == 0;
    for (const auto& rule : name_policy.rules) {
        const std::string& pattern = rule.name;
        const std::string& by = rule.owner;
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
    if (!document && document.error().code == Errc::malformed)
        return fail(Errc::name_not_allowed, "the loader does not report its name policy as this bridge reads it (older "
                                            "than this bridge?): " + document.error().message);
    if (!document) return std::unexpected(document.error());
    return check_prefix_reserved(document->name_policy, prefix, ::geteuid());
}

Result<std::map<std::string, NameHolder>> name_holders(const Context& context) {
    auto document = loader_document(context);
    if (!document) return std::unexpected(document.error());
    std::map<std::string, NameHolder> holders;
    for (const auto& service : document->services) holders[service.name] = {service.pid, service.uid};
    return holders;
}

}  // namespace liteipc::bridge
