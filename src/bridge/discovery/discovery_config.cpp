#include "discovery_config.h"

#include <fnmatch.h>

#include <nlohmann/json.hpp>

namespace liteipc::bridge {

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
    if (config.endpoints.empty()) return fail(Errc::invalid_argument, "discovery.endpoints: at least one etcd member");
    if (config.prefix.empty() || config.prefix.back() != '/')
        return fail(Errc::invalid_argument, "discovery.prefix: a key prefix ending in '/'");
    // etcd raises shorter leases to its own minimum (1.5 s with its default timings).
    if (config.lease_ttl.count() < 1 || config.lease_ttl.count() > 3600)
        return fail(Errc::invalid_argument, "discovery.lease_ttl_s: 1 to 3600");
    return config;
}

bool host_matches(const std::string& pattern, const std::string& name) {
    return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

}  // namespace liteipc::bridge
