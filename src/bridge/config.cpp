#include "config.h"

#include <fstream>
#include <nlohmann/json.hpp>

namespace liteipc::bridge {

const Peer* BridgeConfig::peer_named(std::string_view name) const {
    for (const auto& peer : peers)
        if (peer.name == name) return &peer;
    return nullptr;
}

const Peer* BridgeConfig::peer_with_identity(std::string_view identity) const {
    for (const auto& peer : peers)
        if (peer.identity == identity) return &peer;
    return nullptr;
}

const Export* BridgeConfig::export_of(std::string_view service) const {
    for (const auto& exported : exports)
        if (exported.service == service) return &exported;
    return nullptr;
}

namespace {

bool is_peer_name(const std::string& name) {
    if (name.empty() || name.size() > 32) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
    return true;
}

Result<Policy> policy_named(const std::string& name) {
    if (name == "same-uid") return Policy::same_uid;
    if (name == "anyone") return Policy::anyone;
    return fail(Errc::invalid_argument, "policy '" + name + "': use same-uid or anyone");
}

Result<void> parse_limits(const nlohmann::json& doc, ServerLimits& limits) {
    limits.memory_bytes = doc.value("memory_bytes", limits.memory_bytes);
    limits.streams_per_connection = doc.value("streams_per_connection", limits.streams_per_connection);
    limits.streams_per_source = doc.value("streams_per_source", limits.streams_per_source);
    limits.handshake = std::chrono::milliseconds(doc.value("handshake_ms", limits.handshake.count()));
    limits.idle = std::chrono::milliseconds(doc.value("idle_ms", limits.idle.count()));
    limits.connections_per_source = doc.value("connections_per_source", limits.connections_per_source);
    limits.connections = doc.value("connections", limits.connections);
    if (limits.memory_bytes < (4u << 20)) return fail(Errc::invalid_argument, "limits.memory_bytes: at least 4 MiB");
    constexpr unsigned kMostStreams = 1u << 20;
    if (limits.streams_per_connection < 2 || limits.streams_per_source < 2 ||
        limits.streams_per_connection > kMostStreams || limits.streams_per_source > kMostStreams)
        return fail(Errc::invalid_argument, "limits.streams_per_connection, limits.streams_per_source: 2 to 1048576");
    constexpr int64_t kLongestMs = 24 * 3600 * 1000;  // gRPC takes them as int
    if (limits.handshake.count() < 100 || limits.idle.count() < 100 || limits.handshake.count() > kLongestMs ||
        limits.idle.count() > kLongestMs)
        return fail(Errc::invalid_argument, "limits.handshake_ms, limits.idle_ms: 100 ms to 24 h");
    constexpr unsigned kMostConnections = 1u << 20;
    if (limits.connections_per_source < 1 || limits.connections_per_source > limits.connections ||
        limits.connections > kMostConnections)
        return fail(Errc::invalid_argument,
                    "limits.connections_per_source, limits.connections: 1 <= per source <= total <= 1048576");
    return {};
}

// An import without a peer: found through the store, from the hosts its pattern matches.
Result<DiscoveredImport> parse_discovered_import(const nlohmann::json& entry, const BridgeConfig& config) {
    DiscoveredImport found{entry.at("service").get<std::string>(), entry.value("hosts", "*")};
    auto policy = policy_named(entry.value("policy", "same-uid"));
    if (!policy) return std::unexpected(policy.error());
    found.policy = *policy;
    found.workers = entry.value("workers", found.workers);
    if (!config.discovery)
        return fail(Errc::invalid_argument, "import '" + found.service + "': no peer, and no discovery to find one");
    if (found.workers == 0 || found.workers > 64)
        return fail(Errc::invalid_argument, "import '" + found.service + "': workers 1..64");
    if (found.service.empty() || kImportPrefix.size() + 33 + found.service.size() > 255)
        return fail(Errc::invalid_argument, "import '" + found.service + "': service name empty or too long");
    return found;
}

Result<BridgeConfig> parse(const nlohmann::json& doc) {
    BridgeConfig config;
    config.listen = doc.value("listen", "");
    config.socket_path = doc.value("socket", config.socket_path);
    config.pin_root = doc.value("pin_root", config.pin_root);
    const auto& tls = doc.at("tls");
    config.tls = {tls.at("ca").get<std::string>(), tls.at("cert").get<std::string>(), tls.at("key").get<std::string>()};
    config.max_message_bytes = doc.value("max_message_bytes", config.max_message_bytes);
    config.keepalive = std::chrono::milliseconds(doc.value("keepalive_ms", config.keepalive.count()));
    config.call_timeout = std::chrono::milliseconds(doc.value("call_timeout_ms", config.call_timeout.count()));
    config.reply_poll = std::chrono::microseconds(doc.value("reply_poll_us", config.reply_poll.count()));
    config.status_service = doc.value("status_service", config.status_service);
    if (config.max_message_bytes < 64 || config.max_message_bytes > (64u << 20))
        return fail(Errc::invalid_argument, "max_message_bytes: 64 B to 64 MiB");
    if (config.keepalive.count() < 100) return fail(Errc::invalid_argument, "keepalive_ms: at least 100");
    if (config.call_timeout.count() < 1) return fail(Errc::invalid_argument, "call_timeout_ms: at least 1");
    if (config.reply_poll.count() < 0 || config.reply_poll.count() > 10000)
        return fail(Errc::invalid_argument, "reply_poll_us: 0 to 10000");
    if (auto limits = parse_limits(doc.value("limits", nlohmann::json::object()), config.limits); !limits)
        return std::unexpected(limits.error());
    if (config.limits.memory_bytes < 4 * config.max_message_bytes)
        return fail(Errc::invalid_argument, "limits.memory_bytes: at least 4 x max_message_bytes");

    for (const auto& entry : doc.value("peers", nlohmann::json::array())) {
        Peer peer{entry.at("name").get<std::string>(), entry.at("identity").get<std::string>(),
                  entry.value("address", ""), entry.value("token", 0u)};
        if (!is_peer_name(peer.name)) return fail(Errc::invalid_argument, "peer name '" + peer.name + "': 1..32 of [a-z0-9_-]");
        if (peer.identity.empty()) return fail(Errc::invalid_argument, "peer '" + peer.name + "': empty identity");
        if (config.peer_named(peer.name) || config.peer_with_identity(peer.identity))
            return fail(Errc::invalid_argument, "peer '" + peer.name + "': name or identity given twice");
        config.peers.push_back(std::move(peer));
    }
    for (const auto& entry : doc.value("exports", nlohmann::json::array())) {
        Export exported{entry.at("service").get<std::string>(), entry.value("allow", std::vector<std::string>{})};
        for (const auto& name : exported.allow)
            if (!config.peer_named(name))
                return fail(Errc::invalid_argument, "export '" + exported.service + "' allows unknown peer '" + name + "'");
        config.exports.push_back(std::move(exported));
    }
    if (doc.contains("discovery")) {
        auto discovery = parse_discovery(doc.at("discovery"), config.listen);
        if (!discovery) return std::unexpected(discovery.error());
        config.discovery = std::move(*discovery);
    }
    for (const auto& entry : doc.value("imports", nlohmann::json::array())) {
        if (!entry.contains("peer")) {
            auto found = parse_discovered_import(entry, config);
            if (!found) return std::unexpected(found.error());
            config.discovered_imports.push_back(std::move(*found));
            continue;
        }
        Import imported{entry.at("peer").get<std::string>(), entry.at("service").get<std::string>()};
        auto policy = policy_named(entry.value("policy", "same-uid"));
        if (!policy) return std::unexpected(policy.error());
        imported.policy = *policy;
        imported.workers = entry.value("workers", imported.workers);
        const Peer* peer = config.peer_named(imported.peer);
        if (!peer || peer->address.empty())
            return fail(Errc::invalid_argument, "import '" + imported.service + "': peer '" + imported.peer +
                                                    "' is not defined with an address");
        if (imported.workers == 0 || imported.workers > 64)
            return fail(Errc::invalid_argument, "import '" + imported.service + "': workers 1..64");
        if (imported.local_name().size() > 255)
            return fail(Errc::invalid_argument, "import '" + imported.service + "': local name too long");
        config.imports.push_back(std::move(imported));
    }
    return config;
}

}  // namespace

Result<BridgeConfig> load_config(const std::string& path) {
    std::ifstream in(path);
    if (!in) return fail(Errc::not_found, "bridge config " + path + ": cannot open", errno);
    try {
        // Comments are allowed: the shipped bridge.json explains itself.
        auto doc = nlohmann::json::parse(in, nullptr, true, /*ignore_comments=*/true);
        auto config = parse(doc);
        if (!config) return fail(config.error().code, path + ": " + config.error().message);
        return config;
    } catch (const nlohmann::json::exception& e) {
        return fail(Errc::invalid_argument, path + ": " + e.what());
    }
}

}  // namespace liteipc::bridge
