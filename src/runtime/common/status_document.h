// The loader's status document (`liteipc status --json` shows it, the bridge reads its name
// policy): one set of plain structs, written by the loader with to_json and read by the CLI and
// the bridge with parse_status_document. A field added here shows on both sides at once.
//
// Reading is strict: every field must be present with its type and in range, or the parse is
// Errc::malformed naming the field, so a loader/CLI version skew is reported, never shown as zeros.
#pragma once

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "liteipc/error.h"

namespace liteipc::status {

// ordered_json: the document reads top-down (loader, counters, quotas, tables), not sorted.
using Json = nlohmann::ordered_json;

struct ProcessEntry {
    uint32_t slot = 0;
    uint32_t pid = 0;
    uint32_t uid = 0;
    uint64_t generation = 0;
    std::string state;  // "alive" or "dead"
};

struct ConnectedClient {
    uint64_t conn_id = 0;
    uint32_t pid = 0;
    uint32_t uid = 0;
    uint32_t gid = 0;
};

// A service's counters: its owner's data plane, then the kernel's (denials, connects, disconnects).
struct ServiceCounters {
    uint64_t calls = 0, oneway = 0, bytes = 0, errors = 0, timeouts = 0, dead_object = 0;
    uint64_t denials = 0, connects = 0, disconnects = 0;
};

// The interface a service declared (liteipc-idl's stub): an empty name when it declared none.
// Hashes in hex, as liteipc-idl prints them.
struct InterfaceReport {
    std::string name;
    std::string hash;      // this version's
    std::string contract;  // its line's, which the kernel holds clients to at connect
    uint32_t version = 0;  // frozen version; 0: not frozen
};

struct ServiceEntry {
    uint32_t handle = 0;
    std::string name;
    uint32_t pid = 0;     // owner
    uint32_t uid = 0;     // owner's
    uint32_t policy = 0;  // enum liteipc_policy
    uint32_t uid_min = 0;
    uint32_t uid_max = 0;
    std::string mode;  // "direct", "mediated" or "topic"
    // A topic's publisher policy (who may register its name), in the same terms; -1: not a topic.
    int64_t publisher_policy = -1;
    uint32_t publisher_uid_min = 0;
    uint32_t publisher_uid_max = 0;
    uint32_t publisher_creator_uid = 0;  // whom same-uid means
    InterfaceReport interface;
    std::vector<ConnectedClient> clients;
    ServiceCounters counters;
};

// What one uid holds of each per-uid resource; the same fields are the quotas in force.
struct UidCounts {
    uint64_t processes = 0, sockets = 0, services = 0, connections = 0, pending_channels = 0, grants = 0,
             subscriptions = 0;
};

struct UidUsage {
    uint32_t uid = 0;
    UidCounts held;  // written flat beside "uid"
};

// Every refusal the trust rules make. The loader counts most of them itself; quota_connections,
// quota_subscriptions, reserve_connections and reserve_subscriptions are counted by the BPF
// programs and copied in.
struct RefusalCounters {
    uint64_t quota_processes = 0, quota_sockets = 0, quota_services = 0, quota_connections = 0,
             quota_pending_channels = 0, quota_grants = 0, quota_subscriptions = 0;
    uint64_t identity = 0;          // requests not from the live process the socket or slot belongs to
    uint64_t dead_at_hello = 0;     // hellos from processes already gone
    uint64_t name_policy = 0;       // names the policy gives to others
    uint64_t slow_clients = 0;      // clients dropped for not reading their replies
    uint64_t at_fd_limit = 0;       // sockets refused because the loader was at its fd limit
    uint64_t expired_channels = 0;  // connection halves whose peer never came
    uint64_t stale_slots = 0;       // ALIVE slots of processes gone, reclaimed at start
    uint64_t quota_watchers = 0;    // watch_monitor past the watchers one uid may have
    // Requests of uids other than root that met a table's reserve.
    uint64_t reserve_processes = 0, reserve_services = 0, reserve_connections = 0, reserve_grants = 0,
             reserve_sockets = 0, reserve_subscriptions = 0;
    uint64_t withdrawn_by_name_policy = 0;  // services whose owner a reloaded policy no longer admits
    uint64_t interface_mismatch = 0;        // connects the kernel refused: another interface (BPF)
    uint64_t publisher_policy = 0;  // registrations of a topic's name its publisher policy refused
    uint64_t publisher_refused = 0; // subscribes the kernel refused: the topic's owner is no admitted publisher (BPF)
    uint64_t stamp_refused = 0;  // publishes of a mediated topic the kernel refused to stamp (BPF)
};

// One global table: what all uids but root hold against the room root's reserve leaves them.
struct TableReport {
    std::string name;  // the key in "tables": process, service, connection, grant
    uint64_t capacity = 0, reserve = 0, members = 0;
    bool near_full = false;
};

struct NameRuleReport {
    std::string name;   // NAME or PREFIX*
    std::string owner;  // anyone, nobody, uid:N, gid:N
};

// The name policy in force, so that a component can check that its names are reserved for it.
struct NamePolicyReport {
    std::string config;          // the config file it was read from
    std::string unlisted_names;  // "anyone" or "nobody"
    std::vector<NameRuleReport> rules;
};

// A `liteipc monitor` watcher: its own queue and loss.
struct WatcherEntry {
    uint32_t pid = 0;
    uint32_t uid = 0;
    uint64_t queued = 0;
    uint64_t dropped = 0;
};

struct HugepageReport {
    int64_t total = 0;
    int64_t free = 0;
    std::string pool_backing;  // hugetlb pages, or the shared-memory fallback and why
};

struct StatusDocument {
    uint32_t loader_pid = 0;
    uint32_t abi_version = 0;
    std::string pin_root;
    std::string socket;
    uint64_t processes_alive = 0, processes_dead = 0, deaths_seen = 0, records_lost = 0, monitor_lost = 0;
    std::vector<WatcherEntry> monitor_watchers;
    uint64_t sockets = 0, max_sockets = 0, connections = 0, pending_channels = 0, grants = 0;
    UidCounts quotas;
    std::vector<TableReport> tables;  // written as an object keyed by name
    RefusalCounters refused;
    NamePolicyReport name_policy;
    std::vector<UidUsage> uids;
    HugepageReport hugepages;
    std::vector<ProcessEntry> processes;
    std::vector<ServiceEntry> services;
};

// Every field with its name, in the order the document and the CLI list them.
template <typename Counts, typename Visit>
void for_each_field(Counts&& c, Visit visit) requires std::is_same_v<std::remove_cvref_t<Counts>, UidCounts> {
    visit("processes", c.processes);
    visit("sockets", c.sockets);
    visit("services", c.services);
    visit("connections", c.connections);
    visit("pending_channels", c.pending_channels);
    visit("grants", c.grants);
    visit("subscriptions", c.subscriptions);
}

template <typename Counts, typename Visit>
void for_each_field(Counts&& c, Visit visit) requires std::is_same_v<std::remove_cvref_t<Counts>, ServiceCounters> {
    visit("calls", c.calls);
    visit("oneway", c.oneway);
    visit("bytes", c.bytes);
    visit("errors", c.errors);
    visit("timeouts", c.timeouts);
    visit("dead_object", c.dead_object);
    visit("denials", c.denials);
    visit("connects", c.connects);
    visit("disconnects", c.disconnects);
}

template <typename Counts, typename Visit>
void for_each_field(Counts&& r, Visit visit) requires std::is_same_v<std::remove_cvref_t<Counts>, RefusalCounters> {
    visit("quota_processes", r.quota_processes);
    visit("quota_sockets", r.quota_sockets);
    visit("quota_services", r.quota_services);
    visit("quota_connections", r.quota_connections);
    visit("quota_pending_channels", r.quota_pending_channels);
    visit("quota_grants", r.quota_grants);
    visit("quota_subscriptions", r.quota_subscriptions);
    visit("identity", r.identity);
    visit("dead_at_hello", r.dead_at_hello);
    visit("name_policy", r.name_policy);
    visit("slow_clients", r.slow_clients);
    visit("at_fd_limit", r.at_fd_limit);
    visit("expired_channels", r.expired_channels);
    visit("stale_slots", r.stale_slots);
    visit("quota_watchers", r.quota_watchers);
    visit("reserve_processes", r.reserve_processes);
    visit("reserve_services", r.reserve_services);
    visit("reserve_connections", r.reserve_connections);
    visit("reserve_grants", r.reserve_grants);
    visit("reserve_sockets", r.reserve_sockets);
    visit("reserve_subscriptions", r.reserve_subscriptions);
    visit("withdrawn_by_name_policy", r.withdrawn_by_name_policy);
    visit("interface_mismatch", r.interface_mismatch);
    visit("publisher_policy", r.publisher_policy);
    visit("publisher_refused", r.publisher_refused);
    visit("stamp_refused", r.stamp_refused);
}

// ---- reading: a missing or mistyped field throws MalformedField, caught in parse_status_document ----

struct MalformedField : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace read {

inline const Json& member(const Json& object, const char* key) {
    if (!object.is_object()) throw MalformedField("is not an object");
    auto it = object.find(key);
    if (it == object.end()) throw MalformedField(std::string("has no \"") + key + "\"");
    return *it;
}

// Reads a nested value, naming where it sits when it is malformed.
template <typename T>
void nested(const Json& value, const std::string& where, T& out) {
    try {
        from_json(value, out);
    } catch (const MalformedField& e) {
        throw MalformedField(where + (e.what()[0] == '.' || e.what()[0] == '[' ? "" : " ") + e.what());
    }
}

template <typename T>
void field(const Json& object, const char* key, T& out) {
    const Json& value = member(object, key);
    const std::string where = std::string(".") + key;
    if constexpr (std::is_same_v<T, bool>) {
        if (!value.is_boolean()) throw MalformedField(where + " is not a boolean");
        out = value.get<bool>();
    } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
        if (!value.is_number_unsigned() || value.get<uint64_t>() > std::numeric_limits<T>::max())
            throw MalformedField(where + " is not an unsigned integer in range");
        out = static_cast<T>(value.get<uint64_t>());
    } else if constexpr (std::is_integral_v<T>) {
        if (!value.is_number_integer()) throw MalformedField(where + " is not an integer");
        out = value.get<T>();
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!value.is_string()) throw MalformedField(where + " is not a string");
        out = value.get<std::string>();
    } else {
        nested(value, where, out);
    }
}

template <typename T>
void array(const Json& object, const char* key, std::vector<T>& out) {
    const Json& value = member(object, key);
    if (!value.is_array()) throw MalformedField(std::string(".") + key + " is not an array");
    out.clear();
    for (std::size_t i = 0; i < value.size(); ++i) {
        T entry{};
        nested(value[i], std::string(".") + key + "[" + std::to_string(i) + "]", entry);
        out.push_back(std::move(entry));
    }
}

// A struct of counters with for_each_field.
template <typename Counts>
void counts(const Json& object, Counts& out) {
    for_each_field(out, [&](const char* name, uint64_t& value) { field(object, name, value); });
}

}  // namespace read

// ---- to_json / from_json, found by nlohmann through argument-dependent lookup ----

template <typename Counts>
Json counts_json(const Counts& c) {
    Json out = Json::object();
    for_each_field(c, [&](const char* name, uint64_t value) { out[name] = value; });
    return out;
}

inline void to_json(Json& j, const ProcessEntry& p) {
    j = {{"slot", p.slot}, {"pid", p.pid}, {"uid", p.uid}, {"generation", p.generation}, {"state", p.state}};
}
inline void from_json(const Json& j, ProcessEntry& p) {
    read::field(j, "slot", p.slot);
    read::field(j, "pid", p.pid);
    read::field(j, "uid", p.uid);
    read::field(j, "generation", p.generation);
    read::field(j, "state", p.state);
}

inline void to_json(Json& j, const ConnectedClient& c) {
    j = {{"conn_id", c.conn_id}, {"pid", c.pid}, {"uid", c.uid}, {"gid", c.gid}};
}
inline void from_json(const Json& j, ConnectedClient& c) {
    read::field(j, "conn_id", c.conn_id);
    read::field(j, "pid", c.pid);
    read::field(j, "uid", c.uid);
    read::field(j, "gid", c.gid);
}

inline void to_json(Json& j, const ServiceCounters& c) { j = counts_json(c); }
inline void from_json(const Json& j, ServiceCounters& c) { read::counts(j, c); }
inline void to_json(Json& j, const UidCounts& c) { j = counts_json(c); }
inline void from_json(const Json& j, UidCounts& c) { read::counts(j, c); }
inline void to_json(Json& j, const RefusalCounters& r) { j = counts_json(r); }
inline void from_json(const Json& j, RefusalCounters& r) { read::counts(j, r); }

inline void to_json(Json& j, const InterfaceReport& i) {
    j = {{"name", i.name}, {"hash", i.hash}, {"contract", i.contract}, {"version", i.version}};
}
inline void from_json(const Json& j, InterfaceReport& i) {
    read::field(j, "name", i.name);
    read::field(j, "hash", i.hash);
    read::field(j, "contract", i.contract);
    read::field(j, "version", i.version);
}

inline void to_json(Json& j, const ServiceEntry& s) {
    j = {{"handle", s.handle}, {"name", s.name},       {"pid", s.pid},         {"uid", s.uid},
         {"policy", s.policy}, {"uid_min", s.uid_min}, {"uid_max", s.uid_max}, {"mode", s.mode},
         {"publisher_policy", s.publisher_policy}, {"publisher_uid_min", s.publisher_uid_min},
         {"publisher_uid_max", s.publisher_uid_max}, {"publisher_creator_uid", s.publisher_creator_uid},
         {"interface", s.interface}, {"clients", s.clients}, {"counters", s.counters}};
}
inline void from_json(const Json& j, ServiceEntry& s) {
    read::field(j, "handle", s.handle);
    read::field(j, "name", s.name);
    read::field(j, "pid", s.pid);
    read::field(j, "uid", s.uid);
    read::field(j, "policy", s.policy);
    read::field(j, "uid_min", s.uid_min);
    read::field(j, "uid_max", s.uid_max);
    read::field(j, "mode", s.mode);
    read::field(j, "publisher_policy", s.publisher_policy);
    read::field(j, "publisher_uid_min", s.publisher_uid_min);
    read::field(j, "publisher_uid_max", s.publisher_uid_max);
    read::field(j, "publisher_creator_uid", s.publisher_creator_uid);
    read::field(j, "interface", s.interface);
    read::array(j, "clients", s.clients);
    read::field(j, "counters", s.counters);
}

inline void to_json(Json& j, const UidUsage& u) {
    j = {{"uid", u.uid}};
    j.update(counts_json(u.held));
}
inline void from_json(const Json& j, UidUsage& u) {
    read::field(j, "uid", u.uid);
    read::counts(j, u.held);
}

inline void to_json(Json& j, const NameRuleReport& r) { j = {{"name", r.name}, {"owner", r.owner}}; }
inline void from_json(const Json& j, NameRuleReport& r) {
    read::field(j, "name", r.name);
    read::field(j, "owner", r.owner);
}

inline void to_json(Json& j, const NamePolicyReport& p) {
    j = {{"config", p.config}, {"unlisted_names", p.unlisted_names}, {"rules", p.rules}};
}
inline void from_json(const Json& j, NamePolicyReport& p) {
    read::field(j, "config", p.config);
    read::field(j, "unlisted_names", p.unlisted_names);
    read::array(j, "rules", p.rules);
}

inline void to_json(Json& j, const WatcherEntry& w) {
    j = {{"pid", w.pid}, {"uid", w.uid}, {"queued", w.queued}, {"dropped", w.dropped}};
}
inline void from_json(const Json& j, WatcherEntry& w) {
    read::field(j, "pid", w.pid);
    read::field(j, "uid", w.uid);
    read::field(j, "queued", w.queued);
    read::field(j, "dropped", w.dropped);
}

inline void to_json(Json& j, const HugepageReport& h) {
    j = {{"total", h.total}, {"free", h.free}, {"pool_backing", h.pool_backing}};
}
inline void from_json(const Json& j, HugepageReport& h) {
    read::field(j, "total", h.total);
    read::field(j, "free", h.free);
    read::field(j, "pool_backing", h.pool_backing);
}

// "tables": {"process": {"capacity", "reserve", "members", "near_full"}, ...}
inline Json tables_json(const std::vector<TableReport>& tables) {
    Json out = Json::object();
    for (const TableReport& t : tables)
        out[t.name] = {{"capacity", t.capacity}, {"reserve", t.reserve}, {"members", t.members},
                       {"near_full", t.near_full}};
    return out;
}
inline std::vector<TableReport> read_tables(const Json& object) {
    if (!object.is_object()) throw MalformedField(".tables is not an object");
    std::vector<TableReport> tables;
    for (const auto& [name, t] : object.items()) {
        TableReport table{.name = name};
        try {
            read::field(t, "capacity", table.capacity);
            read::field(t, "reserve", table.reserve);
            read::field(t, "members", table.members);
            read::field(t, "near_full", table.near_full);
        } catch (const MalformedField& e) {
            throw MalformedField(".tables." + name + e.what());
        }
        tables.push_back(std::move(table));
    }
    return tables;
}

inline void to_json(Json& j, const StatusDocument& d) {
    j = {{"loader_pid", d.loader_pid},
         {"abi_version", d.abi_version},
         {"pin_root", d.pin_root},
         {"socket", d.socket},
         {"processes_alive", d.processes_alive},
         {"processes_dead", d.processes_dead},
         {"deaths_seen", d.deaths_seen},
         {"records_lost", d.records_lost},
         {"monitor_lost", d.monitor_lost},
         {"monitor_watchers", d.monitor_watchers},
         {"sockets", d.sockets},
         {"max_sockets", d.max_sockets},
         {"connections", d.connections},
         {"pending_channels", d.pending_channels},
         {"grants", d.grants},
         {"quotas", d.quotas},
         {"tables", tables_json(d.tables)},
         {"refused", d.refused},
         {"name_policy", d.name_policy},
         {"uids", d.uids},
         {"hugepages", d.hugepages},
         {"processes", d.processes},
         {"services", d.services}};
}
inline void from_json(const Json& j, StatusDocument& d) {
    read::field(j, "loader_pid", d.loader_pid);
    read::field(j, "abi_version", d.abi_version);
    read::field(j, "pin_root", d.pin_root);
    read::field(j, "socket", d.socket);
    read::field(j, "processes_alive", d.processes_alive);
    read::field(j, "processes_dead", d.processes_dead);
    read::field(j, "deaths_seen", d.deaths_seen);
    read::field(j, "records_lost", d.records_lost);
    read::field(j, "monitor_lost", d.monitor_lost);
    read::array(j, "monitor_watchers", d.monitor_watchers);
    read::field(j, "sockets", d.sockets);
    read::field(j, "max_sockets", d.max_sockets);
    read::field(j, "connections", d.connections);
    read::field(j, "pending_channels", d.pending_channels);
    read::field(j, "grants", d.grants);
    read::field(j, "quotas", d.quotas);
    d.tables = read_tables(read::member(j, "tables"));
    read::field(j, "refused", d.refused);
    read::field(j, "name_policy", d.name_policy);
    read::array(j, "uids", d.uids);
    read::field(j, "hugepages", d.hugepages);
    read::array(j, "processes", d.processes);
    read::array(j, "services", d.services);
}

// The document as the loader sends it; error_handler::replace: paths come from the command line
// and names from clients, and may hold any byte.
inline std::string dump(const StatusDocument& document) {
    return Json(document).dump(-1, ' ', false, Json::error_handler_t::replace);
}

inline Result<StatusDocument> parse_status_document(std::string_view text) {
    // allow_exceptions = false: a syntax error yields a "discarded" value instead of throwing.
    const Json json = Json::parse(text.begin(), text.end(), nullptr, false);
    if (json.is_discarded()) return fail(Errc::malformed, "loader status is not valid JSON");
    StatusDocument document;
    try {
        from_json(json, document);
    } catch (const MalformedField& e) {
        return fail(Errc::malformed, std::string("loader status: document") + (e.what()[0] == '.' ? "" : " ") + e.what());
    }
    return document;
}

}  // namespace liteipc::status
