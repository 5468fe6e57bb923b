// How the runtime sends a C API IpcIo: the message is gathered from the IpcIo (its header is not
// in the caller's buffer, see serializer.h) and its data buffers are copied into the sender's pool.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <vector>
#include <array>

#include "liteipc/parcel.h"

namespace liteipc::detail {

inline void mark_failed(IpcIo* io) noexcept {
    if (io != nullptr) io->flag |= IPC_IO_OVERFLOW;
}

// Runs a write on io's Writer; an unusable io, a failed write or data past LiteIPC's room for
// data (dataLimit) marks the io failed.
template <typename Write>
void push(IpcIo* io, Write&& write) noexcept {
    if (!IpcIoAvailable(io)) return mark_failed(io);
    Writer* writer = ipcio_writer(io);
    if (writer == nullptr) return mark_failed(io);
    write(*writer);
    if (!writer->ok() || writer->data_size() > io->dataLimit) mark_failed(io);
    ipcio_sync_view(io);
}

// Runs a read on io's Reader; returns `zero` when io is unusable or the read failed. An IpcIo
// initialised for writing and not written to reads its own buffer, as upstream's does.
template <typename T, typename Read>
T pop(IpcIo* io, T zero, Read&& read) noexcept {
    if (IpcIoAvailable(io) && ipcio_reader(io) == nullptr) ipcio_read_own_buffer(io);
    Reader* reader = IpcIoAvailable(io) ? ipcio_reader(io) : nullptr;
    if (reader == nullptr) {
        mark_failed(io);
        return zero;
    }
    T value = read(*reader);
    ipcio_sync_view(io);
    if (reader->ok()) return value;
    mark_failed(io);
    return zero;
}

// The message IpcIoGetMessage returns, and the data buffers it refers to, per thread
// (IpcIoInitFromBuffer finds them beside it).
struct LocalMessage {
    std::array<std::byte, kMaxMessageSize> message;
    std::vector<std::byte> pool;
};
LocalMessage& local_message();

// Public (liteipc/parcel.h): libliteipc_skeleton sends its IpcIo through them too.
using liteipc::AttachBuffer;
using liteipc::seal_ipcio;

}  // namespace liteipc::detail
