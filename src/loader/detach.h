// --daemon: the loader in the background, for hosts without a service manager. Under systemd the
// loader stays in the foreground (Type=notify) and none of this runs.
//
// The fork comes before anything the event loop uses is made: a signalfd added to an epoll set
// before fork wakes that set for the parent's signals only, so a child that inherited them would
// never see SIGTERM, SIGINT or SIGHUP. The parent stays until the child has started or failed and
// exits with that outcome, so whoever ran `liteipc-loader --daemon` still learns whether a loader
// runs; the child's start-up lines reach the caller's stderr with the child's own pid.
#pragma once

#include <string>

#include "common/mapping.h"
#include "liteipc/error.h"

namespace liteipc::loader {

class Detached {
public:
    // In the parent: does not return; exits 0 once the child reports it serves, 1 otherwise. In
    // the child (a new session, working directory /): the handle to report with.
    static Result<Detached> fork_and_wait();

    // The child serves: writes `pidfile`, detaches stdin, stdout and stderr (to /dev/null) and
    // lets the parent exit 0. A child that never calls this (it failed) makes the parent exit 1.
    Result<> started(const std::string& pidfile);

private:
    explicit Detached(detail::UniqueFd report) : report_(std::move(report)) {}
    detail::UniqueFd report_;  // write end of the pipe the parent reads the child's pid from
};

// Removes `pidfile` if it still names this process (another loader may have replaced it).
void remove_pidfile(const std::string& pidfile);

}  // namespace liteipc::loader
