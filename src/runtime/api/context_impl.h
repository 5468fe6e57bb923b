// The inside of a Context, shared by the runtime's parts (services, connections, C API).
#pragma once

#include <atomic>
#include <map>
#include <span>
#include <mutex>
#include <thread>
#include <vector>

#include "common/control_protocol.h"
#include "liteipc/context.h"
#include "liteipc_abi.h"
#include "common/mapping.h"

struct ring_buffer;

namespace liteipc {

struct ControlResponse {
    detail::ControlReply reply;
    std::vector<detail::UniqueFd> fds;
    std::string text;
};

struct Context::Impl : std::enable_shared_from_this<Context::Impl> {
    ~Impl();

    ContextOptions options;
    PeerId self;

    // One request at a time on the control socket; reconnects (and registers again, which a
    // restarted loader answers with the same slot) when the loader went away in between.
    // `timeout` 0 means the context's default.
    Result<ControlResponse> control(const detail::ControlRequest& request,
                                    std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

    // A request on a socket of its own, for requests that wait on another process (connection
    // setup): they hold no lock and delay no other request. `fds` go with the request.
    Result<ControlResponse> control_once(const detail::ControlRequest& request, std::span<const int> fds,
                                         std::chrono::milliseconds timeout);

    bool alive(const PeerId& peer) const;

    // A service reference (OBJ_SVC) in a message to `receiver_pid` is a capability: the receiver
    // may connect to that service, if this process holds it. Asks the loader every time.
    Result<> grant_reference(uint32_t handle, uint32_t receiver_pid);
    const liteipc_proc* proc(uint32_t slot) const;

    // `connection` nonzero: the callback belongs to that connection, and also runs (once, whichever
    // comes first) when the service hangs up the connection's socket (watch_hangup).
    Result<DeathSubscription> on_death(const PeerId& peer, DeathCallback callback, uint64_t connection = 0);
    void unsubscribe(uint64_t id);

    // The inbox thread watches a connection's socket: its hangup by the service (which alone holds
    // the other end) ends the connection's subscribers as the service's death would. A client
    // cannot hang up another client's connection. Unwatch before shutting the socket ourselves.
    Result<> watch_hangup(uint64_t connection, const PeerId& service, int socket);
    void unwatch_hangup(uint64_t connection, int socket);

    // Hooks for the runtime's own users of the inbox (connections, services).
    uint64_t add_death_listener(std::function<void(const DeathNotice&)> listener);
    void remove_death_listener(uint64_t id);
    // Connect records for the service `handle` go to `listener` (on the inbox thread).
    void set_connect_listener(uint32_t handle, std::function<void(const liteipc_connect_record&)> listener);
    void remove_connect_listener(uint32_t handle);
    // A service registers, then sets its listener: connect records that arrive in between, for a
    // handle this process does not serve yet, are kept while a registration is under way and handed
    // to set_connect_listener. Pair each begin with an end.
    void begin_registration();
    void end_registration();

    int connect_prog = -1;
    int subscribe_prog = -1;
    int send_prog = -1;  // run once per message to a mediated service

    Result<> start(ContextOptions opts);

private:
    Result<detail::UniqueFd> open_socket() const;
    Result<> connect_to_loader();
    Result<> hello();
    Result<> kernel_subscribe(const PeerId& peer);
    void kernel_unsubscribe(const PeerId& peer);
    void inbox_loop();
    void on_record(const void* data, std::size_t size);
    void deliver_death(const DeathNotice& notice);
    void deliver_hangup(uint64_t connection);
    // Under death_mutex_: one user of the kernel subscription to (slot, generation) less.
    void release_kernel_subscription_locked(std::pair<uint32_t, uint64_t> key);

    std::mutex control_mutex_;
    uint64_t last_request_id_ = 0;
    detail::UniqueFd control_;
    detail::UniqueFd inbox_;
    detail::UniqueFd procs_fd_;
    detail::UniqueFd connect_prog_fd_;
    detail::UniqueFd subscribe_prog_fd_;
    detail::UniqueFd send_prog_fd_;
    detail::Mapping procs_mapping_;
    ring_buffer* inbox_ring_ = nullptr;
    detail::UniqueFd inbox_epoll_;
    detail::UniqueFd stop_event_;
    std::unique_ptr<std::thread> inbox_thread_;
    pid_t owner_pid_ = 0;

    struct DeathWatch {  // one on_death callback
        PeerId peer;
        DeathCallback callback;
        uint64_t connection = 0;  // nonzero: also ended by that connection's hangup
    };
    std::mutex death_mutex_;
    uint64_t next_id_ = 1;
    std::map<uint64_t, DeathWatch> subscribers_;
    std::map<std::pair<uint32_t, uint64_t>, std::size_t> kernel_subscriptions_;  // (slot, generation) -> users
    std::map<uint64_t, std::function<void(const DeathNotice&)>> death_listeners_;
    std::map<uint64_t, PeerId> watched_connections_;  // conn_id -> its service, while its socket is watched
    std::map<uint32_t, std::function<void(const liteipc_connect_record&)>> connect_listeners_;
    std::size_t registrations_under_way_ = 0;
    std::vector<liteipc_connect_record> unclaimed_connects_;
};

struct DeathSubscription::Owner {
    std::weak_ptr<Context::Impl> context;
};

}  // namespace liteipc
