// A liteipc message to the wire and back. Pool-resident data buffers are copied into the gRPC
// message (the receiver's bridge writes them into its own request or reply pool); fds and
// service references cannot mean anything on another host and are refused.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "bridge.pb.h"
#include "liteipc/error.h"
#include "liteipc/parcel.h"

namespace liteipc::bridge {

// Reply statuses a local caller of an imported service gets from the bridge itself (what
// SendRequest returns in C; Reply::status() in C++). Below the range LiteIPC's codes use.
inline constexpr int32_t kStatusPermissionDenied = -11;  // LITEIPC_EPERM: the serving bridge refused our identity
inline constexpr int32_t kStatusTimedOut = -12;          // LITEIPC_ETIMEDOUT: the remote call passed its deadline
inline constexpr int32_t kStatusTooLarge = -40;          // message + buffers over max_message_bytes
inline constexpr int32_t kStatusFdRefused = -41;         // the message carries an fd
inline constexpr int32_t kStatusServiceRefused = -42;    // the message carries a service reference
inline constexpr int32_t kStatusMalformed = -43;         // the message failed validation
inline constexpr int32_t kStatusRemoteFailed = -44;      // the serving side failed otherwise (its log says why)

// Why a message cannot cross, as a reply status.
struct WireRefusal {
    int32_t status;
    std::string reason;
};

// `message` as received (a call's payload or a reply's), `reader` over it with the transport's
// options (it resolves pool buffers). A message that is not a liteipc message crosses raw.
std::optional<WireRefusal> encode(std::span<const std::byte> message, Reader reader, uint64_t max_bytes,
                                  wire::Payload& out);

// Rebuilds the message in `scratch` with its data buffers written into blocks from `attach` (a
// block of the request or reply pool, nullopt when full);
// returns the message to adopt. Errc::malformed when the payload does not describe one,
// Errc::no_memory when the pool is full.
Result<std::span<const std::byte>> decode(const wire::Payload& payload, const AttachBuffer& attach,
                                          std::string& scratch);

// Bytes a payload occupies: its message and its buffers.
uint64_t payload_bytes(const wire::Payload& payload);

}  // namespace liteipc::bridge
