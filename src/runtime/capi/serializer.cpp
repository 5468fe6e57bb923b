// The LiteIPC IpcIo C API as a thin face over liteipc::Writer / liteipc::Reader.
//
// A writing IpcIo's Writer works in the caller's buffer with its 16-byte message header *before*
// the buffer: the Writer never touches the header until seal(), which is never called on it;
// seal_ipcio() (ipcio_message.cpp) gathers header, data and offsets into the transport's own
// buffer instead. So the
// whole caller buffer holds data, as LiteIPC's does, and LiteIPC's accounting (dataLimit) decides
// when it is full.
#include "liteipc/serializer.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <vector>

#include "capi/ipcio_message.h"
#include "liteipc/parcel.h"

namespace liteipc {
namespace {

enum IoMode : uint32_t { kUninitialised = 0, kWriting = 1, kReading = 2 };

static_assert(sizeof(Writer) <= LITEIPC_IPCIO_CORE_SIZE && alignof(Writer) <= alignof(uint64_t));
static_assert(sizeof(Reader) <= LITEIPC_IPCIO_CORE_SIZE && alignof(Reader) <= alignof(uint64_t));
static_assert(std::is_trivially_destructible_v<Reader>, "an IpcIo is dropped without a destructor");
// Upstream's public fields at upstream's offsets (LP64): programs read them.
static_assert(offsetof(IpcIo, bufferBase) == 0 && offsetof(IpcIo, offsetsBase) == 8 && offsetof(IpcIo, bufferCur) == 16 &&
              offsetof(IpcIo, offsetsCur) == 24 && offsetof(IpcIo, bufferLeft) == 32 &&
              offsetof(IpcIo, offsetsLeft) == 40 && offsetof(IpcIo, flag) == 48);
static_assert(sizeof(IpcIo::poppedSvc) == sizeof(SvcIdentity) && alignof(decltype(IpcIo::poppedSvc)) == alignof(SvcIdentity));
static_assert(sizeof(IpcIo::poppedBuff) == sizeof(BuffPtr) && alignof(decltype(IpcIo::poppedBuff)) == alignof(BuffPtr));

std::span<const std::byte> as_bytes(const void* data, size_t size) noexcept {
    return {static_cast<const std::byte*>(data), size};
}

// IpcIoInit and LiteIpcIoInitLarge: `limit` is the largest buffer accepted.
void init_writer(IpcIo* io, void* data, size_t maxdata, size_t maxobjects, size_t limit, bool large) noexcept {
    if (io == nullptr) return;
    std::memset(io, 0, sizeof *io);
    io->flag = IPC_IO_OVERFLOW;
    if (data == nullptr || maxdata == 0 || maxdata > limit || maxobjects > kMaxObjects) {
        return;
    }
    // LiteIPC keeps maxobjects offsets (size_t each) in the buffer; the rest holds data.
    const size_t reserved = maxobjects * sizeof(size_t);
    if (reserved > maxdata) return;
    io->dataLimit = static_cast<uint32_t>(maxdata - reserved);
    io->large = large ? 1 : 0;
    io->buffer = static_cast<unsigned char*>(data);
    // Our offsets entries (4 bytes each) stack down from tableEnd; data at most dataLimit and at
    // most maxobjects entries always fit below it: dataLimit + 4 * maxobjects <= maxdata.
    io->tableEnd = static_cast<uint32_t>(io->dataLimit + 4 * maxobjects);
    // The header's 16 bytes lie before the buffer and are never written (see the top).
    std::byte* base = reinterpret_cast<std::byte*>(io->buffer) - sizeof(MessageHeader);
    const Writer* writer =
        new (io->core.bytes) Writer(std::span(base, io->tableEnd + sizeof(MessageHeader)), nullptr, maxobjects);
    io->mode = kWriting;
    io->flag = IPC_IO_INITIALIZED | (writer->ok() ? 0 : IPC_IO_OVERFLOW);
    ipcio_sync_view(io);
}

}  // namespace

detail::LocalMessage& detail::local_message() {
    thread_local LocalMessage local;
    return local;
}

Writer* ipcio_writer(IpcIo* io) noexcept {
    if (io == nullptr || io->mode != kWriting) return nullptr;
    return std::launder(reinterpret_cast<Writer*>(io->core.bytes));
}

Reader* ipcio_reader(IpcIo* io) noexcept {
    if (io == nullptr || io->mode != kReading) return nullptr;
    return std::launder(reinterpret_cast<Reader*>(io->core.bytes));
}

void ipcio_init_reader(IpcIo* io, std::span<const std::byte> message, ReaderOptions options) noexcept {
    if (io == nullptr) return;
    std::memset(io, 0, sizeof *io);
    const Reader* reader = new (io->core.bytes) Reader(message, options);
    io->mode = kReading;
    io->flag = IPC_IO_INITIALIZED | (reader->ok() ? 0 : IPC_IO_OVERFLOW);
    ipcio_sync_view(io);
}

void ipcio_sync_view(IpcIo* io) noexcept {
    if (io == nullptr) return;
    io->offsetsBase = nullptr;  // liteipc keeps the objects' offsets itself
    io->offsetsCur = nullptr;
    if (const Writer* writer = ipcio_writer(io)) {
        const size_t used = std::min<size_t>(writer->data_size(), io->dataLimit);
        const size_t slots = (io->tableEnd - io->dataLimit) / 4;  // maxobjects (init_writer)
        io->bufferBase = reinterpret_cast<char*>(io->buffer);
        io->bufferCur = io->bufferBase + used;
        io->bufferLeft = io->dataLimit - used;
        io->offsetsLeft = slots - std::min(slots, writer->object_count());
    } else if (const Reader* reader = ipcio_reader(io)) {
        const size_t size = reader->layout().data_size;
        const size_t read = std::min(reader->position(), size);
        io->bufferBase = const_cast<char*>(reinterpret_cast<const char*>(reader->data_begin()));
        io->bufferCur = io->bufferBase == nullptr ? nullptr : io->bufferBase + read;
        io->bufferLeft = size - read;
        io->offsetsLeft = reader->objects_left();
    } else {
        io->bufferBase = io->bufferCur = nullptr;
        io->bufferLeft = io->offsetsLeft = 0;
    }
}

bool ipcio_read_own_buffer(IpcIo* io) noexcept {
    const Writer* writer = IpcIoAvailable(io) ? ipcio_writer(io) : nullptr;
    if (writer == nullptr || writer->data_size() != 0 || writer->object_count() != 0) return false;
    // The Writer holds nothing yet (no data, no buffers to release): the Reader takes its place.
    const std::span<const std::byte> data(reinterpret_cast<const std::byte*>(io->buffer), io->dataLimit);
    new (io->core.bytes) Reader(Reader::over_data(data));
    io->mode = kReading;
    ipcio_sync_view(io);
    return true;
}

}  // namespace liteipc

using liteipc::Reader;
using liteipc::Writer;

extern "C" {

void IpcIoInit(IpcIo* io, void* data, size_t maxdata, size_t maxobjects) {
    liteipc::init_writer(io, data, maxdata, maxobjects, IPC_IO_DATA_MAX, false);
}

void LiteIpcIoInitLarge(IpcIo* io, void* data, size_t maxdata, size_t maxobjects) {
    liteipc::init_writer(io, data, maxdata, maxobjects, LITEIPC_IO_LARGE_DATA_MAX, true);
}

void IpcIoInitFromBuffer(IpcIo* io, const void* msg, size_t size) {
    if (io == nullptr) return;
    if (msg == nullptr) {
        std::memset(io, 0, sizeof *io);
        io->flag = IPC_IO_OVERFLOW;
        return;
    }
    // In-process reading: fds are the sender's numbers; a message from IpcIoGetMessage on this
    // thread finds its data buffers beside it. The runtime passes its tables through
    // liteipc::ipcio_init_reader.
    liteipc::ReaderOptions options{.raw_fds = true};
    auto& local = liteipc::detail::local_message();
    if (msg == local.message.data()) options.peer_pool = local.pool;
    liteipc::ipcio_init_reader(io, liteipc::as_bytes(msg, size), options);
}

bool IpcIoAvailable(IpcIo* io) {
    if (io == nullptr || (io->flag & IPC_IO_INITIALIZED) == 0 || (io->flag & IPC_IO_OVERFLOW) != 0)
        return false;
    if (const Writer* writer = liteipc::ipcio_writer(io)) return writer->ok();
    if (const Reader* reader = liteipc::ipcio_reader(io)) return reader->ok();
    return false;
}

// Pushes ---------------------------------------------------------------------------------------

void IpcIoPushChar(IpcIo* io, char c) { liteipc::detail::push(io, [=](Writer& w) { w.write_char(c); }); }
void IpcIoPushCharUnaligned(IpcIo* io, char c) { liteipc::detail::push(io, [=](Writer& w) { w.write_char_unaligned(c); }); }
void IpcIoPushBool(IpcIo* io, bool b) { liteipc::detail::push(io, [=](Writer& w) { w.write_bool(b); }); }
void IpcIoPushBoolUnaligned(IpcIo* io, bool b) { liteipc::detail::push(io, [=](Writer& w) { w.write_bool_unaligned(b); }); }
void IpcIoPushIntptr(IpcIo* io, intptr_t n) { liteipc::detail::push(io, [=](Writer& w) { w.write_intptr(n); }); }
void IpcIoPushUintptr(IpcIo* io, uintptr_t n) { liteipc::detail::push(io, [=](Writer& w) { w.write_uintptr(n); }); }
void IpcIoPushInt8(IpcIo* io, int8_t n) { liteipc::detail::push(io, [=](Writer& w) { w.write_int8(n); }); }
void IpcIoPushInt8Unaligned(IpcIo* io, int8_t n) { liteipc::detail::push(io, [=](Writer& w) { w.write_int8_unaligned(n); }); }
void IpcIoPushUint8(IpcIo* io, uint8_t n) { liteipc::detail::push(io, [=](Writer& w) { w.write_uint8(n); }); }
void IpcIoPushUint8Unaligned(IpcIo* io, uint8_t n) { liteipc::detail::push(io, [=](Writer& w) { w.write_uint8_unaligned(n); }); }
void IpcIoPushInt16(IpcIo* io, int16_t n) { liteipc::detail::push(io, [=](Writer& w) { w.write_int16(n); }); }
void IpcIoPushInt16Unaligned(IpcIo* io, int16_t n) { liteipc::detail::push(io, [=](Writer& w) { w.write_int16_unaligned(n); }); }
void IpcIoPushUint16(IpcIo* io, uint16_t n) { liteipc::detail::push(io, [=](Writer& w) { w.write_uint16(n); }); }
void IpcIoPushUint16Unaligned(IpcIo* io, uint16_t n) { liteipc::detail::push(io, [=](Writer& w) { w.write_uint16_unaligned(n); }); }
void IpcIoPushInt32(IpcIo* io, int32_t n) { liteipc::detail::push(io, [=](Writer& w) { w.write_int32(n); }); }
void IpcIoPushUint32(IpcIo* io, uint32_t n) { liteipc::detail::push(io, [=](Writer& w) { w.write_uint32(n); }); }
void IpcIoPushInt64(IpcIo* io, int64_t n) { liteipc::detail::push(io, [=](Writer& w) { w.write_int64(n); }); }
void IpcIoPushUint64(IpcIo* io, uint64_t n) { liteipc::detail::push(io, [=](Writer& w) { w.write_uint64(n); }); }
void IpcIoPushFloat(IpcIo* io, float n) { liteipc::detail::push(io, [=](Writer& w) { w.write_float(n); }); }
void IpcIoPushDouble(IpcIo* io, double n) { liteipc::detail::push(io, [=](Writer& w) { w.write_double(n); }); }

void IpcIoPushString(IpcIo* io, const char* cstr) {
    if (cstr == nullptr) return liteipc::detail::mark_failed(io);
    // strnlen: a missing terminator must not run the copy off the caller's memory. LiteIPC
    // refuses strings of IPC_IO_DATA_MAX bytes or more.
    const size_t limit = io != nullptr && io->large ? liteipc::kMaxStringLength : IPC_IO_DATA_MAX - 1;
    const size_t length = strnlen(cstr, limit + 1);
    if (length > limit) return liteipc::detail::mark_failed(io);
    liteipc::detail::push(io, [=](Writer& w) { w.write_string({cstr, length}); });
}

void IpcIoPushFlatObj(IpcIo* io, const void* obj, uint32_t size) {
    if (io != nullptr && !io->large && size > IPC_IO_DATA_MAX) return liteipc::detail::mark_failed(io);
    liteipc::detail::push(io, [=](Writer& w) { w.write_flat(obj, size); });
}

void IpcIoPushSvc(IpcIo* io, const SvcIdentity* svc) {
    if (svc == nullptr) return liteipc::detail::mark_failed(io);
    liteipc::detail::push(io, [=](Writer& w) { w.write_service(*svc); });
}

void IpcIoPushFd(IpcIo* io, uint32_t fd) {
    // Above INT32_MAX the conversion gives a negative fd, which write_fd refuses.
    liteipc::detail::push(io, [=](Writer& w) { w.write_fd(static_cast<int>(fd)); });
}

void IpcIoPushDataBuffWithFree(IpcIo* io, const BuffPtr* dataBuff, IpcIoPtrFree ipcIoFree) {
    if (dataBuff == nullptr || dataBuff->buff == nullptr || dataBuff->buffSz == 0)
        return liteipc::detail::mark_failed(io);
    if (!IpcIoAvailable(io) || io->mode != liteipc::kWriting) return liteipc::detail::mark_failed(io);
    const size_t limit = io->large ? liteipc::kMaxPoolBufferSize : LITEIPC_DATA_BUFF_MAX;
    if (dataBuff->buffSz > limit) return liteipc::detail::mark_failed(io);
    // Only a reference now (the index of the buffer); the bytes go into the pool at the send.
    const uint32_t index = io->buffCount;
    liteipc::detail::push(io, [=](Writer& w) { w.write_pool_reference(index, dataBuff->buffSz); });
    if (!IpcIoAvailable(io)) return;
    io->buffs[index] = {dataBuff->buff, ipcIoFree};
    io->buffCount = index + 1;
}

void IpcIoPushDataBuff(IpcIo* io, const BuffPtr* dataBuff) { IpcIoPushDataBuffWithFree(io, dataBuff, nullptr); }

void IpcIoFreeDataBuff(IpcIo* io) {
    if (io == nullptr || io->mode != liteipc::kWriting) return;
    // Each entry is cleared before its call, so a reentrant IpcIoFreeDataBuff never repeats it.
    for (uint32_t i = 0; i < io->buffCount && i < LITEIPC_IO_MAX_OBJECTS; ++i) {
        const IpcIoPtrFree release = io->buffs[i].release;
        io->buffs[i].release = nullptr;
        if (release != nullptr) release(const_cast<void*>(io->buffs[i].buff));
    }
}

// Pops -----------------------------------------------------------------------------------------

char IpcIoPopChar(IpcIo* io) { return liteipc::detail::pop(io, char{}, [](Reader& r) { return r.read_char(); }); }
char IpcIoPopCharUnaligned(IpcIo* io) { return liteipc::detail::pop(io, char{}, [](Reader& r) { return r.read_char_unaligned(); }); }
bool IpcIoPopBool(IpcIo* io) { return liteipc::detail::pop(io, false, [](Reader& r) { return r.read_bool(); }); }
bool IpcIoPopBoolUnaligned(IpcIo* io) { return liteipc::detail::pop(io, false, [](Reader& r) { return r.read_bool_unaligned(); }); }
intptr_t IpcIoPopIntptr(IpcIo* io) { return liteipc::detail::pop(io, intptr_t{}, [](Reader& r) { return r.read_intptr(); }); }
uintptr_t IpcIoPopUintptr(IpcIo* io) { return liteipc::detail::pop(io, uintptr_t{}, [](Reader& r) { return r.read_uintptr(); }); }
int8_t IpcIoPopInt8(IpcIo* io) { return liteipc::detail::pop(io, int8_t{}, [](Reader& r) { return r.read_int8(); }); }
int8_t IpcIoPopInt8Unaligned(IpcIo* io) { return liteipc::detail::pop(io, int8_t{}, [](Reader& r) { return r.read_int8_unaligned(); }); }
uint8_t IpcIoPopUint8(IpcIo* io) { return liteipc::detail::pop(io, uint8_t{}, [](Reader& r) { return r.read_uint8(); }); }
uint8_t IpcIoPopUint8Unaligned(IpcIo* io) { return liteipc::detail::pop(io, uint8_t{}, [](Reader& r) { return r.read_uint8_unaligned(); }); }
int16_t IpcIoPopInt16(IpcIo* io) { return liteipc::detail::pop(io, int16_t{}, [](Reader& r) { return r.read_int16(); }); }
int16_t IpcIoPopInt16Unaligned(IpcIo* io) { return liteipc::detail::pop(io, int16_t{}, [](Reader& r) { return r.read_int16_unaligned(); }); }
uint16_t IpcIoPopUint16(IpcIo* io) { return liteipc::detail::pop(io, uint16_t{}, [](Reader& r) { return r.read_uint16(); }); }
uint16_t IpcIoPopUint16Unaligned(IpcIo* io) { return liteipc::detail::pop(io, uint16_t{}, [](Reader& r) { return r.read_uint16_unaligned(); }); }
int32_t IpcIoPopInt32(IpcIo* io) { return liteipc::detail::pop(io, int32_t{}, [](Reader& r) { return r.read_int32(); }); }
uint32_t IpcIoPopUint32(IpcIo* io) { return liteipc::detail::pop(io, uint32_t{}, [](Reader& r) { return r.read_uint32(); }); }
int64_t IpcIoPopInt64(IpcIo* io) { return liteipc::detail::pop(io, int64_t{}, [](Reader& r) { return r.read_int64(); }); }
uint64_t IpcIoPopUint64(IpcIo* io) { return liteipc::detail::pop(io, uint64_t{}, [](Reader& r) { return r.read_uint64(); }); }
float IpcIoPopFloat(IpcIo* io) { return liteipc::detail::pop(io, 0.0f, [](Reader& r) { return r.read_float(); }); }
double IpcIoPopDouble(IpcIo* io) { return liteipc::detail::pop(io, 0.0, [](Reader& r) { return r.read_double(); }); }

uint8_t* IpcIoPopString(IpcIo* io, size_t* sz) {
    if (sz) *sz = 0;
    // Const dropped for LiteIPC's signature; the bytes stay read-only (see serializer.h).
    return liteipc::detail::pop(io, static_cast<uint8_t*>(nullptr), [=](Reader& r) {
        const char* text = r.read_c_string(sz);
        return reinterpret_cast<uint8_t*>(const_cast<char*>(text));
    });
}

void* IpcIoPopFlatObj(IpcIo* io, uint32_t* size) {
    if (size == nullptr) {
        liteipc::detail::mark_failed(io);
        return nullptr;
    }
    *size = 0;
    return liteipc::detail::pop(io, static_cast<void*>(nullptr), [=](Reader& r) {
        const auto bytes = r.read_flat();
        *size = static_cast<uint32_t>(bytes.size());
        return const_cast<std::byte*>(bytes.data());
    });
}

SvcIdentity* IpcIoPopSvc(IpcIo* io) {
    return liteipc::detail::pop(io, static_cast<SvcIdentity*>(nullptr), [=](Reader& r) {
        const SvcIdentity svc = r.read_service();
        std::memcpy(&io->poppedSvc, &svc, sizeof svc);
        return reinterpret_cast<SvcIdentity*>(&io->poppedSvc);
    });
}

int32_t IpcIoPopFd(IpcIo* io) {
    return liteipc::detail::pop(io, int32_t{-1}, [](Reader& r) { return r.take_fd(); });
}

BuffPtr* IpcIoPopDataBuff(IpcIo* io) {
    return liteipc::detail::pop(io, static_cast<BuffPtr*>(nullptr), [=](Reader& r) {
        const auto bytes = r.read_buffer();
        io->poppedBuff = {static_cast<uint32_t>(bytes.size()), const_cast<std::byte*>(bytes.data())};
        return reinterpret_cast<BuffPtr*>(&io->poppedBuff);
    });
}

}  // extern "C"
