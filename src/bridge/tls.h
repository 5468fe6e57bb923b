// gRPC with mutual TLS: both sides present a certificate signed by the configured CA, and each
// checks that the other's certificate names the peer it expects.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "config.h"

namespace liteipc::bridge {

// The server side: a client certificate is required and verified against the CA.
Result<std::shared_ptr<grpc::ServerCredentials>> server_credentials(const BridgeConfig& config);

// Server options: message size bound, keepalive pings accepted at the configured rate, and the
// gRPC limits of config.limits.
void configure_server(grpc::ServerBuilder& builder, const BridgeConfig& config);

// A channel to `peer`: our certificate, the CA, the peer's identity as the name its
// certificate must carry, keepalive pings every config.keepalive that fail after as long again.
Result<std::shared_ptr<grpc::Channel>> channel_to(const BridgeConfig& config, const Peer& peer);

// The CN of the verified client certificate of a call; empty when there is none.
std::string caller_identity(const grpc::ServerContextBase& context);

}  // namespace liteipc::bridge
