// `liteipc list` and `liteipc status`: the registry as text, and one JSON document with the
// process table, the services, what each uid holds against its quotas and every refusal counted.
#include <unistd.h>

#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "daemon.h"

namespace liteipc::loader {


namespace {

// ordered_json: the document reads top-down (loader, counters, quotas, tables), not sorted.
using Json = nlohmann::ordered_json;
std::string hex(uint64_t value) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return text;
}

// The interface a service declared (liteipc-idl's stub); null for one that declared none.
Json interface_json(const liteipc_service& s) {
    if (s.contract_hash == 0 && s.interface_name[0] == '\0') return nullptr;
    return {{"name", std::string(s.interface_name, strnlen(s.interface_name, sizeof s.interface_name))},
            {"hash", hex(s.interface_hash)},
            {"contract", hex(s.contract_hash)},
            {"version", s.interface_version}};
}

// Pools are hugetlb memfds when hugepages are reserved, shared memory otherwise: say which.
Json hugepages_json() {
    long total = 0, free = 0;
    if (FILE* meminfo = std::fopen("/proc/meminfo", "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, meminfo)) {
            std::sscanf(line, "HugePages_Total: %ld", &total);
            std::sscanf(line, "HugePages_Free: %ld", &free);
        }
        std::fclose(meminfo);
    }
    return {{"total", total},
            {"free", free},
            {"pool_backing", free > 0 ? "hugetlb 2 MiB pages"
                                      : "shared memory (no free hugepages: reserve some in /proc/sys/vm/nr_hugepages)"}};
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
    std::size_t alive = 0, dead = 0;
    Json procs = Json::array();
    // What each uid holds, against the quotas in force.
    struct Usage {
        uint64_t processes = 0, sockets = 0, services = 0, connections = 0, pending_channels = 0, grants = 0,
                 subscriptions = 0;
    };
    std::map<uint32_t, Usage> usage;
    for (uint32_t slot = 0; slot < LITEIPC_MAX_PROCS; ++slot) {
        const liteipc_proc& p = kernel_->proc(slot);
        if (p.state == LITEIPC_PROC_FREE) continue;
        (p.state == LITEIPC_PROC_ALIVE ? alive : dead)++;
        if (p.state == LITEIPC_PROC_ALIVE) ++usage[p.uid].processes;
        procs.push_back({{"slot", slot},
                         {"pid", p.tgid},
                         {"uid", p.uid},
                         {"generation", p.generation},
                         {"state", p.state == LITEIPC_PROC_ALIVE ? "alive" : "dead"}});
    }
    for (const auto& [fd, client] : clients_) ++usage[client.uid].sockets;
    for (const auto& [handle, record] : services_) ++usage[record.owner_uid].services;
    for (const auto& [key, record] : grants_) ++usage[record.grantor_uid].grants;
    for (const auto& waiting : waiting_grants_) ++usage[waiting.grantor_uid].grants;
    for (const auto& [id, p] : pending_channels_) {
        if (p.client_socket >= 0) ++usage[p.client_uid].pending_channels;
        if (p.service_socket >= 0) ++usage[p.service_uid].pending_channels;
    }
    kernel_->for_each_usage([&](uint32_t uid, const liteipc_uid_usage& u) {
        if (u.conns) usage[uid].connections = u.conns;
        if (u.subs) usage[uid].subscriptions = u.subs;
    });
    Json uids = Json::array();
    for (const auto& [uid, u] : usage)
        uids.push_back({{"uid", uid},
                        {"processes", u.processes},
                        {"sockets", u.sockets},
                        {"services", u.services},
                        {"connections", u.connections},
                        {"pending_channels", u.pending_channels},
                        {"grants", u.grants},
                        {"subscriptions", u.subscriptions}});
    const Quotas& q = config_.quotas;
    Json quotas = {{"processes", q.processes},   {"sockets", q.sockets},
                   {"services", q.services},     {"connections", q.connections},
                   {"pending_channels", q.pending_channels}, {"grants", q.grants},
                   {"subscriptions", q.subscriptions}};
    const RefusalCounters& r = refused_;
    Json refusals = {{"quota_processes", r.quota_processes},
                     {"quota_sockets", r.quota_sockets},
                     {"quota_services", r.quota_services},
                     {"quota_connections", kernel_->counter(LITEIPC_COUNTER_QUOTA_CONNS)},
                     {"interface_mismatch", kernel_->counter(LITEIPC_COUNTER_INTERFACE_MISMATCH)},
                     {"quota_pending_channels", r.quota_pending_channels},
                     {"quota_grants", r.quota_grants},
                     {"quota_subscriptions", kernel_->counter(LITEIPC_COUNTER_QUOTA_SUBS)},
                     {"identity", r.identity},
                     {"dead_at_hello", r.dead_at_hello},
                     {"name_policy", r.name_policy},
                     {"slow_clients", r.slow_clients},
                     {"at_fd_limit", r.at_fd_limit},
                     {"expired_channels", r.expired_channels},
                     {"stale_slots", r.stale_slots},
                     {"quota_watchers", r.quota_watchers},
                     {"reserve_processes", r.reserve_processes},
                     {"reserve_services", r.reserve_services},
                     {"reserve_connections", kernel_->counter(LITEIPC_COUNTER_RESERVE_CONNS)},
                     {"reserve_grants", r.reserve_grants},
                     {"withdrawn_by_name_policy", r.withdrawn_by_name_policy}};
    // The name policy in force, so that a component can check that its names are reserved for it
    // (liteipc-bridge: every rule matching remote.* names its own uid).
    Json rules = Json::array();
    for (const OwnRule& rule : config_.names.rules) rules.push_back({{"name", rule.pattern}, {"owner", rule.owner()}});
    Json name_policy = {{"config", options_.config_path},
                        {"unlisted_names", config_.names.unlisted_anyone ? "anyone" : "nobody"},
                        {"rules", rules}};

    Json services = Json::array();
    kernel_->for_each_service([&](uint32_t handle, const liteipc_service& s) {
        auto stats = kernel_->stats(handle).value_or(liteipc_svc_stats{});
        auto traffic = kernel_->traffic(handle).value_or(liteipc_svc_traffic{});
        Json clients = Json::array();
        kernel_->for_each_conn([&](uint64_t conn_id, const liteipc_conn& c) {
            if (c.handle == handle)
                clients.push_back({{"conn_id", conn_id}, {"pid", c.client_pid}, {"uid", c.client_uid},
                                   {"gid", c.client_gid}});
        });
        services.push_back({{"handle", handle},
                            {"name", std::string(s.name, strnlen(s.name, sizeof s.name))},
                            {"pid", s.owner_tgid},
                            {"uid", s.owner_uid},
                            {"policy", s.policy},
                            {"uid_min", s.uid_min},
                            {"uid_max", s.uid_max},
                            {"mode", s.mode == LITEIPC_SVC_MODE_MEDIATED ? "mediated" : "direct"},
                            {"interface", interface_json(s)},
                            {"clients", clients},
                            {"counters", {{"calls", traffic.calls},
                                          {"oneway", traffic.oneway},
                                          {"bytes", traffic.bytes},
                                          {"errors", traffic.errors},
                                          {"timeouts", traffic.timeouts},
                                          {"dead_object", traffic.dead_object},
                                          {"denials", stats.denials},
                                          {"connects", stats.connects},
                                          {"disconnects", stats.disconnects}}}});
    });
    // The global tables: what uids other than root hold of the room root's reserve leaves them.
    Json tables = Json::object();
    for (const TableUse& t : table_use())
        tables[t.name] = {{"capacity", t.capacity},
                          {"reserve", t.reserve},
                          {"members", t.members},
                          {"near_full", t.near_full()}};
    // Each watcher's own queue and loss: a slow watcher's loss is counted against it alone.
    Json watchers = Json::array();
    for (const auto& [fd, client] : clients_)
        if (client.watching_monitor)
            watchers.push_back({{"pid", client.pid},
                                {"uid", client.uid},
                                {"queued", client.monitor_queue.size()},
                                {"dropped", client.monitor_dropped}});
    std::size_t conns = 0;
    kernel_->for_each_conn([&](uint64_t, const liteipc_conn&) { ++conns; });
    Json document = {{"loader_pid", ::getpid()},
                     {"abi_version", LITEIPC_ABI_VERSION},
                     {"pin_root", options_.pin_root},
                     {"socket", options_.socket_path},
                     {"processes_alive", alive},
                     {"processes_dead", dead},
                     {"deaths_seen", deaths_seen_},
                     {"records_lost", kernel_->lost_records()},
                     {"monitor_lost", kernel_->counter(LITEIPC_COUNTER_MONITOR_LOST)},
                     {"monitor_watchers", watchers},
                     {"sockets", clients_.size()},
                     {"max_sockets", max_clients_},
                     {"connections", conns},
                     {"pending_channels", pending_channels_.size()},
                     {"grants", grants_.size() + waiting_grants_.size()},
                     {"quotas", quotas},
                     {"tables", tables},
                     {"refused", refusals},
                     {"name_policy", name_policy},
                     {"uids", uids},
                     {"hugepages", hugepages_json()},
                     {"processes", procs},
                     {"services", services}};
    // error_handler::replace: paths come from the command line and may hold any byte.
    return document.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace liteipc::loader
