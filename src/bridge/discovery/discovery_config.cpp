#include "discovery_config.h"

#include <fnmatch.h>

#include <algorithm>

#include <nlohmann/json.hpp>

namespace liteipc::bridge {

namespace {

bool is_host_name(const std::string& name) {
    if (name.empty() || name.size() > 32) return false;
    return std::ranges::all_of(name, [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; });
}

}  // namespace

Result<DiscoveryConfig> parse_discovery(const nlohmann::json& doc, const std::string& listen) {
    DiscoveryConfig config;
    config.name = doc.at("name").get<std::string>();
    config.announce = doc.value("announce", listen);
    config.endpoints = doc.at("endpoints").get<std::vector<std::string>>();
    const auto& tls = doc.at("tls");
    config.tls.ca = tls.at("ca").get<std::string>();
    config.tls.cert = tls.at("cert").get<std::string>();
    config.tls.key = tls.at("key").get<std::string>();
    config.tls.server_name = tls.value("server_name", config.tls.server_name);
    config.prefix = doc.value("prefix", config.prefix);
    config.lease_ttl = std::chrono::seconds(doc.value("lease_ttl_s", config.lease_ttl.count()));
    if (!is_host_name(config.name))
        return fail(Errc::invalid_argument, "discovery.name '" + config.name + "': 1..32 of [a-z0-9_-], this bridge's certificate CN");
    if (config.endpoints.empty()) return fail(Errc::invalid_argument, "discovery.endpoints: at least one etcd member");
    if (config.prefix.empty() || config.prefix.back() != '/')
        return fail(Errc::invalid_argument, "discovery.prefix: a key prefix ending in '/'");
    // etcd raises shorter leases to its own minimum (1.5 s with its default timings).
    if (config.lease_ttl.count() < 1 || config.lease_ttl.count() > 3600)
        return fail(Errc::invalid_argument, "discovery.lease_ttl_s: 1 to 3600");
    return config;
}

nlohmann::json to_json(const HostRecord& record) {
    return {{"name", record.name}, {"address", record.address}, {"exports", record.exports}};
}

Result<HostRecord> host_record(const std::string& prefix, const std::string& key, const std::string& value) {
    try {
        auto doc = nlohmann::json::parse(value);
        HostRecord record{doc.at("name").get<std::string>(), doc.at("address").get<std::string>(),
                          doc.at("exports").get<std::vector<std::string>>()};
        if (key != prefix + record.name)
            return fail(Errc::malformed, "record " + key + " names host '" + record.name + "'");
        if (!is_host_name(record.name)) return fail(Errc::malformed, "record " + key + ": host name not 1..32 of [a-z0-9_-]");
        if (record.address.empty()) return fail(Errc::malformed, "record " + key + ": no address");
        return record;
    } catch (const nlohmann::json::exception& e) {
        return fail(Errc::malformed, "record " + key + ": " + e.what());
    }
}

bool host_matches(const std::string& pattern, const std::string& name) {
    return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

}  // namespace liteipc::bridge
