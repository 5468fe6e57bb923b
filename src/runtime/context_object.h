// Names under which the C APIs find what LiteIPC finds by handle: the context object (handle 0,
// the service manager a process sets with SetSaManager / SetContextObject) and a process's
// StartLoop endpoint (GenServiceHandle).
#pragma once

#include <string>
#include <sys/types.h>

namespace liteipc::detail {

inline constexpr const char* kContextObjectName = "liteipc.context";

inline std::string endpoint_name(pid_t pid) { return "liteipc.endpoint." + std::to_string(pid); }

}  // namespace liteipc::detail
