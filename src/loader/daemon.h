// liteipc-loader: the event loop over the control socket, registration of processes into the
// process table, the service manager (handle 0), the channel broker, and the reclaiming of what
// dead processes leave. One thread; it never waits on a client.
//
// Each role owns its state and the Daemon composes them: ControlEndpoint (control_io.h: the socket,
// epoll, signals), Registry (registry.h: the control clients), ServiceBook (service_manager.h:
// services and grants), ChannelBroker (channel_broker.h: connections half set up) and the
// KernelPlane (kernel_plane.h: the maps and programs). The member functions live by role:
// daemon.cpp (start, event loop, client IO), registry.cpp (identity and registration),
// service_manager.cpp (names, policy, grants, quotas), channel_broker.cpp (the two halves of a
// connection), status_document.cpp (list and status).
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "channel_broker.h"
#include "config.h"
#include "control_io.h"
#include "common/control_protocol.h"
#include "common/status_document.h"
#include "kernel_plane.h"
#include "registry.h"
#include "service_manager.h"
#include "common/unix_socket.h"

namespace liteipc::loader {

// How `list`, `status` and the log name a service's mode.
inline const char* service_mode_name(uint32_t mode) {
    switch (mode) {
        case LITEIPC_SVC_MODE_MEDIATED: return "mediated";
        case LITEIPC_SVC_MODE_TOPIC: return "topic";
        case LITEIPC_SVC_MODE_MEDIATED_TOPIC: return "mediated-topic";
        default: return "direct";
    }
}

inline bool is_topic_mode(uint32_t mode) {
    return mode == LITEIPC_SVC_MODE_TOPIC || mode == LITEIPC_SVC_MODE_MEDIATED_TOPIC;
}

struct DaemonOptions {
    std::string pin_root = detail::kDefaultPinRoot;
    std::string socket_path = detail::kDefaultControlSocket;
    std::string group = "liteipc";
    std::string config_path = kDefaultConfigPath;
    bool config_given = false;  // a --config that is missing is an error; the default path may be absent
};

// How full one global table is: what all uids but root hold against the room the reserve leaves them.
struct TableUse {
    const char* name;
    uint64_t capacity, reserve, members;
    bool full() const { return members >= capacity - reserve; }
    bool near_full() const { return members * 10 >= (capacity - reserve) * 9; }
};

class Daemon {
public:
    static Result<std::unique_ptr<Daemon>> start(const DaemonOptions& options);
    ~Daemon();
    // Serves until SIGTERM or SIGINT; SIGHUP re-reads the config.
    Result<> run();

private:
    using Clock = std::chrono::steady_clock;


    explicit Daemon(DaemonOptions options) : options_(std::move(options)) {}

    // daemon.cpp: start, loop, IO
    Result<> listen();
    Result<> apply_config(LoaderConfig config);
    void reload_config();
    void accept_clients();
    bool drop_hung_up_clients();
    void refuse_socket(UniqueFd socket, Errc code, const std::string& why);
    void serve_client(int fd);
    void flush_outbox(ClientSocket& client);
    void drop_client(int fd);
    void queue_reply(int socket, detail::ControlReply reply, std::vector<UniqueFd> fds, const std::string& text = {});
    void arm_channel_timer();
    void expire_channels();
    // processes, services, connections, grants, control sockets, death subscriptions.
    std::array<TableUse, 6> table_use() const;
    // Control sockets served at once: the fd limit's room, or max_sockets when that is less.
    std::size_t socket_capacity() const;
    // Logs a table that came near full (once, until it is below 80% again).
    void check_headroom();

    // registry.cpp: who is asking, registration, reclaiming
    std::optional<detail::ControlReply> check_sender(ClientSocket& client, const detail::ReceivedMessage& message);
    bool attribute(ClientSocket& client);
    detail::ControlReply hello(ClientSocket& client, std::vector<UniqueFd>& fds);
    void adopt_registered();
    bool same_process(uint32_t slot) const;
    void on_death(const liteipc_death_record& record);
    void reclaim(uint32_t slot, uint64_t generation);
    void release_holdings_of(uint32_t slot, uint64_t generation);

    // service_manager.cpp
    void rebuild_records();
    // The reply carries the service's traffic counters (an mmapable map fd) for its owner.
    detail::ControlReply register_service(ClientSocket& client, const detail::ControlRequest& request,
                                          std::vector<UniqueFd>& fds);
    detail::ControlReply unregister_service(ClientSocket& client, const detail::ControlRequest& request);
    detail::ControlReply lookup(const detail::ControlRequest& request);
    // Needs no registration: `liteipc monitor` only reads.
    detail::ControlReply watch_monitor(ClientSocket& client);
    void fan_out(const liteipc_monitor_record& record);
    // Sends what fits of the watcher's queue, once its replies are out; never waits.
    void flush_monitor(ClientSocket& client);
    detail::ControlReply grant(ClientSocket& client, const detail::ControlRequest& request);
    // remove_access / remove_uid: the owner withdraws any grant, a holder only one it made.
    detail::ControlReply withdraw(ClientSocket& client, const detail::ControlRequest& request, const liteipc_service& service,
                                  bool owner);
    // Owner aside, a process holds a reference when it was granted one or is connected to it.
    bool holds_reference(uint32_t slot, uint64_t generation, uid_t uid, uint32_t handle) const;
    // The grants a process made (on one handle, or all) end with it, and so do those its grantees
    // made if they hold the reference no other way; the kernel refuses their holders from the next
    // message on.
    void drop_grants_made_by(uint32_t slot, uint64_t generation, std::optional<uint32_t> only_handle = std::nullopt);
    void forget_service(uint32_t handle);
    void grant_waiting(const ClientSocket& registered);
    // After a reload and at start: every registered name is checked against the policy in force.
    void enforce_name_policy(const char* when);

    // topic_policy.cpp: who may publish on a topic
    bool publisher_admitted(const liteipc_topic& topic, uid_t uid, uint32_t slot, uint64_t generation) const;
    // Before a registration: a name with a topic record goes only to a publisher its policy admits.
    std::optional<detail::ControlReply> check_publisher(const ClientSocket& client, const detail::ControlRequest& request);
    // After a topic's registration: its record (made now if it is the first) names the publisher.
    Result<> bind_topic(const ClientSocket& client, const detail::ControlRequest& request, uint32_t handle);
    void note_subscriber(uint32_t handle, uint32_t slot, uint64_t generation);
    void vacate_topic(uint32_t handle);  // its publisher went: the record stays for who subscribed
    void forget_subscriber(uint32_t slot, uint64_t generation);
    void drop_unwaited_topics();
    void rebuild_topics();
    detail::ControlReply publisher_grant(ClientSocket& client, const detail::ControlRequest& request);

    // channel_broker.cpp
    // open_channel / accept_channel: nullopt when the reply waits for the other half.
    std::optional<detail::ControlReply> channel_half(ClientSocket& client, const detail::ControlRequest& request,
                                                     std::vector<UniqueFd>& fds);
    detail::ControlReply close_channel(ClientSocket& client, const detail::ControlRequest& request);
    void abandon_pending_of(int socket);
    // Tells whichever half waits why the connection will not be set up, and forgets it.
    void end_pending(uint64_t conn_id, Errc code, int err, const std::string& why);

    // status_document.cpp
    std::string list_text() const;
    std::string status_json() const;

    // What the roles share: the options and config in force, the kernel plane, the refusals counted.
    DaemonOptions options_;
    LoaderConfig config_;
    std::unique_ptr<KernelPlane> kernel_;
    status::RefusalCounters refused_;  // what `liteipc status` counts: every refusal the trust rules make
    std::array<bool, 6> near_full_logged_{};  // by table_use() index
    // Each role's own state.
    ControlEndpoint io_;
    Registry registry_;
    ServiceBook book_;
    ChannelBroker broker_;
};

// A refusal: result -err, the named error, a log line.
detail::ControlReply refuse(Errc code, int err, const std::string& why);
// A member's request that would take one of the slots a table keeps for root.
detail::ControlReply refuse_reserved(const TableUse& table);
std::string reserve_message(const TableUse& table);

}  // namespace liteipc::loader
