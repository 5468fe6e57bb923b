// liteipc-bridge's process plumbing: its log and its stop signals.
//
// Its lines and libliteipc's go the same way: through liteipc's log (liteipc/log.h: the level from
// LITEIPC_LOG_LEVEL, default info here; the rate limit) to stderr, led by the process and its role
// so that a parent's lines and its import children's can be told apart, and by their priority when
// stderr is the journal (common/stderr_log.h, as the loader's):
//   liteipc-bridge[16565] bridge: info main.cpp:106: listening on 10.213.0.2:7443, 1 exports
#pragma once

#include <signal.h>
#include <unistd.h>

#include <source_location>
#include <string>

#include "common/stderr_log.h"
#include "liteipc/log.h"

namespace liteipc::bridge {

// "bridge" in the parent, "import <local name>" in an import child (set before its threads start).
inline std::string& log_role() {
    static std::string role = "bridge";
    return role;
}

// First thing in main: every log line of this process from here on is one of the bridge's.
inline void route_log() {
    ::setenv("LITEIPC_LOG_LEVEL", "info", 0);  // a daemon's starts, stops and refusals are its record
    detail::log_to_stderr([] { return "liteipc-bridge[" + std::to_string(::getpid()) + "] " + log_role() + ": "; });
}

inline void log_line(LogLevel level, const std::string& text, const std::source_location& where) {
    if (log_enabled(level)) log_write(level, where.file_name(), static_cast<int>(where.line()), "%s", text.c_str());
}
inline void log_error(const std::string& text, std::source_location where = std::source_location::current()) {
    log_line(LogLevel::error, text, where);
}
inline void log_warn(const std::string& text, std::source_location where = std::source_location::current()) {
    log_line(LogLevel::warn, text, where);
}
inline void log_info(const std::string& text, std::source_location where = std::source_location::current()) {
    log_line(LogLevel::info, text, where);
}

// SIGTERM and SIGINT: blocked in main before any thread starts, then taken by wait_for_stop.
inline sigset_t stop_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    return signals;
}
inline void wait_for_stop() {
    const sigset_t signals = stop_signals();
    int signal_number = 0;
    sigwait(&signals, &signal_number);
}

}  // namespace liteipc::bridge
