// What the transport does for a message's special objects before it goes: service references are
// granted to the receiver (a reference is a capability) and fds are sent beside the message.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "api/context_impl.h"

namespace liteipc::detail {

struct CarriedObjects {
    std::vector<uint32_t> services;  // handles of OBJ_SVC references (handle 0, the manager, left out)
    std::vector<int> fds;            // OBJ_FD numbers in ordinal order, borrowed from the sender
};

// One pass over the offsets table; no allocation for a message without special objects.
CarriedObjects carried_objects(std::span<const std::byte> message);

// Lets `receiver_pid` connect to every referenced service.
Result<> grant_references(Context::Impl& context, std::span<const uint32_t> services, uint32_t receiver_pid);

}  // namespace liteipc::detail
