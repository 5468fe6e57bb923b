// Where libliteipc's log lines go. By default: stderr, from LITEIPC_LOG_LEVEL (debug, info, warn,
// error, off; default warn). An application with a logger of its own routes them there instead.
#pragma once

#include <functional>
#include <string_view>

namespace liteipc {

enum class LogLevel : int { debug = 0, info, warn, error, off };

// `line` is one line without its newline, e.g. "warn channel_service.cpp:120: slot 3: bad length".
// Called from whichever thread logs (context inbox thread, service workers, callers), possibly
// concurrently: the handler must be thread-safe and must not call back into liteipc.
using LogHandler = std::function<void(LogLevel level, std::string_view line)>;

// Installs `handler` (an empty one restores stderr). Thread-safe; lines logged while it changes go
// to the old or the new handler, never to neither.
void set_log_handler(LogHandler handler);

// Lines below `level` are dropped before they are formatted. Overrides LITEIPC_LOG_LEVEL.
void set_log_level(LogLevel level) noexcept;

}  // namespace liteipc
