// The loader as a systemd service: readiness and status notifications (Type=notify), and log
// lines to the journal with their priority when stderr is the journal or the loader daemonized.
#pragma once

namespace liteipc::loader {

// True when stderr is connected to the journal (systemd sets JOURNAL_STREAM to its device:inode).
bool stderr_is_journal();

// From here on, libliteipc's log lines go to the journal with their priority (syslog when no
// journald answers), instead of stderr.
void log_to_journal();

// sd_notify(3) with `state` ("READY=1", "STOPPING=1", "STATUS=..."); nothing when not under systemd.
void notify_systemd(const char* state);

}  // namespace liteipc::loader
