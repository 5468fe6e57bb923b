// The LiteIPC IpcIo C API as a thin face over liteipc::Writer / liteipc::Reader.
#include "liteipc/serializer.h"

#include <cstring>
#include <new>

#include "liteipc/parcel.h"

namespace liteipc {
namespace {

enum IoMode : uint32_t { kUninitialised = 0, kWriting = 1, kReading = 2 };

static_assert(sizeof(Writer) <= LITEIPC_IPCIO_CORE_SIZE && alignof(Writer) <= alignof(uint64_t));
static_assert(sizeof(Reader) <= LITEIPC_IPCIO_CORE_SIZE && alignof(Reader) <= alignof(uint64_t));
static_assert(std::is_trivially_destructible_v<Reader>, "an IpcIo is dropped without a destructor");

void mark_failed(IpcIo* io) noexcept {
    if (io != nullptr) io->flag |= IPC_IO_OVERFLOW;
}

// Runs a write on io's Writer; an unusable io or a failed write marks the io failed.
template <typename Write>
void push(IpcIo* io, Write&& write) noexcept {
    if (!IpcIoAvailable(io)) return mark_failed(io);
    Writer* writer = ipcio_writer(io);
    if (writer == nullptr) return mark_failed(io);
    write(*writer);
    if (!writer->ok()) mark_failed(io);
}

// Runs a read on io's Reader; returns `zero` when io is unusable or the read failed.
template <typename T, typename Read>
T pop(IpcIo* io, T zero, Read&& read) noexcept {
    Reader* reader = IpcIoAvailable(io) ? ipcio_reader(io) : nullptr;
    if (reader == nullptr) {
        mark_failed(io);
        return zero;
    }
    T value = read(*reader);
    if (reader->ok()) return value;
    mark_failed(io);
    return zero;
}

std::span<const std::byte> as_bytes(const void* data, size_t size) noexcept {
    return {static_cast<const std::byte*>(data), size};
}

}  // namespace

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
}

}  // namespace liteipc

using liteipc::Reader;
using liteipc::Writer;

extern "C" {

void IpcIoInit(IpcIo* io, void* data, size_t maxdata, size_t maxobjects) {
    if (io == nullptr) return;
    std::memset(io, 0, sizeof *io);
    if (data == nullptr || maxdata == 0 || maxobjects > liteipc::kMaxObjects) {
        io->flag = IPC_IO_OVERFLOW;
        return;
    }
    const Writer* writer =
        new (io->core.bytes) Writer(std::span(static_cast<std::byte*>(data), maxdata), nullptr, maxobjects);
    io->mode = liteipc::kWriting;
    io->flag = IPC_IO_INITIALIZED | (writer->ok() ? 0 : IPC_IO_OVERFLOW);
}

void IpcIoInitFromBuffer(IpcIo* io, const void* msg, size_t size) {
    if (io == nullptr) return;
    if (msg == nullptr) {
        std::memset(io, 0, sizeof *io);
        io->flag = IPC_IO_OVERFLOW;
        return;
    }
    // In-process reading: fds are the sender's numbers. The runtime passes its tables through
    // liteipc::ipcio_init_reader.
    liteipc::ipcio_init_reader(io, liteipc::as_bytes(msg, size), {.raw_fds = true});
}

const void* IpcIoGetMessage(IpcIo* io, size_t* size) {
    if (size) *size = 0;
    Writer* writer = IpcIoAvailable(io) ? liteipc::ipcio_writer(io) : nullptr;
    if (writer == nullptr) return nullptr;
    const std::span<const std::byte> message = writer->seal();
    if (!writer->ok()) {
        liteipc::mark_failed(io);
        return nullptr;
    }
    if (size) *size = message.size();
    return message.data();
}

bool IpcIoAvailable(IpcIo* io) {
    if (io == nullptr || (io->flag & IPC_IO_INITIALIZED) == 0 || (io->flag & IPC_IO_OVERFLOW) != 0)
        return false;
    if (const Writer* writer = liteipc::ipcio_writer(io)) return writer->ok();
    if (const Reader* reader = liteipc::ipcio_reader(io)) return reader->ok();
    return false;
}

// Pushes ---------------------------------------------------------------------------------------

void IpcIoPushChar(IpcIo* io, char c) { liteipc::push(io, [=](Writer& w) { w.write_char(c); }); }
void IpcIoPushCharUnaligned(IpcIo* io, char c) { liteipc::push(io, [=](Writer& w) { w.write_char_unaligned(c); }); }
void IpcIoPushBool(IpcIo* io, bool b) { liteipc::push(io, [=](Writer& w) { w.write_bool(b); }); }
void IpcIoPushBoolUnaligned(IpcIo* io, bool b) { liteipc::push(io, [=](Writer& w) { w.write_bool_unaligned(b); }); }
void IpcIoPushIntptr(IpcIo* io, intptr_t n) { liteipc::push(io, [=](Writer& w) { w.write_intptr(n); }); }
void IpcIoPushUintptr(IpcIo* io, uintptr_t n) { liteipc::push(io, [=](Writer& w) { w.write_uintptr(n); }); }
void IpcIoPushInt8(IpcIo* io, int8_t n) { liteipc::push(io, [=](Writer& w) { w.write_int8(n); }); }
void IpcIoPushInt8Unaligned(IpcIo* io, int8_t n) { liteipc::push(io, [=](Writer& w) { w.write_int8_unaligned(n); }); }
void IpcIoPushUint8(IpcIo* io, uint8_t n) { liteipc::push(io, [=](Writer& w) { w.write_uint8(n); }); }
void IpcIoPushUint8Unaligned(IpcIo* io, uint8_t n) { liteipc::push(io, [=](Writer& w) { w.write_uint8_unaligned(n); }); }
void IpcIoPushInt16(IpcIo* io, int16_t n) { liteipc::push(io, [=](Writer& w) { w.write_int16(n); }); }
void IpcIoPushInt16Unaligned(IpcIo* io, int16_t n) { liteipc::push(io, [=](Writer& w) { w.write_int16_unaligned(n); }); }
void IpcIoPushUint16(IpcIo* io, uint16_t n) { liteipc::push(io, [=](Writer& w) { w.write_uint16(n); }); }
void IpcIoPushUint16Unaligned(IpcIo* io, uint16_t n) { liteipc::push(io, [=](Writer& w) { w.write_uint16_unaligned(n); }); }
void IpcIoPushInt32(IpcIo* io, int32_t n) { liteipc::push(io, [=](Writer& w) { w.write_int32(n); }); }
void IpcIoPushUint32(IpcIo* io, uint32_t n) { liteipc::push(io, [=](Writer& w) { w.write_uint32(n); }); }
void IpcIoPushInt64(IpcIo* io, int64_t n) { liteipc::push(io, [=](Writer& w) { w.write_int64(n); }); }
void IpcIoPushUint64(IpcIo* io, uint64_t n) { liteipc::push(io, [=](Writer& w) { w.write_uint64(n); }); }
void IpcIoPushFloat(IpcIo* io, float n) { liteipc::push(io, [=](Writer& w) { w.write_float(n); }); }
void IpcIoPushDouble(IpcIo* io, double n) { liteipc::push(io, [=](Writer& w) { w.write_double(n); }); }

void IpcIoPushString(IpcIo* io, const char* cstr) {
    if (cstr == nullptr) return liteipc::mark_failed(io);
    // strnlen: a missing terminator must not run the copy off the caller's memory.
    const size_t length = strnlen(cstr, liteipc::kMaxStringLength + 1);
    if (length > liteipc::kMaxStringLength) return liteipc::mark_failed(io);
    liteipc::push(io, [=](Writer& w) { w.write_string({cstr, length}); });
}

void IpcIoPushFlatObj(IpcIo* io, const void* obj, uint32_t size) {
    liteipc::push(io, [=](Writer& w) { w.write_flat(obj, size); });
}

void IpcIoPushSvc(IpcIo* io, const SvcIdentity* svc) {
    if (svc == nullptr) return liteipc::mark_failed(io);
    liteipc::push(io, [=](Writer& w) { w.write_service(*svc); });
}

void IpcIoPushFd(IpcIo* io, uint32_t fd) {
    // Above INT32_MAX the conversion gives a negative fd, which write_fd refuses.
    liteipc::push(io, [=](Writer& w) { w.write_fd(static_cast<int>(fd)); });
}

void IpcIoPushDataBuffWithFree(IpcIo* io, const BuffPtr* dataBuff, IpcIoPtrFree ipcIoFree) {
    if (dataBuff == nullptr || dataBuff->buff == nullptr || dataBuff->buffSz == 0)
        return liteipc::mark_failed(io);
    const auto bytes = liteipc::as_bytes(dataBuff->buff, dataBuff->buffSz);
    liteipc::push(io, [=](Writer& w) { w.write_buffer(bytes, {ipcIoFree, dataBuff->buff}); });
}

void IpcIoPushDataBuff(IpcIo* io, const BuffPtr* dataBuff) { IpcIoPushDataBuffWithFree(io, dataBuff, nullptr); }

void IpcIoFreeDataBuff(IpcIo* io) {
    if (Writer* writer = liteipc::ipcio_writer(io)) writer->release_buffers();
}

// Pops -----------------------------------------------------------------------------------------

char IpcIoPopChar(IpcIo* io) { return liteipc::pop(io, char{}, [](Reader& r) { return r.read_char(); }); }
char IpcIoPopCharUnaligned(IpcIo* io) { return liteipc::pop(io, char{}, [](Reader& r) { return r.read_char_unaligned(); }); }
bool IpcIoPopBool(IpcIo* io) { return liteipc::pop(io, false, [](Reader& r) { return r.read_bool(); }); }
bool IpcIoPopBoolUnaligned(IpcIo* io) { return liteipc::pop(io, false, [](Reader& r) { return r.read_bool_unaligned(); }); }
intptr_t IpcIoPopIntptr(IpcIo* io) { return liteipc::pop(io, intptr_t{}, [](Reader& r) { return r.read_intptr(); }); }
uintptr_t IpcIoPopUintptr(IpcIo* io) { return liteipc::pop(io, uintptr_t{}, [](Reader& r) { return r.read_uintptr(); }); }
int8_t IpcIoPopInt8(IpcIo* io) { return liteipc::pop(io, int8_t{}, [](Reader& r) { return r.read_int8(); }); }
int8_t IpcIoPopInt8Unaligned(IpcIo* io) { return liteipc::pop(io, int8_t{}, [](Reader& r) { return r.read_int8_unaligned(); }); }
uint8_t IpcIoPopUint8(IpcIo* io) { return liteipc::pop(io, uint8_t{}, [](Reader& r) { return r.read_uint8(); }); }
uint8_t IpcIoPopUint8Unaligned(IpcIo* io) { return liteipc::pop(io, uint8_t{}, [](Reader& r) { return r.read_uint8_unaligned(); }); }
int16_t IpcIoPopInt16(IpcIo* io) { return liteipc::pop(io, int16_t{}, [](Reader& r) { return r.read_int16(); }); }
int16_t IpcIoPopInt16Unaligned(IpcIo* io) { return liteipc::pop(io, int16_t{}, [](Reader& r) { return r.read_int16_unaligned(); }); }
uint16_t IpcIoPopUint16(IpcIo* io) { return liteipc::pop(io, uint16_t{}, [](Reader& r) { return r.read_uint16(); }); }
uint16_t IpcIoPopUint16Unaligned(IpcIo* io) { return liteipc::pop(io, uint16_t{}, [](Reader& r) { return r.read_uint16_unaligned(); }); }
int32_t IpcIoPopInt32(IpcIo* io) { return liteipc::pop(io, int32_t{}, [](Reader& r) { return r.read_int32(); }); }
uint32_t IpcIoPopUint32(IpcIo* io) { return liteipc::pop(io, uint32_t{}, [](Reader& r) { return r.read_uint32(); }); }
int64_t IpcIoPopInt64(IpcIo* io) { return liteipc::pop(io, int64_t{}, [](Reader& r) { return r.read_int64(); }); }
uint64_t IpcIoPopUint64(IpcIo* io) { return liteipc::pop(io, uint64_t{}, [](Reader& r) { return r.read_uint64(); }); }
float IpcIoPopFloat(IpcIo* io) { return liteipc::pop(io, 0.0f, [](Reader& r) { return r.read_float(); }); }
double IpcIoPopDouble(IpcIo* io) { return liteipc::pop(io, 0.0, [](Reader& r) { return r.read_double(); }); }

uint8_t* IpcIoPopString(IpcIo* io, size_t* sz) {
    if (sz) *sz = 0;
    // Const dropped for LiteIPC's signature; the bytes stay read-only (see serializer.h).
    return liteipc::pop(io, static_cast<uint8_t*>(nullptr), [=](Reader& r) {
        const char* text = r.read_c_string(sz);
        return reinterpret_cast<uint8_t*>(const_cast<char*>(text));
    });
}

void* IpcIoPopFlatObj(IpcIo* io, uint32_t* size) {
    if (size == nullptr) {
        liteipc::mark_failed(io);
        return nullptr;
    }
    *size = 0;
    return liteipc::pop(io, static_cast<void*>(nullptr), [=](Reader& r) {
        const auto bytes = r.read_flat();
        *size = static_cast<uint32_t>(bytes.size());
        return const_cast<std::byte*>(bytes.data());
    });
}

SvcIdentity* IpcIoPopSvc(IpcIo* io) {
    return liteipc::pop(io, static_cast<SvcIdentity*>(nullptr), [=](Reader& r) {
        io->poppedSvc = r.read_service();
        return &io->poppedSvc;
    });
}

int32_t IpcIoPopFd(IpcIo* io) {
    return liteipc::pop(io, int32_t{-1}, [](Reader& r) { return r.take_fd(); });
}

BuffPtr* IpcIoPopDataBuff(IpcIo* io) {
    return liteipc::pop(io, static_cast<BuffPtr*>(nullptr), [=](Reader& r) {
        const auto bytes = r.read_buffer();
        io->poppedBuff = {static_cast<uint32_t>(bytes.size()), const_cast<std::byte*>(bytes.data())};
        return &io->poppedBuff;
    });
}

}  // extern "C"
