// What the two C APIs share about the system they run in: the liteipc-loader they use, and the
// names under which they find what LiteIPC finds by handle: the context object (handle 0, the
// service manager a process sets with SetSaManager / SetContextObject) and a process's StartLoop
// endpoint (GenServiceHandle).
#pragma once

#include <sys/types.h>

#include <cstdlib>
#include <string>

#include "liteipc/context.h"

namespace liteipc::detail {

inline constexpr const char* kContextObjectName = "liteipc.context";

inline std::string endpoint_name(pid_t pid) { return "liteipc.endpoint." + std::to_string(pid); }

// The defaults, or the loader that LITEIPC_SOCKET and LITEIPC_PIN_ROOT name (a private one, as
// the system tests run).
inline ContextOptions options_from_environment() {
    ContextOptions options;
    if (const char* socket = std::getenv("LITEIPC_SOCKET"); socket != nullptr && *socket != '\0')
        options.socket_path = socket;
    if (const char* pin_root = std::getenv("LITEIPC_PIN_ROOT"); pin_root != nullptr && *pin_root != '\0')
        options.pin_root = pin_root;
    return options;
}

}  // namespace liteipc::detail
