// A process's inbox: the thread that reads the inbox ring buffer (death and connect records the
// kernel writes for this process) and watches connections' sockets for the service's hangup.
// Its handlers run on that thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "common/mapping.h"
#include "kernel/ring_buffer.h"

namespace liteipc {

class Inbox {
public:
    using HangupHandler = std::function<void(uint64_t connection)>;
    // What must stay alive while handlers run; empty when its owner is being destroyed.
    using KeepAlive = std::function<std::shared_ptr<void>()>;

    Inbox() = default;
    Inbox(const Inbox&) = delete;
    Inbox& operator=(const Inbox&) = delete;
    // Stops and joins the thread; see inbox.cpp for a destruction on the thread itself or after fork.
    ~Inbox();

    // Starts the thread on the inbox ring buffer `inbox_fd`.
    Result<> start(int inbox_fd, detail::RingBuffer::RecordHandler on_record, HangupHandler on_hangup,
                   KeepAlive keep_alive);

    // The hangup of `socket` is reported once, as `connection` (not 0 nor ~0: the thread's own tags).
    Result<> watch(uint64_t connection, int socket);
    void unwatch(int socket);

    // False in a forked child, whose copy shares the parent's epoll instance but has no thread.
    bool in_owner_process() const;

private:
    void run();

    detail::RingBuffer ring_;
    detail::UniqueFd epoll_;
    detail::UniqueFd stop_event_;
    HangupHandler on_hangup_;
    KeepAlive keep_alive_;
    pid_t owner_pid_ = 0;
    std::unique_ptr<std::thread> thread_;
};

}  // namespace liteipc
