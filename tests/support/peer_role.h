// The peer side: roles the liteipc_test_peer binary can play, and how a role talks to its test.
//
//   LITEIPC_PEER_ROLE(service) { ContextOptions o = read_context_options(args); ...; return 0; }
//
// A role reads its command line with `args`, reports with report() and takes commands with
// receive(); its return value is the peer's exit status.
#pragma once

#include <array>

#include "peer_args.h"
#include "peer_channel.h"

namespace liteipc::testing {

using PeerRoleBody = int (*)(PeerArgs& args);

// Registers a role under its name before main runs.
struct PeerRoleRegistration {
    PeerRoleRegistration(const char* name, PeerRoleBody body);
};

#define LITEIPC_PEER_ROLE(role)                                                                        \
    static int peer_role_##role(::liteipc::testing::PeerArgs& args);                                   \
    static const ::liteipc::testing::PeerRoleRegistration peer_role_registration_##role(#role,         \
                                                                                        peer_role_##role); \
    static int peer_role_##role([[maybe_unused]] ::liteipc::testing::PeerArgs& args)

template <typename T>
bool report(const T& value) {
    return write_all(kPeerReportFd, &value, sizeof value);
}
template <typename T>
bool receive(T& value) {
    return read_all(kPeerCommandFd, &value, sizeof value);
}

}  // namespace liteipc::testing
