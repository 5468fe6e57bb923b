// `liteipc list` and `liteipc status`: the registry as text, and one JSON document with the
// process table, the services, what each uid holds against its quotas and every refusal counted.
#include <unistd.h>

#include <cstdio>
#include <map>

#include "common/status_document.h"
#include "daemon.h"

namespace liteipc::loader {

namespace {

std::string hex(uint64_t value) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return text;
}

// The interface a service declared (liteipc-idl's stub); an empty report for one that declared none.
status::InterfaceReport interface_report(const liteipc_service& s) {
    if (s.contract_hash == 0 && s.interface_name[0] == '\0') return {};
    return {std::string(s.interface_name, strnlen(s.interface_name, sizeof s.interface_name)), hex(s.interface_hash),
            hex(s.contract_hash), s.interface_version};
}

}  // namespace

namespace {

// Pools are hugetlb memfds when hugepages are reserved, shared memory otherwise: say which.
status::HugepageReport hugepage_report() {
    long total = 0, free = 0;
    if (FILE* meminfo = std::fopen("/proc/meminfo", "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, meminfo)) {
            std::sscanf(line, "HugePages_Total: %ld", &total);
            std::sscanf(line, "HugePages_Free: %ld", &free);
        }
        std::fclose(meminfo);
    }
    return {total, free,
            free > 0 ? "hugetlb 2 MiB pages"
                     : "shared memory (no free hugepages: reserve some in /proc/sys/vm/nr_hugepages)"};
}

}  // namespace

std::string Daemon::list_text() const {
    std::string text;
    kernel_->for_each_service([&](uint32_t handle, const liteipc_service& s) {
        text += std::to_string(handle) + "\t" + s.name + "\t" + std::to_string(s.owner_tgid) + "\t" +
                std::to_string(s.owner_uid) + "\n";
    });
    return text;
}

std::string Daemon::status_json() const {
    status::StatusDocument doc;
    doc.loader_pid = static_cast<uint32_t>(::getpid());
    doc.abi_version = LITEIPC_ABI_VERSION;
    doc.pin_root = options_.pin_root;
    doc.socket = options_.socket_path;

    // What each uid holds, against the quotas in force.
    std::map<uint32_t, status::UidCounts> usage;
    for (uint32_t slot = 0; slot < LITEIPC_MAX_PROCS; ++slot) {
        const liteipc_proc& p = kernel_->proc(slot);
        if (p.state == LITEIPC_PROC_FREE) continue;
        const bool alive = p.state == LITEIPC_PROC_ALIVE;
        ++(alive ? doc.processes_alive : doc.processes_dead);
        if (alive) ++usage[p.uid].processes;
        doc.processes.push_back({slot, p.tgid, p.uid, p.generation, alive ? "alive" : "dead"});
    }
    for (const auto& [fd, client] : registry_.clients) ++usage[client.uid].sockets;
    for (const auto& [handle, record] : book_.services) ++usage[record.owner_uid].services;
    for (const auto& [name, topic] : book_.topics) usage[topic.creator_uid].services += topic.publisher_handle == 0;
    for (const auto& [key, record] : book_.grants) ++usage[record.grantor_uid].grants;
    for (const auto& waiting : book_.waiting_grants) ++usage[waiting.grantor_uid].grants;
    for (const auto& [id, p] : broker_.pending) {
        if (p.client_socket >= 0) ++usage[p.client_uid].pending_channels;
        if (p.service_socket >= 0) ++usage[p.service_uid].pending_channels;
    }
    kernel_->for_each_usage([&](uint32_t uid, const liteipc_uid_usage& u) {
        if (u.conns) usage[uid].connections = u.conns;
        if (u.subs) usage[uid].subscriptions = u.subs;
    });
    for (const auto& [uid, held] : usage) doc.uids.push_back({uid, held});

    const Quotas& q = config_.quotas;
    doc.quotas = {q.processes, q.sockets, q.services, q.connections, q.pending_channels, q.grants, q.subscriptions};
    // The loader counts most refusals; the BPF programs count those they make.
    doc.refused = refused_;
    doc.refused.quota_connections = kernel_->counter(LITEIPC_COUNTER_QUOTA_CONNS);
    doc.refused.quota_subscriptions = kernel_->counter(LITEIPC_COUNTER_QUOTA_SUBS);
    doc.refused.reserve_connections = kernel_->counter(LITEIPC_COUNTER_RESERVE_CONNS);
    doc.refused.reserve_subscriptions = kernel_->counter(LITEIPC_COUNTER_RESERVE_SUBS);
    doc.refused.interface_mismatch = kernel_->counter(LITEIPC_COUNTER_INTERFACE_MISMATCH);
    doc.refused.publisher_refused = kernel_->counter(LITEIPC_COUNTER_PUBLISHER_REFUSED);
    doc.refused.stamp_refused = kernel_->counter(LITEIPC_COUNTER_STAMP_REFUSED);
    // The name policy in force, so that a component can check that its names are reserved for it
    // (liteipc-bridge: every rule matching remote.* names its own uid).
    doc.name_policy.config = options_.config_path;
    doc.name_policy.unlisted_names = config_.names.unlisted_anyone ? "anyone" : "nobody";
    for (const OwnRule& rule : config_.names.rules) doc.name_policy.rules.push_back({rule.pattern, rule.owner()});

    kernel_->for_each_service([&](uint32_t handle, const liteipc_service& s) {
        auto stats = kernel_->stats(handle).value_or(liteipc_svc_stats{});
        auto traffic = kernel_->traffic(handle).value_or(liteipc_svc_traffic{});
        status::ServiceEntry service{
            .handle = handle,
            .name = std::string(s.name, strnlen(s.name, sizeof s.name)),
            .pid = s.owner_tgid,
            .uid = s.owner_uid,
            .policy = s.policy,
            .uid_min = s.uid_min,
            .uid_max = s.uid_max,
            .mode = service_mode_name(s.mode),
            .interface = interface_report(s),
            .clients = {},
            .counters = {traffic.calls, traffic.oneway, traffic.bytes, traffic.errors, traffic.timeouts,
                         traffic.dead_object, stats.denials, stats.connects, stats.disconnects}};
        if (auto topic = kernel_->topic(s.name)) {
            service.publisher_policy = topic->policy;
            service.publisher_uid_min = topic->uid_min;
            service.publisher_uid_max = topic->uid_max;
            service.publisher_creator_uid = topic->creator_uid;
        }
        kernel_->for_each_conn([&](uint64_t conn_id, const liteipc_conn& c) {
            if (c.handle == handle) service.clients.push_back({conn_id, c.client_pid, c.client_uid, c.client_gid});
        });
        doc.services.push_back(std::move(service));
    });
    // The global tables: what uids other than root hold of the room root's reserve leaves them.
    for (const TableUse& t : table_use())
        doc.tables.push_back({t.name, t.capacity, t.reserve, t.members, t.near_full()});
    // Each watcher's own queue and loss: a slow watcher's loss is counted against it alone.
    for (const auto& [fd, client] : registry_.clients)
        if (client.watching_monitor)
            doc.monitor_watchers.push_back({static_cast<uint32_t>(client.pid), client.uid,
                                            client.monitor_queue.size(), client.monitor_dropped});
    doc.deaths_seen = registry_.deaths_seen;
    doc.records_lost = kernel_->lost_records();
    doc.monitor_lost = kernel_->counter(LITEIPC_COUNTER_MONITOR_LOST);
    doc.sockets = registry_.clients.size();
    doc.max_sockets = socket_capacity();
    kernel_->for_each_conn([&](uint64_t, const liteipc_conn&) { ++doc.connections; });
    doc.pending_channels = broker_.pending.size();
    doc.grants = book_.grants.size() + book_.waiting_grants.size();
    doc.hugepages = hugepage_report();
    return status::dump(doc);
}

}  // namespace liteipc::loader
