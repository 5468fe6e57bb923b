// A daemon's log lines on stderr (liteipc-loader, liteipc-bridge): one write per line, led by its
// syslog priority ("<4>") when stderr is the journal, which takes that prefix as the line's
// priority and strips it (SyslogLevelPrefix= in systemd.exec(5)); plain on a terminal or in a file.
//
// Header-only over the public logging API (liteipc/log.h): the bridge links libliteipc.so, which
// exports none of the internals, and the loader links the internals; both include this one copy.
#pragma once

#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>

#include "liteipc/log.h"

namespace liteipc::detail {

// True when stderr is connected to the journal: systemd sets JOURNAL_STREAM to its device:inode
// (a process that inherited the variable with another stderr is not).
inline bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    struct stat st{};
    if (!stream || ::fstat(STDERR_FILENO, &st) != 0) return false;
    unsigned long long device = 0, inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
    return device == st.st_dev && inode == st.st_ino;
}

inline int syslog_priority(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return LOG_DEBUG;
        case LogLevel::info: return LOG_INFO;
        case LogLevel::warn: return LOG_WARNING;
        case LogLevel::error: return LOG_ERR;
        case LogLevel::off: break;
    }
    return LOG_NOTICE;
}

// "<N>" (when `with_priority`), `prefix`, `text` and a newline in one write, so that lines of
// concurrent threads and processes sharing stderr never interleave.
inline void write_stderr_line(LogLevel level, bool with_priority, std::string_view prefix, std::string_view text) {
    std::string line;
    line.reserve(prefix.size() + text.size() + 5);
    if (with_priority) line += '<' + std::to_string(syslog_priority(level)) + '>';
    line += prefix;
    line += text;
    line += '\n';
    ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
}

// From here on every line of liteipc's log (the library's, and the program's own through
// log_write) goes to stderr as `prefix()` followed by the line from its level on ("warn
// daemon.cpp:45: ..."), led by its priority when stderr is the journal. `prefix` may be empty; it
// runs on whichever thread logs.
inline void log_to_stderr(std::function<std::string()> prefix) {
    const bool with_priority = stderr_is_journal();
    set_log_handler([with_priority, prefix = std::move(prefix)](LogLevel level, std::string_view line) {
        write_stderr_line(level, with_priority, prefix ? prefix() : std::string(), line);
    });
}

}  // namespace liteipc::detail
