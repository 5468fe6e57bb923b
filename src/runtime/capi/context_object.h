// What the two C APIs share about the system they run in: the liteipc-loader they use, and the
// names under which they find what LiteIPC finds by handle: the context object (handle 0, the
// service manager a process sets with SetSaManager / SetContextObject) and a process's StartLoop
// endpoint (GenServiceHandle).
#pragma once

#include <sys/types.h>

#include <string>

#include "liteipc/context.h"

namespace liteipc::detail {

inline constexpr const char* kContextObjectName = "liteipc.context";

inline std::string endpoint_name(pid_t pid) { return "liteipc.endpoint." + std::to_string(pid); }

}  // namespace liteipc::detail
