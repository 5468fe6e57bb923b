// The registry's state: every control socket the loader holds, the process it belongs to, and
// what that socket waits to be sent. The daemon's registry.cpp and daemon.cpp act on it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>

#include "control_io.h"
#include "liteipc_abi.h"

namespace liteipc::loader {

// One control socket the loader serves and the process that connected it.
struct ClientSocket {
    UniqueFd socket;
    UniqueFd pidfd;        // the process that connected; empty when it was gone at accept
    pid_t pid = 0;         // SO_PEERCRED, in the loader's pid namespace (what SCM_CREDENTIALS says)
    pid_t host_pid = 0;    // the same process as BPF sees it
    uint64_t start_time = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    bool registered = false;
    bool auxiliary = false;  // a further socket of a registered process: closing it closes nothing
    uint32_t slot = 0;
    uint64_t generation = 0;
    std::deque<Outgoing> outbox;  // replies the client has not taken yet
    bool watching_writable = false;
    bool dropping = false;  // did not read its replies: served no more
    bool watching_monitor = false;  // asked for monitor records; they stop when all such sockets close
    std::deque<liteipc_monitor_record> monitor_queue;  // this watcher's records not sent yet
    uint64_t monitor_dropped = 0;  // records that found its queue full: its own loss
};

struct Registry {
    // What one watcher may leave unread (80 KiB) and how many watchers one uid may have.
    static constexpr std::size_t kMonitorQueueRecords = 1024;
    static constexpr std::size_t kWatchersPerUid = 4;

    std::map<int, ClientSocket> clients;  // by socket fd
    uint64_t deaths_seen = 0;
    uint64_t monitor_watchers = 0;  // sockets with watching_monitor set

    std::size_t sockets_of(uid_t uid) const {
        std::size_t n = 0;
        for (const auto& [fd, client] : clients) n += client.uid == uid;
        return n;
    }
};

}  // namespace liteipc::loader
