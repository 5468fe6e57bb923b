// The codes of every test service, one set per service and each set named for it. Each set lives
// in a namespace of its own (their short names repeat: kEcho is 1 in most), which the service's
// tests bring in with `using namespace`.
#pragma once

#include <cstdint>

namespace liteipc::testing {

// The system tests' `service` role (handle() in tests/system/test_processes.h).
namespace service_role_codes {
enum ServiceRoleCode : uint32_t {
    kEcho = 1, kWhoAmI = 2, kSleep = 3, kChecksum = 4, kBigReply = 5, kCount = 6, kPipe = 7, kTryReference = 8,
    kTryNumber = 9, kSecret = 10, kStreamMessage = 11, kStreamReport = 12, kRawEcho = 13
};
}  // namespace service_role_codes

// The channel and dispatcher unit tests' service (test_service() in tests/unit/channel_peers.h).
namespace channel_codes {
enum ChannelServiceCode : uint32_t {
    kEcho = 1,        // reply = request payload, status = its size
    kPattern = 2,     // request carries pattern(seed 1); reply = pattern(seed 2) of the same size
    kCount = 3,       // oneway: count it
    kGetCount = 4,    // reply = the count so far (uint64)
    kReplySize = 5,   // request = uint64 size; reply of that size, or status -ENOMEM
    kSleep = 6,       // sleep 5 s, then reply
};
}  // namespace channel_codes

// The chaos test's services (tests/chaos/chaos_peer.cpp).
namespace chaos_codes {
enum ChaosCode : uint32_t {
    kCall = 1,    // request {key, seq, reply size, request buffer}; reply {key, seq, reply bytes}
    kOneway = 2,  // {key, seq, buffer}: counted by the service per sender key
};
}  // namespace chaos_codes

// The older C API's test services (tests/system/liteipc_adapter_test.cpp).
namespace capi_codes {
enum CApiServiceCode : uint32_t { kEcho = 1, kWhoAmI = 2, kSleep = 3, kCount = 4, kGetCount = 5, kCallBack = 6, kToken = 7 };
inline constexpr uint32_t kCallbackCode = 100;  // a call back to the calling test process
}  // namespace capi_codes

// The bridge tests' service (the bridge_service role, tests/bridge/bridge_peers.cpp).
namespace bridge_codes {
enum BridgePeerCode : uint32_t { kEcho = 1, kSleep = 2, kBuffer = 3, kWho = 4, kSum = 5, kDeadline = 6 };
inline constexpr uint32_t kExampleNote = 4;  // the example echo services' oneway note (examples/)
}  // namespace bridge_codes

}  // namespace liteipc::testing
