// `liteipc monitor --topic NAME`: a topic's samples as they are published, until Ctrl-C or a count.
#pragma once

#include <chrono>
#include <string>

#include "loader_query.h"

namespace liteipc::cli {

struct TopicMonitorOptions {
    LoaderAddress address;
    std::chrono::milliseconds timeout{5000};
    std::string topic;
    bool json = false;    // one JSON document per line
    long max_events = 0;  // stop after this many samples; 0: until interrupted
};

// Returns a process exit status (liteipc(1)): 4 when the topic's policy refuses this user.
int run_topic_monitor(const TopicMonitorOptions& options);

}  // namespace liteipc::cli
