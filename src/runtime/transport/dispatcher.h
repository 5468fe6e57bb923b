// Worker threads serving the channels of one service, however many.
//
// Awake, workers poll only the connections known to be active. With nothing to do they spin briefly,
// then retire every active connection to its doorbell (ChannelServer::arm_doorbell) and sleep in
// epoll_wait on one eventfd per connection: a client that finds its connection armed writes that
// eventfd, the readiness list says which connection has work, and a wake costs the same at 1 and at
// 10,000 connections. Each connection's socket reports the client's hangup (an orderly close or a
// death), which the kernel reports and no other client can fake. A client's close or death is no
// loss: what it published before is served before its connection goes.
//
// One fd per connection: the socket. The doorbell is registered and then needs no fd of ours: epoll
// watches an open file, and the client keeps the eventfd open (an epoll entry goes when the last fd
// to its file closes). 10,000 connections fit this machine's 20,000-fd limit.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "transport/channel_server.h"
#include "transport/fd_channel.h"
#include "common/mapping.h"

namespace liteipc::detail {

struct DispatcherOptions {
    unsigned workers = 1;
    // How long an idle worker polls the active connections before sleeping. 0 = sleep at once.
    std::chrono::nanoseconds spin = std::chrono::microseconds(20);
};

class Dispatcher {
public:
    explicit Dispatcher(Handler handler, DispatcherOptions options = {});
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;
    ~Dispatcher() { stop(); }

    Result<void> start();
    // Serves `connection`, whose client writes the eventfd `doorbell` (borrowed: the caller may close
    // it once the client holds it). When the client closes its end of `socket`, `on_hangup` runs on a
    // worker; without one, the dispatcher removes the connection itself.
    Result<void> add(std::shared_ptr<ChannelServer> connection, int doorbell, std::shared_ptr<FdChannel> socket,
                     std::function<void()> on_hangup = {});
    void remove(const ChannelServer* connection);
    // The client is gone (its death, seen by the caller): a worker serves what the client published
    // before it went, then runs `on_hangup` as for a hangup. False when the connection is not served.
    bool close(const ChannelServer* connection);
    // Wakes and joins the workers. Requests still on the rings stay unanswered (callers time out or
    // are failed by their own dead-peer handling).
    void stop();
    std::size_t connection_count() const;

private:
    struct WatchedConnection;
    void worker_main();
    // Under mutex_: put a connection back on the active list, disarmed.
    void activate_locked(const std::shared_ptr<WatchedConnection>& entry);
    // Wake one sleeping worker (there is more work than the waking one can take at once).
    void kick() noexcept;
    // Under mutex_: every active connection off the active list, its doorbell armed.
    void retire_all_locked(std::vector<std::shared_ptr<WatchedConnection>>& retired);
    // After retire_all_locked and a full fence: a connection whose client published before the
    // arm (no bell rang for it) is made active again. True when there was one.
    bool reactivate_pending(const std::vector<std::shared_ptr<WatchedConnection>>& retired);
    // Around a handler that no other worker polls beside: arm the active connections' doorbells, so
    // that a request published meanwhile wakes a sleeping worker (none is woken on the chance that
    // one comes), then make them active again.
    void lend_to_doorbells(std::vector<std::shared_ptr<WatchedConnection>>& lent);
    void take_back(std::vector<std::shared_ptr<WatchedConnection>>& lent);
    // A hung-up or closed connection: serve what its client published before, then let it go.
    void finish(WatchedConnection& entry);

    Handler handler_;
    DispatcherOptions options_;
    UniqueFd epoll_;
    UniqueFd stop_event_;  // level-triggered, never read: once written, every epoll_wait returns
    UniqueFd kick_event_;  // edge-triggered eventfd: each write wakes one sleeper
    mutable std::mutex mutex_;
    uint64_t next_id_;
    std::unordered_map<uint64_t, std::shared_ptr<WatchedConnection>> entries_;      // by id (epoll data)
    std::unordered_map<const ChannelServer*, uint64_t> id_of_;
    std::vector<std::shared_ptr<WatchedConnection>> active_;
    std::atomic<uint64_t> active_generation_{0};
    std::atomic<uint32_t> sleeping_workers_{0};
    // Workers inside a handler (counted only with more than one worker). Active connections have
    // their doorbells disarmed; a worker entering a handler when every other one sleeps or runs a
    // handler too lends them to their doorbells until it is back (Dekker with sleeping_workers_).
    std::atomic<uint32_t> workers_in_handler_{0};
    std::vector<std::shared_ptr<WatchedConnection>> closing_;  // closed connections no worker has finished yet
    std::atomic<uint32_t> closing_count_{0};        // closing_.size(), read without the lock
    std::atomic<bool> stopping_{false};
    std::vector<std::thread> workers_;
};

}  // namespace liteipc::detail
