#include "wire.h"

#include <cstring>

namespace liteipc::bridge {

namespace {

WireObject object_at(std::span<const std::byte> message, uint32_t position) {
    WireObject object;
    std::memcpy(&object, message.data() + sizeof(MessageHeader) + position, sizeof object);
    return object;
}

void store_buffer_offset(std::string& message, uint32_t position, uint64_t offset) {
    const size_t at = sizeof(MessageHeader) + position + offsetof(WireObject, body) + offsetof(WireBuffer, offset);
    std::memcpy(message.data() + at, &offset, sizeof offset);
}

}  // namespace

uint64_t payload_bytes(const wire::Payload& payload) {
    uint64_t total = payload.message().size();
    for (const auto& buffer : payload.buffers()) total += buffer.size();
    return total;
}

std::optional<WireRefusal> encode(std::span<const std::byte> message, Reader reader, uint64_t max_bytes,
                                  wire::Payload& out) {
    MessageLayout layout;
    const char* reason = "";
    if (MessageLayout::validate(message, layout, reason) != ParcelError::none) {
        // Not a liteipc message: a raw payload (call_raw, reply_raw, a batch message).
        if (message.size() > max_bytes)
            return WireRefusal{kStatusTooLarge, "raw payload of " + std::to_string(message.size()) + " B"};
        out.set_raw(true);
        out.set_message(reinterpret_cast<const char*>(message.data()), message.size());
        return std::nullopt;
    }
    uint64_t total = message.size();
    if (total > max_bytes) return WireRefusal{kStatusTooLarge, "message of " + std::to_string(total) + " B"};
    std::string copy(reinterpret_cast<const char*>(message.data()), message.size());
    const uint32_t data_size = layout.data_size;
    for (size_t i = 0; i < layout.object_count; ++i) {
        const uint32_t position = layout.object_offsets[i];
        const WireObject object = object_at(message, position);
        if (object.type == OBJ_FD) return WireRefusal{kStatusFdRefused, "an fd cannot cross hosts"};
        if (object.type == OBJ_SVC) return WireRefusal{kStatusServiceRefused, "a service reference cannot cross hosts"};
        if (object.type != OBJ_PTR) return WireRefusal{kStatusMalformed, "unknown special object"};
        // The reader reads special objects only at its cursor: step over the plain data before it.
        const size_t cursor = data_size - reader.remaining();
        if (position > cursor) reader.read_raw(position - cursor);
        const std::span<const std::byte> bytes = reader.read_buffer();
        if (!reader.ok()) return WireRefusal{kStatusMalformed, reader.error_reason()};
        if (object.flags != kBufferInPool) continue;  // inline: already in the message
        total += bytes.size();
        if (total > max_bytes)
            return WireRefusal{kStatusTooLarge, "message and buffers over " + std::to_string(max_bytes) + " B"};
        store_buffer_offset(copy, position, static_cast<uint64_t>(out.buffers_size()));
        out.add_buffers(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    out.set_message(std::move(copy));
    return std::nullopt;
}

Result<std::span<const std::byte>> decode(const wire::Payload& payload, const AttachBuffer& attach,
                                          std::string& scratch) {
    scratch = payload.message();
    const std::span<const std::byte> message(reinterpret_cast<const std::byte*>(scratch.data()), scratch.size());
    MessageLayout layout;
    const char* reason = "";
    if (MessageLayout::validate(message, layout, reason) != ParcelError::none)
        return fail(Errc::malformed, std::string("bridged message: ") + reason);
    size_t used = 0;
    for (size_t i = 0; i < layout.object_count; ++i) {
        const uint32_t position = layout.object_offsets[i];
        const WireObject object = object_at(message, position);
        if (object.type != OBJ_PTR) return fail(Errc::malformed, "bridged message carries an fd or a service reference");
        if (object.flags != kBufferInPool) continue;
        const WireBuffer wire = object.as<WireBuffer>();
        // Buffers are numbered in the order their objects come: each one used once.
        if (wire.offset != used || used >= static_cast<size_t>(payload.buffers_size()) ||
            payload.buffers(static_cast<int>(used)).size() != wire.length)
            return fail(Errc::malformed, "bridged message: buffer " + std::to_string(used) + " does not match");
        const std::string& bytes = payload.buffers(static_cast<int>(used));
        auto block = attach(bytes.size());
        if (!block) return fail(Errc::no_memory, "no pool space for a " + std::to_string(bytes.size()) + " B buffer");
        std::memcpy(block->bytes.data(), bytes.data(), bytes.size());
        store_buffer_offset(scratch, position, block->offset);
        ++used;
    }
    if (used != static_cast<size_t>(payload.buffers_size())) return fail(Errc::malformed, "bridged message: extra buffers");
    return message;
}

}  // namespace liteipc::bridge
