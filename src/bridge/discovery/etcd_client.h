// A client of etcd's v3 gRPC API (etcd.proto), the few calls discovery makes: leases, keys under
// a prefix, and a watch on them. Over TLS with this bridge's etcd client certificate; the members
// are tried in turn (gRPC's pick_first over every endpoint), so one member down is one reconnect.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "discovery_config.h"
#include "etcd.grpc.pb.h"
#include "polled_stream.h"

namespace liteipc::bridge {

// The keys under a prefix at one revision of the store.
struct StoreSnapshot {
    std::map<std::string, std::string> values;  // key -> value
    int64_t revision = 0;
};

// Thread safety: every method may be called from any thread (gRPC stubs are thread-safe).
class EtcdClient {
public:
    static Result<EtcdClient> connect(const DiscoveryConfig& config);

    // A lease of `ttl` (etcd may raise it to its minimum); its id.
    Result<int64_t> grant_lease(std::chrono::seconds ttl);
    Result<void> revoke_lease(int64_t lease);
    // Writes key = value, bound to `lease` (the key goes with it).
    Result<void> put(const std::string& key, const std::string& value, int64_t lease);
    Result<StoreSnapshot> read_prefix(const std::string& prefix);

    // Streams, used by their owner's thread, which looks at them rather than waiting inside gRPC
    // (polled_stream.h: the export server's calls keep their socket events): the context ends
    // them (TryCancel) from another.
    using LeaseKeepAlive = PolledStream<
        grpc::ClientAsyncReaderWriterInterface<etcdserverpb::LeaseKeepAliveRequest, etcdserverpb::LeaseKeepAliveResponse>>;
    using StoreWatch =
        PolledStream<grpc::ClientAsyncReaderWriterInterface<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>;
    std::unique_ptr<LeaseKeepAlive> keep_alive(grpc::ClientContext& context);
    // A watch of every key under `prefix` from `revision` on. It ends (instead of waiting) when the
    // member it talks to loses the cluster's leader.
    std::unique_ptr<StoreWatch> watch(grpc::ClientContext& context, const std::string& prefix, int64_t revision);

    // The end of the range of keys that start with `prefix`.
    static std::string prefix_end(std::string prefix);

private:
    explicit EtcdClient(std::shared_ptr<grpc::Channel> channel);
    // A unary call's context: a short deadline, so that a member gone costs a retry, not a hang.
    static void bound(grpc::ClientContext& context);
    static Error failure(const std::string& what, const grpc::Status& status);

    std::shared_ptr<grpc::Channel> channel_;
    std::unique_ptr<etcdserverpb::KV::Stub> kv_;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
    std::unique_ptr<etcdserverpb::Watch::Stub> watch_;
};

}  // namespace liteipc::bridge
