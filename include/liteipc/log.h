// Where libliteipc's log lines go. By default: stderr, from LITEIPC_LOG_LEVEL (debug, info, warn,
// error, off; default warn). An application with a logger of its own routes them there instead.
#pragma once

#include <functional>
#include <string_view>

#include "liteipc/export.h"

namespace liteipc {

enum class LogLevel : int { debug = 0, info, warn, error, off };

// `line` is one line without its newline, e.g. "warn channel_service.cpp:120: slot 3: bad length".
// Called from whichever thread logs (context inbox thread, service workers, callers), possibly
// concurrently: the handler must be thread-safe and must not call back into liteipc.
using LogHandler = std::function<void(LogLevel level, std::string_view line)>;

// Installs `handler` (an empty one restores stderr). Thread-safe; lines logged while it changes go
// to the old or the new handler, never to neither.
LITEIPC_API void set_log_handler(LogHandler handler);

// Lines below `level` are dropped before they are formatted. Overrides LITEIPC_LOG_LEVEL.
LITEIPC_API void set_log_level(LogLevel level) noexcept;

// A line through liteipc's own log: the threshold, the rate limit (a hostile peer can provoke a
// line per message) and the handler or stderr, as the library's lines go. For libraries built on
// liteipc (its newer C API is one), so their lines go where the application routed liteipc's.
// log_enabled first skips the formatting of a line that would be dropped; `file` and `line` name
// the call site; `format` is printf's.
LITEIPC_API bool log_enabled(LogLevel level) noexcept;
LITEIPC_API void log_write(LogLevel level, const char* file, int line, const char* format, ...) noexcept
    __attribute__((format(printf, 4, 5)));

}  // namespace liteipc
