#include "loader_status.h"

#include <limits>

#include <nlohmann/json.hpp>

#include "liteipc_abi.h"

namespace liteipc::cli {

namespace {

using json = nlohmann::ordered_json;

// Field readers: no exceptions; `where` names the enclosing object in error messages.
Result<const json*> member(const json& object, const char* key, std::string_view where) {
    auto it = object.find(key);
    if (it == object.end())
        return fail(Errc::malformed, "loader status: " + std::string(where) + " has no \"" + key + "\"");
    return &*it;
}

template <typename T>
Result<T> read_unsigned(const json& object, const char* key, std::string_view where) {
    auto field = member(object, key, where);
    if (!field) return std::unexpected(field.error());
    const json& value = **field;
    if (!value.is_number_unsigned() ||
        value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return fail(Errc::malformed,
                    "loader status: " + std::string(where) + "." + key + " is not an unsigned integer in range");
    return static_cast<T>(value.get<uint64_t>());
}

Result<std::string> read_string(const json& object, const char* key, std::string_view where) {
    auto field = member(object, key, where);
    if (!field) return std::unexpected(field.error());
    if (!(*field)->is_string())
        return fail(Errc::malformed, "loader status: " + std::string(where) + "." + key + " is not a string");
    return (*field)->get<std::string>();
}

Result<const json*> read_array(const json& object, const char* key, std::string_view where) {
    auto field = member(object, key, where);
    if (!field) return std::unexpected(field.error());
    if (!(*field)->is_array())
        return fail(Errc::malformed, "loader status: " + std::string(where) + "." + key + " is not an array");
    return *field;
}

// Assigns a field or returns its error from the enclosing function.
#define LITEIPC_READ(target, expr)                        \
    do {                                                  \
        auto value_ = (expr);                             \
        if (!value_) return std::unexpected(value_.error()); \
        target = std::move(*value_);                      \
    } while (0)

Result<ProcessRecord> parse_process(const json& entry, const std::string& where) {
    if (!entry.is_object()) return fail(Errc::malformed, "loader status: " + where + " is not an object");
    ProcessRecord p;
    LITEIPC_READ(p.slot, read_unsigned<uint32_t>(entry, "slot", where));
    LITEIPC_READ(p.pid, read_unsigned<uint32_t>(entry, "pid", where));
    LITEIPC_READ(p.uid, read_unsigned<uint32_t>(entry, "uid", where));
    LITEIPC_READ(p.generation, read_unsigned<uint64_t>(entry, "generation", where));
    LITEIPC_READ(p.state, read_string(entry, "state", where));
    return p;
}

Result<ServiceRecord> parse_service(const json& entry, const std::string& where) {
    if (!entry.is_object()) return fail(Errc::malformed, "loader status: " + where + " is not an object");
    ServiceRecord s;
    LITEIPC_READ(s.handle, read_unsigned<uint32_t>(entry, "handle", where));
    LITEIPC_READ(s.name, read_string(entry, "name", where));
    LITEIPC_READ(s.pid, read_unsigned<uint32_t>(entry, "pid", where));
    LITEIPC_READ(s.uid, read_unsigned<uint32_t>(entry, "uid", where));
    LITEIPC_READ(s.policy, read_unsigned<uint32_t>(entry, "policy", where));
    LITEIPC_READ(s.uid_min, read_unsigned<uint32_t>(entry, "uid_min", where));
    LITEIPC_READ(s.uid_max, read_unsigned<uint32_t>(entry, "uid_max", where));
    LITEIPC_READ(s.mode, read_string(entry, "mode", where));
    if (entry.contains("interface") && !entry["interface"].is_null()) {
        const json& interface = entry["interface"];
        const std::string at = where + ".interface";
        if (!interface.is_object()) return fail(Errc::malformed, "loader status: " + at + " is not an object");
        LITEIPC_READ(s.interface_name, read_string(interface, "name", at));
        LITEIPC_READ(s.interface_hash, read_string(interface, "hash", at));
        LITEIPC_READ(s.contract_hash, read_string(interface, "contract", at));
        LITEIPC_READ(s.interface_version, read_unsigned<uint32_t>(interface, "version", at));
    }
    if (!entry.contains("clients") || !entry["clients"].is_array())
        return fail(Errc::malformed, "loader status: " + where + " has no \"clients\" array");
    for (const json& c : entry["clients"]) {
        const std::string at = where + ".clients";
        if (!c.is_object()) return fail(Errc::malformed, "loader status: " + at + " holds a non-object");
        ClientRecord client;
        LITEIPC_READ(client.conn_id, read_unsigned<uint64_t>(c, "conn_id", at));
        LITEIPC_READ(client.pid, read_unsigned<uint32_t>(c, "pid", at));
        LITEIPC_READ(client.uid, read_unsigned<uint32_t>(c, "uid", at));
        LITEIPC_READ(client.gid, read_unsigned<uint32_t>(c, "gid", at));
        s.clients.push_back(client);
    }
    if (!entry.contains("counters") || !entry["counters"].is_object())
        return fail(Errc::malformed, "loader status: " + where + " has no \"counters\" object");
    const json& counters = entry["counters"];
    const std::string at = where + ".counters";
    ServiceCounters& c = s.counters;
    for (auto [name, field] : {std::pair{"calls", &c.calls}, {"oneway", &c.oneway}, {"bytes", &c.bytes},
                               {"errors", &c.errors}, {"timeouts", &c.timeouts}, {"dead_object", &c.dead_object},
                               {"denials", &c.denials}, {"connects", &c.connects}, {"disconnects", &c.disconnects}})
        LITEIPC_READ(*field, read_unsigned<uint64_t>(counters, name, at));
    return s;
}

}  // namespace

Result<LoaderStatus> parse_loader_status(std::string_view text) {
    // allow_exceptions = false: a syntax error yields a "discarded" value instead of throwing.
    const json doc = json::parse(text.begin(), text.end(), nullptr, false);
    if (doc.is_discarded()) return fail(Errc::malformed, "loader status is not valid JSON");
    if (!doc.is_object()) return fail(Errc::malformed, "loader status is not a JSON object");

    LoaderStatus status;
    const std::string top = "document";
    LITEIPC_READ(status.loader_pid, read_unsigned<uint32_t>(doc, "loader_pid", top));
    LITEIPC_READ(status.pin_root, read_string(doc, "pin_root", top));
    LITEIPC_READ(status.socket, read_string(doc, "socket", top));
    LITEIPC_READ(status.processes_alive, read_unsigned<uint64_t>(doc, "processes_alive", top));
    LITEIPC_READ(status.processes_dead, read_unsigned<uint64_t>(doc, "processes_dead", top));
    LITEIPC_READ(status.deaths_seen, read_unsigned<uint64_t>(doc, "deaths_seen", top));
    LITEIPC_READ(status.records_lost, read_unsigned<uint64_t>(doc, "records_lost", top));
    const json* hugepages = doc.contains("hugepages") && doc["hugepages"].is_object() ? &doc["hugepages"] : nullptr;
    if (!hugepages) return fail(Errc::malformed, "loader status: document has no \"hugepages\" object");
    LITEIPC_READ(status.pool_backing, read_string(*hugepages, "pool_backing", "hugepages"));

    for (auto [key, target] : {std::pair{"quotas", &status.quotas}, {"refused", &status.refused}}) {
        if (!doc.contains(key) || !doc[key].is_object())
            return fail(Errc::malformed, std::string("loader status: document has no \"") + key + "\" object");
        *target = doc[key];
    }
    for (auto [key, target] : {std::pair{"tables", &status.tables}, {"name_policy", &status.name_policy}}) {
        if (!doc.contains(key) || !doc[key].is_object())
            return fail(Errc::malformed, std::string("loader status: document has no \"") + key + "\" object");
        *target = doc[key];
    }
    const json* uids = nullptr;
    LITEIPC_READ(uids, read_array(doc, "uids", top));
    status.uids = *uids;

    const json* processes = nullptr;
    LITEIPC_READ(processes, read_array(doc, "processes", top));
    for (std::size_t i = 0; i < processes->size(); ++i) {
        auto p = parse_process((*processes)[i], "processes[" + std::to_string(i) + "]");
        if (!p) return std::unexpected(p.error());
        status.processes.push_back(std::move(*p));
    }
    const json* services = nullptr;
    LITEIPC_READ(services, read_array(doc, "services", top));
    for (std::size_t i = 0; i < services->size(); ++i) {
        auto s = parse_service((*services)[i], "services[" + std::to_string(i) + "]");
        if (!s) return std::unexpected(s.error());
        status.services.push_back(std::move(*s));
    }
    return status;
}

#undef LITEIPC_READ

std::string policy_name(uint32_t policy) {
    switch (policy) {
        case LITEIPC_POLICY_SAME_UID: return "same-uid";
        case LITEIPC_POLICY_ANYONE: return "anyone";
        case LITEIPC_POLICY_UID_LIST: return "uid-list";
        case LITEIPC_POLICY_UID_RANGE: return "uid-range";
        case LITEIPC_POLICY_PIDS: return "pids";
    }
    return "policy " + std::to_string(policy);
}

}  // namespace liteipc::cli
