// The cluster part of the bridge's config: the etcd cluster that says which host offers which
// service, how this bridge announces itself there, and the imports found through it; and the
// record each host writes there (docs/BRIDGE.md, "A cluster: discovery through etcd").
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "liteipc/error.h"
#include "liteipc/ipc.h"

namespace liteipc::bridge {

struct EtcdTls {
    std::string ca, cert, key;         // PEM files: etcd's CA, this bridge's etcd client certificate and key
    std::string server_name = "etcd";  // the DNS name etcd's server certificates carry
};

struct DiscoveryConfig {
    // The name other hosts import this one's services under (remote.<name>.<service>): it must
    // be this bridge's certificate CN, which they check when they connect.
    std::string name;
    std::string announce;                 // host:port other hosts reach this bridge at (default: listen)
    std::vector<std::string> endpoints;   // etcd members, host:port each
    EtcdTls tls;
    std::string prefix = "/liteipc/hosts/";  // one key per host under it
    std::chrono::seconds lease_ttl{10};      // a host whose lease goes unrenewed this long is gone
};

// An import found through the store: `service` on every host whose name matches `hosts` (a glob).
// A host that announces `service` but does not match is not imported from, and logged.
struct DiscoveredImport {
    std::string service;
    std::string hosts = "*";
    Policy policy = Policy::same_uid;
    unsigned workers = 4;
};

// Reads the "discovery" object; Errc::invalid_argument says what is wrong.
Result<DiscoveryConfig> parse_discovery(const nlohmann::json& doc, const std::string& listen);

// What a host writes under <prefix><name>: where it listens and what it exports.
struct HostRecord {
    std::string name;  // its certificate's CN, and the <peer> of remote.<peer>.<service>
    std::string address;
    std::vector<std::string> exports;
};
nlohmann::json to_json(const HostRecord& record);
// The record stored under `key`; an error says why it is not one (and it is ignored).
Result<HostRecord> host_record(const std::string& prefix, const std::string& key, const std::string& value);

// True when `name` matches the glob `pattern` (fnmatch: *, ?, [...]).
bool host_matches(const std::string& pattern, const std::string& name);

}  // namespace liteipc::bridge
