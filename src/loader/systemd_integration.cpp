#include "systemd_integration.h"

#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <string>

#include "common/stderr_log.h"

namespace liteipc::loader {

void log_to_journal() {
    set_log_handler([](LogLevel level, std::string_view line) {
        std::string text(line);
        int priority = detail::syslog_priority(level);
        if (sd_journal_send("MESSAGE=%s", text.c_str(), "PRIORITY=%d", priority, "SYSLOG_IDENTIFIER=liteipc-loader",
                            nullptr) < 0)
            ::syslog(LOG_DAEMON | priority, "%s", text.c_str());
    });
}

void notify_systemd(const char* state) { sd_notify(0, state); }

}  // namespace liteipc::loader
