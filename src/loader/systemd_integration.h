// The loader as a systemd service: readiness and status notifications (Type=notify), and log
// lines to the journal with their priority when the loader daemonized.
#pragma once

namespace liteipc::loader {

// From here on, libliteipc's log lines go to the journal with their priority (syslog when no
// journald answers), instead of stderr: for a daemon, whose stderr is /dev/null. Under systemd,
// stderr is the journal already (common/stderr_log.h).
void log_to_journal();

// sd_notify(3) with `state` ("READY=1", "STOPPING=1", "STATUS=..."); nothing when not under systemd.
void notify_systemd(const char* state);

}  // namespace liteipc::loader
