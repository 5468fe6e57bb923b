// Sealing a C API IpcIo for the transport (seal_ipcio) and for in-process reading
// (IpcIoGetMessage): apart from serializer.cpp, which the fuzz target builds on its own.
#include "capi/ipcio_message.h"

#include <cstring>

namespace liteipc {

Result<std::span<const std::byte>> seal_ipcio(IpcIo* io, std::span<std::byte> out, const AttachBuffer& attach) {
    Writer* writer = IpcIoAvailable(io) ? ipcio_writer(io) : nullptr;
    if (writer == nullptr) return fail(Errc::invalid_argument, "not an intact IpcIo written with IpcIoInit");
    const size_t data_size = writer->data_size();
    const size_t padded = (data_size + kWireAlignment - 1) & ~(kWireAlignment - 1);
    const size_t count = writer->object_count();
    const size_t size = sizeof(MessageHeader) + padded + count * sizeof(uint32_t);
    if (size > out.size()) return fail(Errc::no_memory, "message larger than the transport's buffer");
    const MessageHeader header{kMessageMagic, static_cast<uint32_t>(data_size), static_cast<uint32_t>(count), 0};
    std::memcpy(out.data(), &header, sizeof header);
    std::memcpy(out.data() + sizeof header, io->buffer, data_size);
    std::memset(out.data() + sizeof header + data_size, 0, padded - data_size);
    // The Writer stacks entry i at tableEnd - 4 * (i + 1).
    std::byte* table = out.data() + sizeof header + padded;
    for (size_t i = 0; i < count; ++i)
        std::memcpy(table + i * sizeof(uint32_t), io->buffer + io->tableEnd - (i + 1) * sizeof(uint32_t),
                    sizeof(uint32_t));
    // Data buffers: the reference holds the index of the buffer in io->buffs until now.
    for (size_t i = 0; i < count; ++i) {
        uint32_t position;
        std::memcpy(&position, table + i * sizeof position, sizeof position);
        std::byte* slot = out.data() + sizeof header + position;
        WireObject object;
        std::memcpy(&object, slot, sizeof object);
        if (object.type != OBJ_PTR) continue;
        WireBuffer body = object.as<WireBuffer>();
        if (body.offset >= io->buffCount) return fail(Errc::invalid_argument, "IpcIo data buffer index out of range");
        if (body.length == 0) {
            // Nothing for the pool (LiteIpcWriteDataBuffer's empty byte[]): an empty inline buffer.
            object.flags = kBufferInline;
            body.offset = position + sizeof(WireObject);
            std::memcpy(slot, &object, sizeof object);
            std::memcpy(slot + offsetof(WireObject, body), &body, sizeof body);
            continue;
        }
        auto block = attach(body.length);
        if (!block || block->bytes.size() < body.length)
            return fail(Errc::no_memory, "the pool has no room for a data buffer of " + std::to_string(body.length) +
                                             " bytes");
        std::memcpy(block->bytes.data(), io->buffs[body.offset].buff, body.length);
        body.offset = block->offset;
        std::memcpy(slot + offsetof(WireObject, body), &body, sizeof body);
    }
    return std::span<const std::byte>(out.data(), size);
}

}  // namespace liteipc

extern "C" {

const void* IpcIoGetMessage(IpcIo* io, size_t* size) {
    if (size) *size = 0;
    auto& local = liteipc::detail::local_message();
    local.pool.clear();
    auto sealed = liteipc::detail::seal_ipcio(io, local.message, [&](size_t length) -> std::optional<liteipc::PoolSpan> {
        const size_t offset = local.pool.size();
        local.pool.resize(offset + length);
        return liteipc::PoolSpan{offset, std::span(local.pool).subspan(offset, length)};
    });
    if (!sealed) {
        liteipc::detail::mark_failed(io);
        return nullptr;
    }
    if (size) *size = sealed->size();
    return sealed->data();
}

}  // extern "C"
