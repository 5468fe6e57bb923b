#include "transport/carried_objects.h"

#include <cstring>

#include "liteipc/parcel.h"
#include "common/log.h"

namespace liteipc::detail {

CarriedObjects carried_objects(std::span<const std::byte> message) {
    CarriedObjects carried;
    MessageHeader header;
    if (message.size() < sizeof header) return carried;
    std::memcpy(&header, message.data(), sizeof header);
    if (header.object_count == 0) return carried;  // the common case: nothing to look at
    auto layout = MessageLayout::parse(message);
    if (!layout) return carried;
    for (size_t i = 0; i < layout->object_count; ++i) {
        WireObject object = layout->object(message, i);
        if (object.type == OBJ_FD) carried.fds.push_back(object.as<WireFd>().fd);
        if (object.type == OBJ_SVC && object.as<SvcIdentity>().handle != 0)
            carried.services.push_back(object.as<SvcIdentity>().handle);
    }
    return carried;
}

Result<> grant_references(Context::Impl& context, std::span<const uint32_t> services, uint32_t receiver_pid) {
    for (uint32_t handle : services) {
        if (auto granted = context.grant_reference(handle, receiver_pid); !granted) {
            LITEIPC_LOG(info, "reference to handle %u not passed to pid %u: %s", handle, receiver_pid,
                        granted.error().describe().c_str());
            return std::unexpected(granted.error());
        }
    }
    return {};
}

}  // namespace liteipc::detail
