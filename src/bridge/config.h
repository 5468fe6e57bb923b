// liteipc-bridge's configuration: who we are, which peers we know, what we export to whom and
// what we import from whom. One JSON file (docs/BRIDGE.md, packaging/bridge.json).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "liteipc/context.h"
#include "liteipc/error.h"
#include "discovery/discovery_config.h"
#include "liteipc/ipc.h"
#include "name_reservation.h"

namespace liteipc::bridge {

struct TlsFiles {
    std::string ca;    // PEM: the CA that signs every bridge's certificate (peers and this one)
    std::string cert;  // PEM: this bridge's certificate; its CN is this bridge's identity
    std::string key;   // PEM: its private key
};

// Another bridge: how to reach it and how its certificate names it.
struct Peer {
    std::string name;      // the <peer> in remote.<peer>.<service>; 1..32 of [a-z0-9_-]
    std::string identity;  // its certificate's CN (checked both ways: mTLS)
    std::string address;   // host:port of its gRPC server (empty: it only calls us)
    uint32_t token = 0;    // what an exported service reads in Call::token() for its calls
};

// A local service that peers may call, and which peers may.
struct Export {
    std::string service;
    std::vector<std::string> allow;  // peer names
};

// A peer's service registered here as remote.<peer>.<service>.
struct Import {
    std::string peer;
    std::string service;
    Policy policy = Policy::same_uid;  // who may call the local stand-in
    unsigned workers = 4;              // calls forwarded at once (each holds a worker)

    std::string local_name() const { return std::string(kImportPrefix) + peer + "." + service; }
};

// What importing peers and strangers can make the gRPC server hold (docs/BRIDGE.md, "What
// strangers and peers can make it hold"). All but streams_per_source and the connection caps are
// gRPC's own knobs (capped_listener.h).
struct ServerLimits {
    uint64_t memory_bytes = 64u << 20;  // ResourceQuota: what every connection and stream buffers, together
    unsigned streams_per_connection = 128;        // HTTP/2 MAX_CONCURRENT_STREAMS: more wait at the client
    unsigned streams_per_source = 512;            // Calls and Watch streams open per peer address; more refused
    unsigned connections_per_source = 64;         // TCP connections held per peer address; more closed at once
    unsigned connections = 1024;                  // TCP connections held in all; more closed at once
    std::chrono::milliseconds handshake{5000};    // a connection that has not finished TLS by then is closed
    std::chrono::milliseconds idle{120000};       // a connection with no stream for this long is closed
};

struct BridgeConfig {
    std::string listen;  // host:port for the gRPC server; empty: exports nothing
    std::string socket_path = "/run/liteipc/liteipc.sock";
    std::string pin_root = "/sys/fs/bpf/liteipc";
    TlsFiles tls;
    uint64_t max_message_bytes = 4u << 20;  // a message and its data buffers, each way
    std::chrono::milliseconds keepalive{1000};       // ping interval and ping timeout
    std::chrono::milliseconds call_timeout{5000};    // the gRPC deadline of a forwarded call
    // How long an import's worker polls for a remote reply before sleeping (remote_calls.h).
    std::chrono::microseconds reply_poll{100};
    std::string status_service = "liteipc.bridge";   // local service answering the counters
    ServerLimits limits;
    std::vector<Peer> peers;
    std::vector<Export> exports;
    std::vector<Import> imports;
    // A cluster (docs/BRIDGE.md): announced in etcd, and imports found there (entries of
    // "imports" without a "peer").
    std::optional<DiscoveryConfig> discovery;
    std::vector<DiscoveredImport> discovered_imports;

    ContextOptions context_options() const {
        ContextOptions options;
        options.socket_path = socket_path;
        options.pin_root = pin_root;
        return options;
    }
    const Peer* peer_named(std::string_view name) const;
    const Peer* peer_with_identity(std::string_view identity) const;
    const Export* export_of(std::string_view service) const;
};

// Reads and checks the file: every name well formed, every peer named in exports and imports
// defined, an address for every imported peer. Errc::invalid_argument says what is wrong where.
Result<BridgeConfig> load_config(const std::string& path);

}  // namespace liteipc::bridge
