#include "tls.h"

#include <fstream>
#include <sstream>

namespace liteipc::bridge {

namespace {

Result<std::string> read_pem(const std::string& path) {
    std::ifstream in(path);
    if (!in) return fail(Errc::not_found, "cannot read " + path, errno);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

struct Pems {
    std::string ca, cert, key;
};

Result<Pems> read_pems(const TlsFiles& files) {
    auto ca = read_pem(files.ca);
    if (!ca) return std::unexpected(ca.error());
    auto cert = read_pem(files.cert);
    if (!cert) return std::unexpected(cert.error());
    auto key = read_pem(files.key);
    if (!key) return std::unexpected(key.error());
    return Pems{std::move(*ca), std::move(*cert), std::move(*key)};
}

// gRPC's own framing on top of a payload: room for the other fields of a call.
int max_grpc_message(const BridgeConfig& config) { return static_cast<int>(config.max_message_bytes + 64 * 1024); }

}  // namespace

Result<std::shared_ptr<grpc::ServerCredentials>> server_credentials(const BridgeConfig& config) {
    auto pems = read_pems(config.tls);
    if (!pems) return std::unexpected(pems.error());
    grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_root_certs = pems->ca;
    options.pem_key_cert_pairs.push_back({pems->key, pems->cert});
    return grpc::SslServerCredentials(options);
}

void configure_server(grpc::ServerBuilder& builder, const BridgeConfig& config) {
    builder.SetMaxReceiveMessageSize(max_grpc_message(config));
    builder.SetMaxSendMessageSize(max_grpc_message(config));
    const int keepalive = static_cast<int>(config.keepalive.count());
    // Pings from importing bridges at our own rate are welcome; gRPC's default would answer
    // them with GOAWAY (too_many_pings) and break every watch.
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, keepalive / 2);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    // And we ping them: a watch whose importer vanished ends within two intervals.
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, keepalive);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, keepalive);

    // What others can make the server hold, by gRPC's own means: its memory (under pressure gRPC
    // closes idle connections first, then cancels streams), streams per connection, how long a
    // connection may take to present a certificate (a stranger without one holds nothing
    // longer), and how long a connection with no stream is kept. No maximum connection age: a
    // watch is a stream that lasts as long as its service, and ending it would be its death.
    const ServerLimits& limits = config.limits;
    grpc::ResourceQuota quota("liteipc-bridge");
    quota.Resize(limits.memory_bytes);
    builder.SetResourceQuota(quota);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, static_cast<int>(limits.streams_per_connection));
    builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, static_cast<int>(limits.handshake.count()));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, static_cast<int>(limits.idle.count()));
}

Result<std::shared_ptr<grpc::Channel>> channel_to(const BridgeConfig& config, const Peer& peer) {
    auto pems = read_pems(config.tls);
    if (!pems) return std::unexpected(pems.error());
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pems->ca;
    options.pem_private_key = pems->key;
    options.pem_cert_chain = pems->cert;
    grpc::ChannelArguments args;
    // The peer's certificate must be issued to its identity, whatever address reaches it.
    args.SetSslTargetNameOverride(peer.identity);
    args.SetMaxReceiveMessageSize(max_grpc_message(config));
    args.SetMaxSendMessageSize(max_grpc_message(config));
    const int keepalive = static_cast<int>(config.keepalive.count());
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, keepalive);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, keepalive);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    // One connection per peer per process, never shared with another channel.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(peer.address, grpc::SslCredentials(options), args);
}

std::string caller_identity(const grpc::ServerContextBase& context) {
    auto auth = context.auth_context();
    if (!auth || !auth->IsPeerAuthenticated()) return {};
    auto names = auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
    return names.empty() ? std::string{} : std::string(names.front().data(), names.front().size());
}

}  // namespace liteipc::bridge
