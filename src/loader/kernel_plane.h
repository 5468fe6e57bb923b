// The loader's handle on liteipc's BPF objects: open -> configure -> load -> attach -> pin, or
// adopt what an earlier loader pinned. Typed access to the maps it writes.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "liteipc/error.h"
#include "liteipc_abi.h"
#include "common/mapping.h"
#include "kernel/bpf_skeleton.h"
#include "kernel/ring_buffer.h"

struct liteipc_bpf;

namespace liteipc::loader {

using detail::UniqueFd;

struct KernelPlaneOptions {
    std::string pin_root;  // e.g. /sys/fs/bpf/liteipc
    gid_t group = 0;       // members may use what clients need; 0 = root only
};

struct Registration {
    uint32_t slot;
    uint64_t generation;
};

class KernelPlane {
public:
    // Loads and attaches, or adopts pinned state left by an earlier loader on the same root.
    static Result<std::unique_ptr<KernelPlane>> start(const KernelPlaneOptions& options);
    // Detaches everything and removes the pins under `pin_root`; refuses while a loader holds
    // the pin root's instance lock.
    static Result<> unload(const std::string& pin_root);
    // One loader per pin root: an exclusive flock on the root directory, held for the loader's life.
    static Result<UniqueFd> lock_pin_root(const std::string& pin_root);

    ~KernelPlane();
    KernelPlane(const KernelPlane&) = delete;
    KernelPlane& operator=(const KernelPlane&) = delete;

    bool adopted() const { return adopted_; }

    // Process table, read through a read-only mapping of the frozen map.
    const liteipc_proc& proc(uint32_t slot) const { return procs_[slot]; }
    std::optional<uint32_t> slot_of(pid_t tgid) const;
    std::optional<uint32_t> free_slot() const;

    Result<Registration> register_proc(uint32_t slot, pid_t tgid, uid_t uid, gid_t gid, uint64_t start_time);
    Result<> close_proc(uint32_t slot, uint64_t generation);    // orderly close: notifies subscribers
    Result<> reclaim_proc(uint32_t slot, uint64_t generation);  // after a death was handled

    // Inboxes: one ring buffer per slot, created here because unprivileged processes cannot.
    Result<UniqueFd> create_inbox(uint32_t slot);
    Result<UniqueFd> inbox_of(uint32_t slot) const;
    void drop_inbox(uint32_t slot);
    // A mediated connection's message ring, which the send program writes and the service reads.
    // Dropped with the connection (drop_conn).
    Result<UniqueFd> create_message_ring(uint64_t conn_id);

    // Service registry.
    Result<> put_service(uint32_t handle, const liteipc_service& service);
    Result<> drop_service(uint32_t handle, const char* name);
    std::optional<liteipc_service> service(uint32_t handle) const;
    std::optional<uint32_t> handle_of(const char* name) const;
    // Topic records, by name: who may publish (liteipc_topic).
    Result<> put_topic(const char* name, const liteipc_topic& topic);
    void drop_topic(const char* name);
    std::optional<liteipc_topic> topic(const char* name) const;
    void for_each_topic(const std::function<void(const std::string&, const liteipc_topic&)>& visit) const;
    Result<> put_grant(const liteipc_grant_key& key, const liteipc_grant& grant);
    void drop_grant(const liteipc_grant_key& key);
    void for_each_grant(const std::function<void(const liteipc_grant_key&, const liteipc_grant&)>& visit) const;
    void for_each_service(const std::function<void(uint32_t, const liteipc_service&)>& visit) const;
    std::optional<liteipc_svc_stats> stats(uint32_t handle) const;
    // The service's data-plane counters: a BTF-typed mmapable array its owner maps read-write.
    Result<UniqueFd> create_traffic_counters(uint32_t handle);
    std::optional<liteipc_svc_traffic> traffic(uint32_t handle) const;
    // BPF cannot delete from a hash of maps: the loader drops a gone service's counters, and
    // after a restart those of services that went while no loader ran.
    void drop_traffic_counters(uint32_t handle);
    void drop_orphan_traffic_counters();
    uint64_t lost_records() const;
    // Monitor records flow while this is non-zero: the number of sockets watching.
    Result<> set_watchers(uint64_t watchers);
    uint64_t counter(liteipc_counter which) const;
    // Per-uid quotas the kernel plane enforces (connections, subscriptions); 0 = no limit.
    Result<> set_limit(liteipc_limit which, uint64_t value);
    liteipc_uid_usage usage_of(uid_t uid) const;
    void for_each_usage(const std::function<void(uint32_t, const liteipc_uid_usage&)>& visit) const;
    Result<uint32_t> next_handle();  // 1, 2, ...: handle 0 is the service manager

    // Connections the connect program approved.
    std::optional<liteipc_conn> conn(uint64_t conn_id) const;
    void drop_conn(uint64_t conn_id);  // and returns it to its uid's quota
    void for_each_conn(const std::function<void(uint64_t, const liteipc_conn&)>& visit) const;

    // Subscriptions a dead or closed process held on others: the exit program skips them (their
    // subscriber generation is stale), this removes them so the table does not fill up.
    void drop_subscriptions_of(uint32_t subscriber_slot);

    // The monitor ring, drained by the loader alone (pinned 0600): `on_record` runs for each
    // record, and the loader gives each watcher its own copy.
    Result<> watch_monitor(std::function<void(const liteipc_monitor_record&)> on_record);
    int monitor_epoll_fd() const;
    void consume_monitor();

    // Death records for the loader. `on_death` runs for each consumed record.
    Result<> watch_deaths(std::function<void(const liteipc_death_record&)> on_death);
    int deaths_epoll_fd() const;
    Result<int> consume_deaths();

private:
    KernelPlane() = default;
    Result<> load_or_adopt(const KernelPlaneOptions& options);
    Result<> pin_programs(const KernelPlaneOptions& options);
    Result<> attach_exit_tracepoint(const std::string& pin_root);
    Result<> set_permissions(const KernelPlaneOptions& options);
    Result<> run_proc_ctl(liteipc_proc_ctl& ctl);

    // Declared first, destroyed last: the mapping and the rings are of its maps.
    detail::BpfSkeleton<liteipc_bpf> skel_;
    detail::Mapping procs_mapping_;
    const liteipc_proc* procs_ = nullptr;
    detail::RingBuffer deaths_;
    detail::RingBuffer monitor_;
    bool adopted_ = false;
};

}  // namespace liteipc::loader
