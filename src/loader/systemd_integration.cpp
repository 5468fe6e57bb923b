#include "systemd_integration.h"

#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "liteipc/log.h"

namespace liteipc::loader {

bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    struct stat st{};
    if (!stream || ::fstat(STDERR_FILENO, &st) != 0) return false;
    unsigned long long device = 0, inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
    return device == st.st_dev && inode == st.st_ino;
}

namespace {

int priority_of(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return LOG_DEBUG;
        case LogLevel::info: return LOG_INFO;
        case LogLevel::warn: return LOG_WARNING;
        case LogLevel::error: return LOG_ERR;
        case LogLevel::off: break;
    }
    return LOG_NOTICE;
}

}  // namespace

void log_to_journal() {
    set_log_handler([](LogLevel level, std::string_view line) {
        std::string text(line);
        int priority = priority_of(level);
        if (sd_journal_send("MESSAGE=%s", text.c_str(), "PRIORITY=%d", priority, "SYSLOG_IDENTIFIER=liteipc-loader",
                            nullptr) < 0)
            ::syslog(LOG_DAEMON | priority, "%s", text.c_str());
    });
}

void notify_systemd(const char* state) { sd_notify(0, state); }

}  // namespace liteipc::loader
