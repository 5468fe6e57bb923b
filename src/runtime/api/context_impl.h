// The inside of a Context, shared by the runtime's parts (services, connections, C API).
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <span>
#include <mutex>
#include <thread>
#include <vector>

#include "api/control_client.h"
#include "api/death_registry.h"
#include "api/inbox.h"
#include "common/control_protocol.h"
#include "kernel/kernel_seam.h"
#include "liteipc/context.h"
#include "liteipc_abi.h"

namespace liteipc {

// A process's context, composed of its parts: the control client (the loader's socket), the
// kernel seam (pins, process table, BPF programs), the death registry and the inbox thread that
// feeds it. Only the routing of connect records to services lives here.
struct Context::Impl : std::enable_shared_from_this<Context::Impl> {
    ~Impl();

    ContextOptions options;
    PeerId self;

    // One request at a time on the control socket (ControlClient). `timeout` 0 means the default.
    Result<ControlResponse> control(const detail::ControlRequest& request,
                                    std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
        return control_->request(request, timeout);
    }
    // A request on a socket of its own, for requests that wait on another process (connection
    // setup): they hold no lock and delay no other request. `fds` go with the request.
    Result<ControlResponse> control_once(const detail::ControlRequest& request, std::span<const int> fds,
                                         std::chrono::milliseconds timeout) {
        return control_->request_once(request, fds, timeout);
    }

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

    // Every pin, the process table and each run of a BPF program.
    const detail::KernelSeam& kernel() const { return kernel_; }

    Result<> start(ContextOptions opts);

private:
    Result<> hello(detail::UniqueFd& inbox);
    void on_record(std::span<const std::byte> record);

    std::optional<ControlClient> control_;
    detail::KernelSeam kernel_;
    DeathRegistry deaths_{kernel_};

    std::mutex connects_mutex_;
    std::map<uint32_t, std::function<void(const liteipc_connect_record&)>> connect_listeners_;
    std::size_t registrations_under_way_ = 0;
    std::vector<liteipc_connect_record> unclaimed_connects_;

    // Last: destroyed first, its thread stopped before the parts its handlers use.
    Inbox inbox_;
};

struct DeathSubscription::Owner {
    std::weak_ptr<Context::Impl> context;
};

}  // namespace liteipc
