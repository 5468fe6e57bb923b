// Read-only questions to liteipc-loader. The CLI asks over a socket of its own and never sends
// hello: looking at liteipc must not register a process, bump a counter or write a log line.
#pragma once

#include <chrono>
#include <string>

#include "liteipc/context.h"
#include "liteipc/error.h"
#include "common/mapping.h"

namespace liteipc::cli {

struct LoaderAddress {
    std::string socket_path;
    std::string pin_root;
};

// The loader the library would use: LITEIPC_SOCKET and LITEIPC_PIN_ROOT, or the defaults.
LoaderAddress default_address();

// The loader's status document (JSON). Errc::loader_unavailable when nothing listens,
// Errc::permission_denied when this user may not open the socket (not in the liteipc group).
Result<std::string> query_status(const LoaderAddress& address, std::chrono::milliseconds timeout);

// A context of the library on that loader, for the commands that call services (call, introspect,
// list --remote, monitor --topic): unlike the questions here, it registers this process.
Result<Context> open_context(const LoaderAddress& address, std::chrono::milliseconds timeout);

// Asks the loader to fill the pinned monitor ring for as long as the returned socket stays open.
// Registers nothing: the ring carries records whether or not this process ever reads them.
Result<detail::UniqueFd> watch_monitor(const LoaderAddress& address, std::chrono::milliseconds timeout);

}  // namespace liteipc::cli
