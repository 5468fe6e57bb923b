// `liteipc monitor`: the kernel plane's live events (connects, denials, disconnects, deaths) as
// they happen, from the pinned "monitor" ring, until Ctrl-C or a count of events.
#pragma once

#include <chrono>
#include <string>

#include "loader_query.h"

namespace liteipc::cli {

struct MonitorOptions {
    LoaderAddress address;
    std::chrono::milliseconds timeout{5000};
    std::string service;  // only this service's events (and its owner's and clients' deaths); empty: all
    bool json = false;    // one JSON document per line
    long max_events = 0;  // stop after this many printed events; 0: until interrupted
};

// Runs until SIGINT/SIGTERM, `max_events`, or the loader goes away; then prints how many events
// the ring lost. Returns a process exit status (liteipc(1)).
int run_monitor(const MonitorOptions& options);

}  // namespace liteipc::cli
