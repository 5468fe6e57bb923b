// `liteipc list` and `liteipc status`: the registry as text, and one JSON document with the
// process table, the services, what each uid holds against its quotas and every refusal counted.
#include <unistd.h>

#include <cstdio>
#include <map>

#include "daemon.h"

namespace liteipc::loader {

namespace {

// Paths come from the command line and may hold any byte; names are validated printable ASCII.
std::string json_string(const std::string& raw) {
    std::string out = "\"";
    for (unsigned char c : raw) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c > 0x7e) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// Pools are hugetlb memfds when hugepages are reserved, shared memory otherwise: say which.
std::string hugepages_json() {
    long total = 0, free = 0;
    if (FILE* meminfo = std::fopen("/proc/meminfo", "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, meminfo)) {
            std::sscanf(line, "HugePages_Total: %ld", &total);
            std::sscanf(line, "HugePages_Free: %ld", &free);
        }
        std::fclose(meminfo);
    }
    return "{\"total\":" + std::to_string(total) + ",\"free\":" + std::to_string(free) + ",\"pool_backing\":\"" +
           (free > 0 ? "hugetlb 2 MiB pages" : "shared memory (no free hugepages: reserve some in /proc/sys/vm/nr_hugepages)") +
           "\"}";
}

std::string field(const char* name, uint64_t value) { return std::string("\"") + name + "\":" + std::to_string(value); }

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
    std::string procs;
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
        if (!procs.empty()) procs += ",";
        procs += "{\"slot\":" + std::to_string(slot) + ",\"pid\":" + std::to_string(p.tgid) +
                 ",\"uid\":" + std::to_string(p.uid) + ",\"generation\":" + std::to_string(p.generation) +
                 ",\"state\":\"" + (p.state == LITEIPC_PROC_ALIVE ? "alive" : "dead") + "\"}";
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
    std::string uids;
    for (const auto& [uid, u] : usage) {
        if (!uids.empty()) uids += ",";
        uids += "{" + field("uid", uid) + "," + field("processes", u.processes) + "," + field("sockets", u.sockets) +
                "," + field("services", u.services) + "," + field("connections", u.connections) + "," +
                field("pending_channels", u.pending_channels) + "," + field("grants", u.grants) + "," +
                field("subscriptions", u.subscriptions) + "}";
    }
    const Quotas& q = config_.quotas;
    std::string quotas = "{" + field("processes", q.processes) + "," + field("sockets", q.sockets) + "," +
                         field("services", q.services) + "," + field("connections", q.connections) + "," +
                         field("pending_channels", q.pending_channels) + "," + field("grants", q.grants) + "," +
                         field("subscriptions", q.subscriptions) + "}";
    const RefusalCounters& r = refused_;
    std::string refusals =
        "{" + field("quota_processes", r.quota_processes) + "," + field("quota_sockets", r.quota_sockets) + "," +
        field("quota_services", r.quota_services) + "," +
        field("quota_connections", kernel_->counter(LITEIPC_COUNTER_QUOTA_CONNS)) + "," +
        field("quota_pending_channels", r.quota_pending_channels) + "," + field("quota_grants", r.quota_grants) + "," +
        field("quota_subscriptions", kernel_->counter(LITEIPC_COUNTER_QUOTA_SUBS)) + "," +
        field("identity", r.identity) + "," + field("dead_at_hello", r.dead_at_hello) + "," +
        field("name_policy", r.name_policy) + "," + field("slow_clients", r.slow_clients) + "," +
        field("at_fd_limit", r.at_fd_limit) + "," + field("expired_channels", r.expired_channels) + "," +
        field("stale_slots", r.stale_slots) + "}";

    std::string services;
    kernel_->for_each_service([&](uint32_t handle, const liteipc_service& s) {
        auto stats = kernel_->stats(handle).value_or(liteipc_svc_stats{});
        if (!services.empty()) services += ",";
        services += "{\"handle\":" + std::to_string(handle) + ",\"name\":\"" + s.name +
                    "\",\"pid\":" + std::to_string(s.owner_tgid) + ",\"uid\":" + std::to_string(s.owner_uid) +
                    ",\"policy\":" + std::to_string(s.policy) + ",\"connects\":" + std::to_string(stats.connects) +
                    ",\"denied\":" + std::to_string(stats.denied) + "}";
    });
    std::size_t conns = 0;
    kernel_->for_each_conn([&](uint64_t, const liteipc_conn&) { ++conns; });
    return "{\"loader_pid\":" + std::to_string(::getpid()) + ",\"abi_version\":" + std::to_string(LITEIPC_ABI_VERSION) +
           ",\"pin_root\":" + json_string(options_.pin_root) + ",\"socket\":" + json_string(options_.socket_path) +
           ",\"processes_alive\":" + std::to_string(alive) + ",\"processes_dead\":" + std::to_string(dead) +
           ",\"deaths_seen\":" + std::to_string(deaths_seen_) + ",\"records_lost\":" +
           std::to_string(kernel_->lost_records()) + "," + field("sockets", clients_.size()) + "," +
           field("max_sockets", max_clients_) + "," + field("connections", conns) + "," +
           field("pending_channels", pending_channels_.size()) + "," + field("grants", grants_.size() + waiting_grants_.size()) +
           ",\"quotas\":" + quotas + ",\"refused\":" + refusals + ",\"uids\":[" + uids +
           "],\"hugepages\":" + hugepages_json() + ",\"processes\":[" + procs + "],\"services\":[" + services + "]}";
}

}  // namespace liteipc::loader
