// The names an import registers, remote.<peer>.<service>, are this bridge's alone only if the
// loader's name policy says so: otherwise any member of the liteipc group could register one
// while its import is down and receive the local clients' calls. The bridge reads the policy
// from the loader's status document ("name_policy") and refuses to run without the reservation.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/status_document.h"
#include "liteipc/context.h"
#include "liteipc/error.h"

namespace liteipc::bridge {

// Every imported service is registered under this prefix.
inline constexpr std::string_view kImportPrefix = "remote.";

// Whether the policy (the status document's name_policy) gives every name starting with `prefix` to `uid` and to nobody else but root: a
// rule `own <prefix>* by uid:<uid>` (or a shorter prefix), and no rule that lets another owner
// have any name under the prefix. A root bridge also accepts `by nobody` or unlisted names for
// nobody (root may own any name). Errc::name_not_allowed says which rule to add or remove.
Result<void> check_prefix_reserved(const status::NamePolicyReport& name_policy, std::string_view prefix, uid_t uid);

// The same, for this process's effective uid against the policy the loader of `context` reports.
Result<void> check_loader_reserves(const Context& context, std::string_view prefix);

// Who holds each name registered on the loader of `context`, as its status document says.
struct NameHolder {
    int64_t pid = 0;
    int64_t uid = 0;
};
Result<std::map<std::string, NameHolder>> name_holders(const Context& context);

}  // namespace liteipc::bridge
