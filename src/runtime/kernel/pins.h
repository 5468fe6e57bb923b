// Opening what liteipc-loader pinned under its pin root, and the ABI check every opener makes
// before it reads a pinned map: library, loader and CLI name a missing pin and a foreign ABI
// version alike, with what to do about it.
#pragma once

#include <string>

#include "common/mapping.h"
#include "liteipc/error.h"

namespace liteipc::detail {

enum class PinRights { read_write, read_only };

// The pin `pin_root`/`name`; `what` names it in errors ("the process table"). Errc::permission_denied
// says to join the liteipc group, Errc::loader_unavailable to start the loader on this pin root.
Result<UniqueFd> open_pin(const std::string& pin_root, const std::string& name, const std::string& what,
                          PinRights access = PinRights::read_write);

// Errc::abi_mismatch unless the pinned `abi` map holds LITEIPC_ABI_VERSION (its absence means
// ABI 1). `speaker` is who refuses ("this loader", "this libliteipc"); the message carries the fix.
Result<> check_pinned_abi(const std::string& pin_root, const std::string& speaker);

}  // namespace liteipc::detail
