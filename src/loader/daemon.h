// liteipc-loader: the event loop over the control socket, registration of processes into the
// process table, the service manager (handle 0), the channel broker, and the reclaiming of what
// dead processes leave. One thread; it never waits on a client.
//
// The member functions live by role: daemon.cpp (start, event loop, client IO), registry.cpp
// (identity and registration), service_manager.cpp (names, policy, grants, quotas),
// channel_broker.cpp (the two halves of a connection), status_document.cpp (list and status).
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

#include "config.h"
#include "control_io.h"
#include "common/control_protocol.h"
#include "common/status_document.h"
#include "kernel_plane.h"
#include "common/unix_socket.h"

namespace liteipc::loader {

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

    struct Client {
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
    // What one watcher may leave unread (80 KiB) and how many watchers one uid may have.
    static constexpr std::size_t kMonitorQueueRecords = 1024;
    static constexpr std::size_t kWatchersPerUid = 4;

    // A connection whose two halves are not both in yet.
    struct PendingChannel {
        int client_socket = -1;
        uint64_t client_request_id = 0;
        UniqueFd ctrl, request_pool;
        int service_socket = -1;
        uint64_t service_request_id = 0;
        UniqueFd reply_pool;
        uid_t client_uid = 0, service_uid = 0;  // whose pending quota each half counts against
        Clock::time_point deadline;
    };

    // What the loader keeps beside the maps so that a death finds what to remove in memory.
    struct ServiceOwner {
        uint32_t owner_slot;
        uint64_t owner_generation;
        uid_t owner_uid;
    };
    // A grant lasts as long as the process that made it: a reference passed on (OBJ_SVC) is not
    // worth more than its giver's own. The pinned grant records its grantor too (liteipc_grant), so
    // a loader that starts drops the grants of grantors that died while none ran.
    static constexpr uint32_t kUnknownGrantor = LITEIPC_UNKNOWN_GRANTOR;
    struct GrantRecord {
        uid_t grantor_uid;  // whose quota it counts against
        uint32_t grantor_slot = kUnknownGrantor;
        uint64_t grantor_generation = 0;
    };
    using GrantKey = std::tuple<uint32_t, uint32_t, uint32_t, uint64_t>;  // handle, kind, id, generation
    // A pid grant to a process not registered yet: bound to that process by a pidfd, it becomes a
    // slot grant when the process registers, and is void once the process exits.
    struct WaitingGrant {
        uint32_t handle;
        pid_t host_pid;
        UniqueFd pidfd;
        uid_t grantor_uid;
        uint32_t grantor_slot = kUnknownGrantor;
        uint64_t grantor_generation = 0;
    };

    explicit Daemon(DaemonOptions options) : options_(std::move(options)) {}

    // daemon.cpp: start, loop, IO
    Result<> listen();
    Result<> apply_config(LoaderConfig config);
    void reload_config();
    void accept_clients();
    bool drop_hung_up_clients();
    void refuse_socket(UniqueFd socket, Errc code, const std::string& why);
    void serve_client(int fd);
    void flush_outbox(Client& client);
    void drop_client(int fd);
    void queue_reply(int socket, detail::ControlReply reply, std::vector<UniqueFd> fds, const std::string& text = {});
    void arm_channel_timer();
    void expire_channels();
    std::size_t sockets_of(uid_t uid) const;
    // processes, services, connections, grants.
    std::array<TableUse, 4> table_use() const;
    // Logs a table that came near full (once, until it is below 80% again).
    void check_headroom();

    // registry.cpp: who is asking, registration, reclaiming
    std::optional<detail::ControlReply> check_sender(Client& client, const detail::ReceivedMessage& message);
    bool attribute(Client& client);
    detail::ControlReply hello(Client& client, std::vector<UniqueFd>& fds);
    void adopt_registered();
    bool same_process(uint32_t slot) const;
    void on_death(const liteipc_death_record& record);
    void reclaim(uint32_t slot, uint64_t generation);
    void release_holdings_of(uint32_t slot, uint64_t generation);

    // service_manager.cpp
    void rebuild_records();
    // The reply carries the service's traffic counters (an mmapable map fd) for its owner.
    detail::ControlReply register_service(Client& client, const detail::ControlRequest& request,
                                          std::vector<UniqueFd>& fds);
    detail::ControlReply unregister_service(Client& client, const detail::ControlRequest& request);
    detail::ControlReply lookup(const detail::ControlRequest& request);
    // Needs no registration: `liteipc monitor` only reads.
    detail::ControlReply watch_monitor(Client& client);
    void fan_out(const liteipc_monitor_record& record);
    // Sends what fits of the watcher's queue, once its replies are out; never waits.
    void flush_monitor(Client& client);
    detail::ControlReply grant(Client& client, const detail::ControlRequest& request);
    // remove_access / remove_uid: the owner withdraws any grant, a holder only one it made.
    detail::ControlReply withdraw(Client& client, const detail::ControlRequest& request, const liteipc_service& service,
                                  bool owner);
    // Owner aside, a process holds a reference when it was granted one or is connected to it.
    bool holds_reference(uint32_t slot, uint64_t generation, uid_t uid, uint32_t handle) const;
    // The grants a process made (on one handle, or all) end with it, and so do those its grantees
    // made if they hold the reference no other way; the kernel refuses their holders from the next
    // message on.
    void drop_grants_made_by(uint32_t slot, uint64_t generation, std::optional<uint32_t> only_handle = std::nullopt);
    void forget_service(uint32_t handle);
    void grant_waiting(const Client& registered);
    // After a reload and at start: every registered name is checked against the policy in force.
    void enforce_name_policy(const char* when);
    std::size_t services_of(uid_t uid) const;
    std::size_t grants_of(uid_t uid) const;

    // channel_broker.cpp
    // open_channel / accept_channel: nullopt when the reply waits for the other half.
    std::optional<detail::ControlReply> channel_half(Client& client, const detail::ControlRequest& request,
                                                     std::vector<UniqueFd>& fds);
    detail::ControlReply close_channel(Client& client, const detail::ControlRequest& request);
    void abandon_pending_of(int socket);
    // Tells whichever half waits why the connection will not be set up, and forgets it.
    void end_pending(uint64_t conn_id, Errc code, int err, const std::string& why);
    std::size_t pending_halves_of(uid_t uid) const;

    // status_document.cpp
    std::string list_text() const;
    std::string status_json() const;

    DaemonOptions options_;
    LoaderConfig config_;
    gid_t group_id_ = 0;
    std::unique_ptr<KernelPlane> kernel_;
    UniqueFd lock_;
    UniqueFd listener_;
    UniqueFd epoll_;
    UniqueFd signals_;
    UniqueFd channel_timer_;
    UniqueFd reserve_fd_;     // closed to accept-and-refuse one socket when at the fd limit
    std::size_t max_clients_ = 0;  // sockets the fd limit leaves room for
    bool created_socket_ = false;
    std::map<int, Client> clients_;  // by socket fd
    std::map<uint64_t, PendingChannel> pending_channels_;  // by conn_id
    std::map<uint32_t, ServiceOwner> services_;            // by handle
    std::map<GrantKey, GrantRecord> grants_;
    std::vector<WaitingGrant> waiting_grants_;
    uint64_t deaths_seen_ = 0;
    uint64_t monitor_watchers_ = 0;  // sockets with watching_monitor set
    status::RefusalCounters refused_;  // what `liteipc status` counts: every refusal the trust rules make
    std::array<bool, 4> near_full_logged_{};
};

// A refusal: result -err, the named error, a log line.
detail::ControlReply refuse(Errc code, int err, const std::string& why);
// A member's request that would take one of the slots a table keeps for root.
detail::ControlReply refuse_reserved(const TableUse& table);
std::string reserve_message(const TableUse& table);

}  // namespace liteipc::loader
