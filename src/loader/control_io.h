// The loader's side of a control socket: non-blocking send. The loader never waits on a client:
// what a client does not take at once waits in that client's bounded outbox.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "liteipc/error.h"
#include "common/mapping.h"

namespace liteipc::loader {

using detail::UniqueFd;

struct Outgoing {
    std::string bytes;
    std::vector<UniqueFd> fds;  // sent, then closed here
};

// The control socket's side of the loader: the socket and its lock, the epoll set the event loop
// waits on, the signals it takes, and the fd limit's room. daemon.cpp acts on it.
struct ControlEndpoint {
    UniqueFd lock;        // the pin root's lock: one loader per pin root
    UniqueFd listener;
    UniqueFd epoll;
    UniqueFd signals;     // SIGTERM, SIGINT, SIGHUP as a signalfd
    UniqueFd reserve_fd;  // closed to accept-and-refuse one socket when at the fd limit
    std::size_t max_clients = 0;  // sockets the fd limit leaves room for
    bool created_socket = false;
    gid_t group_id = 0;  // the liteipc group, which owns the socket
};

enum class SendOutcome { sent, would_block, failed };
SendOutcome send_now(int socket, const Outgoing& message);

}  // namespace liteipc::loader
