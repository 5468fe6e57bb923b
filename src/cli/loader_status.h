// The loader's status document (Context::loader_status), parsed into typed records.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "liteipc/error.h"

namespace liteipc::cli {

struct ProcessRecord {
    uint32_t slot = 0;
    uint32_t pid = 0;
    uint32_t uid = 0;
    uint64_t generation = 0;
    std::string state;  // "alive" or "dead"
};

struct ClientRecord {
    uint64_t conn_id = 0;
    uint32_t pid = 0;
    uint32_t uid = 0;
    uint32_t gid = 0;
};

// A service's counters: the kernel's (denials, connects, disconnects) and its owner's data plane.
struct ServiceCounters {
    uint64_t calls = 0;
    uint64_t oneway = 0;
    uint64_t bytes = 0;
    uint64_t errors = 0;
    uint64_t timeouts = 0;
    uint64_t dead_object = 0;
    uint64_t denials = 0;
    uint64_t connects = 0;
    uint64_t disconnects = 0;
};

// Every counter with its name, in the order the CLI prints them.
template <typename Visit>
void for_each_counter(const ServiceCounters& c, Visit visit) {
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

struct ServiceRecord {
    uint32_t handle = 0;
    std::string name;
    uint32_t pid = 0;  // owner
    uint32_t uid = 0;  // owner's
    uint32_t policy = 0;  // enum liteipc_policy
    uint32_t uid_min = 0;
    uint32_t uid_max = 0;
    std::string mode;  // "direct" or "mediated"
    // The interface it declared (liteipc-idl), empty name when none: hashes in hex.
    std::string interface_name, interface_hash, contract_hash;
    uint32_t interface_version = 0;
    std::vector<ClientRecord> clients;
    ServiceCounters counters;
};

struct LoaderStatus {
    uint32_t loader_pid = 0;
    std::string pin_root;
    std::string socket;
    uint64_t processes_alive = 0;
    uint64_t processes_dead = 0;
    uint64_t deaths_seen = 0;
    uint64_t records_lost = 0;
    std::string pool_backing;  // hugetlb pages, or the shared-memory fallback and why
    // Quotas per uid, refusal counters and what each uid holds: passed through as the loader
    // names them, so a counter the loader adds shows without a CLI change.
    nlohmann::ordered_json quotas = nlohmann::ordered_json::object();
    nlohmann::ordered_json refused = nlohmann::ordered_json::object();
    nlohmann::ordered_json uids = nlohmann::ordered_json::array();
    // The global tables against root's reserve, and the name policy in force (passed through).
    nlohmann::ordered_json tables = nlohmann::ordered_json::object();
    nlohmann::ordered_json name_policy = nlohmann::ordered_json::object();
    std::vector<ProcessRecord> processes;
    std::vector<ServiceRecord> services;
};

// Every field is checked for presence and type; a missing or mistyped one is Errc::malformed
// naming the field, so a loader/CLI version skew is reported rather than shown as zeros.
Result<LoaderStatus> parse_loader_status(std::string_view json);

// "same-uid", "anyone", "uid-list", "uid-range", "pids", or "policy N" for an unknown value.
std::string policy_name(uint32_t policy);

}  // namespace liteipc::cli
