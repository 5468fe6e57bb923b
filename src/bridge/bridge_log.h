// liteipc-bridge's process plumbing: its log (one line per event on stderr, the journal under
// systemd, with the process's role so a parent's lines and its import children's can be told
// apart) and its stop signals.
#pragma once

#include <signal.h>

#include <cstdio>
#include <string>
#include <unistd.h>

namespace liteipc::bridge {

inline std::string& log_role() {
    static std::string role = "bridge";
    return role;
}

// `level`: a syslog-style prefix the journal reads ("<3>" error, "<4>" warning, "<6>" info).
inline void log_line(const char* level, const std::string& text) {
    std::fprintf(stderr, "%sliteipc-bridge[%d] %s: %s\n", level, static_cast<int>(::getpid()), log_role().c_str(),
                 text.c_str());
}
inline void log_error(const std::string& text) { log_line("<3>", text); }
inline void log_warn(const std::string& text) { log_line("<4>", text); }
inline void log_info(const std::string& text) { log_line("<6>", text); }

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
