// The newer LiteIPC C API's Write* / Read* (liteipc/rpc/serializer.h) over the same IpcIo and
// Writer / Reader as the older API: one wire.
#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "capi/ipcio_message.h"
#include "common/log.h"
#include "liteipc/parcel.h"

// The newer API's declarations, kept apart from the older API's SvcIdentity.
#undef MIN_BINDER_HANDLE
namespace rpc {
#include "liteipc/rpc/serializer.h"
}

using liteipc::Reader;
using liteipc::Writer;
using liteipc::detail::mark_failed;

namespace {

// A write; false when the io is (or now is) unusable.
template <typename Write>
bool put(IpcIo* io, Write&& write) noexcept {
    liteipc::detail::push(io, std::forward<Write>(write));
    return IpcIoAvailable(io);
}

// A read into *out; false (out untouched) when the io is (or now is) unusable.
template <typename T, typename Read>
bool get(IpcIo* io, T* out, Read&& read) noexcept {
    if (out == nullptr) {
        mark_failed(io);
        return false;
    }
    const T value = liteipc::detail::pop(io, T{}, std::forward<Read>(read));
    if (!IpcIoAvailable(io)) return false;
    *out = value;
    return true;
}

// The older API's LITEIPC_DATA_BUFF_MAX: the largest data buffer of an IpcIo of IpcIoInit.
constexpr size_t kMaxDataBufferBytes = 64 * 1024;
// LiteIpcIo.mode while it is written (ipcio_layout.h).
constexpr uint32_t kWritingMode = 1;

// LiteIPC refuses strings, buffers and raw data from IPC_IO_DATA_MAX bytes on.
bool within_limit(IpcIo* io, size_t size) noexcept {
    if (size < IPC_IO_DATA_MAX || (io != nullptr && io->large)) return true;
    mark_failed(io);
    return false;
}

template <typename T>
bool put_packed_vector(IpcIo* io, const T* values, size_t count) noexcept {
    if (values == nullptr || count == 0 || !within_limit(io, count * sizeof(T))) {
        mark_failed(io);
        return false;
    }
    return put(io, [=](Writer& w) { w.write_flat(values, count * sizeof(T)); });
}

// A pointer into the message (the elements are packed there).
template <typename T>
T* get_packed_vector(IpcIo* io, size_t* count) noexcept {
    if (count == nullptr) {
        mark_failed(io);
        return nullptr;
    }
    *count = 0;
    const auto bytes = liteipc::detail::pop(io, std::span<const std::byte>{}, [](Reader& r) { return r.read_flat(); });
    if (!IpcIoAvailable(io) || bytes.size() % sizeof(T) != 0) {
        mark_failed(io);
        return nullptr;
    }
    *count = bytes.size() / sizeof(T);
    return reinterpret_cast<T*>(const_cast<std::byte*>(bytes.data()));
}

// Bools and int16s travel widened to 4 bytes each; the reader gets a malloc'ed array, as upstream.
template <typename T>
bool put_widened_vector(IpcIo* io, const T* values, size_t count) noexcept {
    if (values == nullptr || count == 0 || count > liteipc::kMaxMessageSize / 4) {
        mark_failed(io);
        return false;
    }
    return put(io, [=](Writer& w) {
        w.write_uint32(static_cast<uint32_t>(count));
        for (size_t i = 0; i < count; ++i) w.write_aligned<int32_t>(values[i]);
    });
}

template <typename T>
T* get_widened_vector(IpcIo* io, size_t* count) noexcept {
    if (count == nullptr) {
        mark_failed(io);
        return nullptr;
    }
    *count = 0;
    uint32_t items = 0;
    if (!get(io, &items, [](Reader& r) { return r.read_uint32(); })) return nullptr;
    Reader* reader = liteipc::ipcio_reader(io);
    if (items == 0 || items > reader->remaining() / 4) {
        mark_failed(io);
        return nullptr;
    }
    auto* out = static_cast<T*>(std::malloc(items * sizeof(T)));
    if (out == nullptr) return nullptr;
    for (uint32_t i = 0; i < items; ++i) out[i] = static_cast<T>(reader->read_aligned<int32_t>());
    liteipc::ipcio_sync_view(io);
    if (!reader->ok()) {
        std::free(out);
        mark_failed(io);
        return nullptr;
    }
    *count = items;
    return out;
}

// A UTF-16 string: uint32 length, the units, a 0 unit, padding.
bool put_string16(IpcIo* io, const uint16_t* value, size_t length) noexcept {
    if (value == nullptr || length == 0 || !within_limit(io, (length + 1) * sizeof(uint16_t))) {
        mark_failed(io);
        return false;
    }
    return put(io, [=](Writer& w) {
        const uint16_t terminator = 0;
        w.write_uint32(static_cast<uint32_t>(length));
        const auto units = std::as_bytes(std::span(value, length));
        std::array<std::byte, liteipc::kMaxMessageSize> joined;  // units and terminator, one padded run
        std::memcpy(joined.data(), units.data(), units.size());
        std::memcpy(joined.data() + units.size(), &terminator, sizeof terminator);
        w.write_raw(std::span(joined.data(), units.size() + sizeof terminator));
    });
}

uint16_t* get_string16(IpcIo* io, size_t* length) noexcept {
    if (length == nullptr) {
        mark_failed(io);
        return nullptr;
    }
    *length = 0;
    uint32_t units = 0;
    if (!get(io, &units, [](Reader& r) { return r.read_uint32(); })) return nullptr;
    if (units >= liteipc::kMaxMessageSize / 2) {
        mark_failed(io);
        return nullptr;
    }
    const auto bytes = liteipc::detail::pop(io, std::span<const std::byte>{},
                                            [=](Reader& r) { return r.read_raw((units + 1) * sizeof(uint16_t)); });
    uint16_t terminator = 1;
    if (bytes.size() == (units + 1) * sizeof(uint16_t)) std::memcpy(&terminator, bytes.data() + units * 2, 2);
    if (!IpcIoAvailable(io) || terminator != 0) {
        mark_failed(io);
        return nullptr;
    }
    *length = units;
    return reinterpret_cast<uint16_t*>(const_cast<std::byte*>(bytes.data()));
}

}  // namespace

namespace rpc {

bool WriteFileDescriptor(IpcIo* io, uint32_t fd) {
    return put(io, [=](Writer& w) { w.write_fd(static_cast<int>(fd)); });
}
int32_t ReadFileDescriptor(IpcIo* io) { return liteipc::detail::pop(io, int32_t{-1}, [](Reader& r) { return r.take_fd(); }); }

bool WriteBool(IpcIo* io, bool value) { return put(io, [=](Writer& w) { w.write_bool(value); }); }
bool WriteInt8(IpcIo* io, int8_t value) { return put(io, [=](Writer& w) { w.write_int8(value); }); }
bool WriteInt16(IpcIo* io, int16_t value) { return put(io, [=](Writer& w) { w.write_int16(value); }); }
bool IpcIoAppend(IpcIo* dst, IpcIo* src) {
    const Writer* from = IpcIoAvailable(src) ? liteipc::ipcio_writer(src) : nullptr;
    if (from == nullptr || !IpcIoAvailable(dst)) {
        LITEIPC_LOG(warn, "IpcIoAppend: dst or src is not a usable IpcIo being written");
        return false;
    }
    if (from->object_count() != 0) {
        LITEIPC_LOG(warn, "IpcIoAppend: src holds objects (fds, references, buffers): write them to dst itself");
        return false;
    }
    // src's data starts at its caller's buffer (the header lies before it, serializer.cpp).
    const std::span<const std::byte> data(reinterpret_cast<const std::byte*>(src->buffer), from->data_size());
    const size_t start = (liteipc::ipcio_writer(dst)->data_size() + 3) & ~size_t{3};
    if (start + ((data.size() + 3) & ~size_t{3}) > dst->dataLimit) {
        LITEIPC_LOG(warn, "IpcIoAppend: dst has no room for src's %zu bytes", data.size());
        return false;  // dst stays usable, as upstream's
    }
    return put(dst, [=](Writer& w) { w.write_raw(data); });
}

bool WriteInt32(IpcIo* io, int32_t value) { return put(io, [=](Writer& w) { w.write_int32(value); }); }
bool WriteInt64(IpcIo* io, int64_t value) { return put(io, [=](Writer& w) { w.write_int64(value); }); }
bool WriteUint8(IpcIo* io, uint8_t value) { return put(io, [=](Writer& w) { w.write_uint8(value); }); }
bool WriteUint16(IpcIo* io, uint16_t value) { return put(io, [=](Writer& w) { w.write_uint16(value); }); }
bool WriteUint32(IpcIo* io, uint32_t value) { return put(io, [=](Writer& w) { w.write_uint32(value); }); }
bool WriteUint64(IpcIo* io, uint64_t value) { return put(io, [=](Writer& w) { w.write_uint64(value); }); }
bool WriteBoolUnaligned(IpcIo* io, bool value) { return put(io, [=](Writer& w) { w.write_bool_unaligned(value); }); }
bool WriteInt8Unaligned(IpcIo* io, int8_t value) { return put(io, [=](Writer& w) { w.write_int8_unaligned(value); }); }
bool WriteInt16Unaligned(IpcIo* io, int16_t value) { return put(io, [=](Writer& w) { w.write_int16_unaligned(value); }); }
bool WriteUint8Unaligned(IpcIo* io, uint8_t value) { return put(io, [=](Writer& w) { w.write_uint8_unaligned(value); }); }
bool WriteUint16Unaligned(IpcIo* io, uint16_t value) { return put(io, [=](Writer& w) { w.write_uint16_unaligned(value); }); }
bool WriteFloat(IpcIo* io, float value) { return put(io, [=](Writer& w) { w.write_float(value); }); }
bool WriteDouble(IpcIo* io, double value) { return put(io, [=](Writer& w) { w.write_double(value); }); }
bool WritePointer(IpcIo* io, uintptr_t value) { return put(io, [=](Writer& w) { w.write_uintptr(value); }); }

bool WriteString(IpcIo* io, const char* value) {
    if (value == nullptr) {
        mark_failed(io);
        return false;
    }
    const size_t length = strnlen(value, liteipc::kMaxStringLength + 1);
    if (length > liteipc::kMaxStringLength || !within_limit(io, length)) {
        mark_failed(io);
        return false;
    }
    return put(io, [=](Writer& w) { w.write_string({value, length}); });
}

bool ReadBool(IpcIo* io, bool* value) { return get(io, value, [](Reader& r) { return r.read_bool(); }); }
bool ReadInt8(IpcIo* io, int8_t* value) { return get(io, value, [](Reader& r) { return r.read_int8(); }); }
bool ReadInt16(IpcIo* io, int16_t* value) { return get(io, value, [](Reader& r) { return r.read_int16(); }); }
bool ReadInt32(IpcIo* io, int32_t* value) { return get(io, value, [](Reader& r) { return r.read_int32(); }); }
bool ReadInt64(IpcIo* io, int64_t* value) { return get(io, value, [](Reader& r) { return r.read_int64(); }); }
bool ReadUint8(IpcIo* io, uint8_t* value) { return get(io, value, [](Reader& r) { return r.read_uint8(); }); }
bool ReadUint16(IpcIo* io, uint16_t* value) { return get(io, value, [](Reader& r) { return r.read_uint16(); }); }
bool ReadUint32(IpcIo* io, uint32_t* value) { return get(io, value, [](Reader& r) { return r.read_uint32(); }); }
bool ReadUint64(IpcIo* io, uint64_t* value) { return get(io, value, [](Reader& r) { return r.read_uint64(); }); }
bool ReadFloat(IpcIo* io, float* value) { return get(io, value, [](Reader& r) { return r.read_float(); }); }
bool ReadDouble(IpcIo* io, double* value) { return get(io, value, [](Reader& r) { return r.read_double(); }); }
uintptr_t ReadPointer(IpcIo* io) { return liteipc::detail::pop(io, uintptr_t{0}, [](Reader& r) { return r.read_uintptr(); }); }
bool ReadBoolUnaligned(IpcIo* io, bool* value) { return get(io, value, [](Reader& r) { return r.read_bool_unaligned(); }); }
bool ReadInt8Unaligned(IpcIo* io, int8_t* value) { return get(io, value, [](Reader& r) { return r.read_int8_unaligned(); }); }
bool ReadInt16Unaligned(IpcIo* io, int16_t* value) { return get(io, value, [](Reader& r) { return r.read_int16_unaligned(); }); }
bool ReadUInt8Unaligned(IpcIo* io, uint8_t* value) { return get(io, value, [](Reader& r) { return r.read_uint8_unaligned(); }); }
bool ReadUInt16Unaligned(IpcIo* io, uint16_t* value) { return get(io, value, [](Reader& r) { return r.read_uint16_unaligned(); }); }

uint8_t* ReadString(IpcIo* io, size_t* len) {
    if (len != nullptr) *len = 0;
    return liteipc::detail::pop(io, static_cast<uint8_t*>(nullptr), [=](Reader& r) {
        return reinterpret_cast<uint8_t*>(const_cast<char*>(r.read_c_string(len)));
    });
}

bool WriteString16(IpcIo* io, const uint16_t* value, size_t len) { return put_string16(io, value, len); }
bool WriteInterfaceToken(IpcIo* io, const uint16_t* name, size_t len) { return put_string16(io, name, len); }
uint16_t* ReadString16(IpcIo* io, size_t* size) { return get_string16(io, size); }
uint16_t* ReadInterfaceToken(IpcIo* io, size_t* size) { return get_string16(io, size); }

bool WriteBuffer(IpcIo* io, const void* data, size_t size) {
    if (data == nullptr || size == 0 || !within_limit(io, size)) {
        mark_failed(io);
        return false;
    }
    return put(io, [=](Writer& w) { w.write_raw({static_cast<const std::byte*>(data), size}); });
}

const uint8_t* ReadBuffer(IpcIo* io, size_t size) {
    if (size == 0) {
        mark_failed(io);
        return nullptr;
    }
    const auto bytes = liteipc::detail::pop(io, std::span<const std::byte>{}, [=](Reader& r) { return r.read_raw(size); });
    return bytes.empty() ? nullptr : reinterpret_cast<const uint8_t*>(bytes.data());
}

bool LiteIpcWriteDataBuffer(IpcIo* io, const void* data, size_t size, void (*release)(void* data)) {
    // `release` runs once whatever happens: at the send, now, or on failure.
    const auto released = [&](bool written) {
        if (release != nullptr && data != nullptr) release(const_cast<void*>(data));
        return written;
    };
    if ((data == nullptr && size != 0) || size > kMaxDataBufferBytes || !IpcIoAvailable(io)) {
        mark_failed(io);
        return released(false);
    }
    // As the older API's IpcIoPushDataBuff (an IpcIo carries data buffers only so), empty ones
    // too: a reference now, the bytes copied into the pool when the IpcIo is sent.
    const uint32_t index = io->buffCount;
    if (io->mode != kWritingMode || index >= LITEIPC_IO_MAX_OBJECTS) {
        mark_failed(io);
        return released(false);
    }
    if (!put(io, [=](Writer& w) { w.write_pool_reference(index, size); })) return released(false);
    io->buffs[index] = {data, release};
    io->buffCount = index + 1;
    return true;
}

const uint8_t* LiteIpcReadDataBuffer(IpcIo* io, size_t* size) {
    if (size != nullptr) *size = 0;
    const auto bytes = liteipc::detail::pop(io, std::span<const std::byte>{}, [](Reader& r) { return r.read_buffer(); });
    if (size == nullptr) {
        mark_failed(io);
        return nullptr;
    }
    *size = bytes.size();
    return bytes.empty() ? nullptr : reinterpret_cast<const uint8_t*>(bytes.data());
}

// Raw data: its size, then the bytes (ReadRawData checks the size it expects).
bool WriteRawData(IpcIo* io, const void* data, size_t size) {
    if (data == nullptr || size == 0 || !within_limit(io, size)) {
        mark_failed(io);
        return false;
    }
    return put(io, [=](Writer& w) { w.write_flat(data, size); });
}

void* ReadRawData(IpcIo* io, size_t size) {
    const auto bytes = liteipc::detail::pop(io, std::span<const std::byte>{}, [](Reader& r) { return r.read_flat(); });
    if (bytes.size() != size || size == 0) {
        mark_failed(io);
        return nullptr;
    }
    return const_cast<std::byte*>(bytes.data());
}

bool WriteBoolVector(IpcIo* io, const bool* val, size_t size) { return put_widened_vector(io, val, size); }
bool WriteInt16Vector(IpcIo* io, const int16_t* val, size_t size) { return put_widened_vector(io, val, size); }
bool WriteInt8Vector(IpcIo* io, const int8_t* val, size_t size) { return put_packed_vector(io, val, size); }
bool WriteInt32Vector(IpcIo* io, const int32_t* val, size_t size) { return put_packed_vector(io, val, size); }
bool WriteInt64Vector(IpcIo* io, const int64_t* val, size_t size) { return put_packed_vector(io, val, size); }
bool WriteUInt8Vector(IpcIo* io, const uint8_t* val, size_t size) { return put_packed_vector(io, val, size); }
bool WriteUInt16Vector(IpcIo* io, const uint16_t* val, size_t size) { return put_packed_vector(io, val, size); }
bool WriteUInt32Vector(IpcIo* io, const uint32_t* val, size_t size) { return put_packed_vector(io, val, size); }
bool WriteUInt64Vector(IpcIo* io, const uint64_t* val, size_t size) { return put_packed_vector(io, val, size); }
bool WriteFloatVector(IpcIo* io, const float* val, size_t size) { return put_packed_vector(io, val, size); }
bool WriteDoubleVector(IpcIo* io, const double* val, size_t size) { return put_packed_vector(io, val, size); }

bool* ReadBoolVector(IpcIo* io, size_t* size) { return get_widened_vector<bool>(io, size); }
int16_t* ReadInt16Vector(IpcIo* io, size_t* size) { return get_widened_vector<int16_t>(io, size); }
int8_t* ReadInt8Vector(IpcIo* io, size_t* size) { return get_packed_vector<int8_t>(io, size); }
int32_t* ReadInt32Vector(IpcIo* io, size_t* size) { return get_packed_vector<int32_t>(io, size); }
int64_t* ReadInt64Vector(IpcIo* io, size_t* size) { return get_packed_vector<int64_t>(io, size); }
uint8_t* ReadUInt8Vector(IpcIo* io, size_t* size) { return get_packed_vector<uint8_t>(io, size); }
uint16_t* ReadUInt16Vector(IpcIo* io, size_t* size) { return get_packed_vector<uint16_t>(io, size); }
uint32_t* ReadUInt32Vector(IpcIo* io, size_t* size) { return get_packed_vector<uint32_t>(io, size); }
uint64_t* ReadUInt64Vector(IpcIo* io, size_t* size) { return get_packed_vector<uint64_t>(io, size); }
float* ReadFloatVector(IpcIo* io, size_t* size) { return get_packed_vector<float>(io, size); }
double* ReadDoubleVector(IpcIo* io, size_t* size) { return get_packed_vector<double>(io, size); }

}  // namespace rpc
