#include "etcd_client.h"

#include <fstream>
#include <sstream>

namespace liteipc::bridge {

namespace {

constexpr auto kUnaryDeadline = std::chrono::seconds(2);

Result<std::string> read_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return fail(Errc::not_found, "cannot read " + path, errno);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

EtcdClient::EtcdClient(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)), kv_(etcdserverpb::KV::NewStub(channel_)),
      lease_(etcdserverpb::Lease::NewStub(channel_)), watch_(etcdserverpb::Watch::NewStub(channel_)) {}

Result<EtcdClient> EtcdClient::connect(const DiscoveryConfig& config) {
    grpc::SslCredentialsOptions options;
    for (auto [path, field] : {std::pair{&config.tls.ca, &options.pem_root_certs},
                               std::pair{&config.tls.cert, &options.pem_cert_chain},
                               std::pair{&config.tls.key, &options.pem_private_key}}) {
        auto text = read_file(*path);
        if (!text) return fail(text.error().code, "discovery.tls: " + text.error().message);
        *field = std::move(*text);
    }
    // Every member in one target: gRPC connects to the first that answers, and to the next
    // when it goes.
    std::string target = "ipv4:";
    for (size_t i = 0; i < config.endpoints.size(); ++i) target += (i ? "," : "") + config.endpoints[i];
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(config.tls.server_name);
    args.SetLoadBalancingPolicyName("pick_first");
    // A member that vanished without a reset (power, partition) is noticed within two seconds.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 1000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 1000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    // Back from a failed connection within a second, not gRPC's default of up to two minutes.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    return EtcdClient(grpc::CreateCustomChannel(target, grpc::SslCredentials(options), args));
}

void EtcdClient::bound(grpc::ClientContext& context) {
    context.set_deadline(std::chrono::system_clock::now() + kUnaryDeadline);
}

Error EtcdClient::failure(const std::string& what, const grpc::Status& status) {
    // etcd's role-based access names the user as the client certificate's CN.
    if (status.error_code() == grpc::StatusCode::PERMISSION_DENIED)
        return Error{Errc::permission_denied, 0,
                     "etcd " + what + ": refused (" + status.error_message() +
                         "): the role of discovery.tls.cert's CN in etcd does not allow it"};
    return Error{Errc::system, 0, "etcd " + what + ": " + std::to_string(status.error_code()) + " " + status.error_message()};
}

Result<int64_t> EtcdClient::grant_lease(std::chrono::seconds ttl) {
    grpc::ClientContext context;
    bound(context);
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(ttl.count());
    etcdserverpb::LeaseGrantResponse response;
    if (auto status = lease_->LeaseGrant(&context, request, &response); !status.ok())
        return std::unexpected(failure("lease grant", status));
    if (!response.error().empty()) return fail(Errc::system, "etcd lease grant: " + response.error());
    return response.id();
}

Result<void> EtcdClient::revoke_lease(int64_t lease) {
    grpc::ClientContext context;
    bound(context);
    etcdserverpb::LeaseRevokeRequest request;
    request.set_id(lease);
    etcdserverpb::LeaseRevokeResponse response;
    if (auto status = lease_->LeaseRevoke(&context, request, &response); !status.ok())
        return std::unexpected(failure("lease revoke", status));
    return {};
}

Result<void> EtcdClient::put(const std::string& key, const std::string& value, int64_t lease) {
    grpc::ClientContext context;
    bound(context);
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    request.set_lease(lease);
    etcdserverpb::PutResponse response;
    if (auto status = kv_->Put(&context, request, &response); !status.ok()) return std::unexpected(failure("put", status));
    return {};
}

Result<StoreSnapshot> EtcdClient::read_prefix(const std::string& prefix) {
    grpc::ClientContext context;
    bound(context);
    etcdserverpb::RangeRequest request;
    request.set_key(prefix);
    request.set_range_end(prefix_end(prefix));
    etcdserverpb::RangeResponse response;
    if (auto status = kv_->Range(&context, request, &response); !status.ok())
        return std::unexpected(failure("range", status));
    StoreSnapshot snapshot;
    snapshot.revision = response.header().revision();
    for (const auto& kv : response.kvs()) snapshot.values[kv.key()] = kv.value();
    return snapshot;
}

std::unique_ptr<EtcdClient::LeaseKeepAlive> EtcdClient::keep_alive(grpc::ClientContext& context) {
    return std::make_unique<LeaseKeepAlive>(
        [&](grpc::CompletionQueue* queue) { return lease_->PrepareAsyncLeaseKeepAlive(&context, queue); });
}

std::unique_ptr<EtcdClient::StoreWatch> EtcdClient::watch(grpc::ClientContext& context, const std::string& prefix,
                                                           int64_t revision) {
    // etcd's "require leader": without it, a watch on a member cut off from the others stays
    // open and silent while the cluster goes on without it.
    context.AddMetadata("hasleader", "true");
    auto stream = std::make_unique<StoreWatch>(
        [&](grpc::CompletionQueue* queue) { return watch_->PrepareAsyncWatch(&context, queue); });
    etcdserverpb::WatchRequest request;
    auto* create = request.mutable_create_request();
    create->set_key(prefix);
    create->set_range_end(prefix_end(prefix));
    create->set_start_revision(revision);
    stream->write(request);  // when it fails, so does the first read
    return stream;
}

std::string EtcdClient::prefix_end(std::string prefix) {
    // The first key after every key with this prefix: its last byte below 0xff, plus one.
    while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
    if (prefix.empty()) return std::string(1, '\0');  // etcd: every key
    prefix.back() = static_cast<char>(prefix.back() + 1);
    return prefix;
}

}  // namespace liteipc::bridge
