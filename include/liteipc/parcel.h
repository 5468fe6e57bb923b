// Marshalling: Parcel-style paired writes and reads over one wire format, shared with the
// LiteIPC-compatible C API (liteipc/serializer.h).
//
// liteipc/wire_format.h  the message layout, its limits, ParcelError and the sticky error state
// liteipc/parcel_writer.h  Writer, InlineWriter and the PoolAllocator large data buffers go to
// liteipc/parcel_reader.h  Reader, safe against a hostile sender
//
// Errors are sticky: the first failure records a ParcelError and a static reason string;
// every later write is ignored and every later read returns a zero value (0, false, empty
// view, -1 for fds). Check ok() / finish() / status() once at the end.
//
// No heap allocation: Writer works in a caller-provided buffer (or InlineWriter's own
// array), Reader over a span. Only the std::string / std::vector convenience reads allocate.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>

#include "liteipc/export.h"
#include "liteipc/parcel_reader.h"
#include "liteipc/parcel_writer.h"
#include "liteipc/serializer.h"
#include "liteipc/wire_format.h"

namespace liteipc {

// C++ access to an IpcIo, for the runtime: attach a pool or receive tables.
// nullptr when the IpcIo is not in that mode.
LITEIPC_API Writer* ipcio_writer(IpcIo* io) noexcept;
LITEIPC_API Reader* ipcio_reader(IpcIo* io) noexcept;
// IpcIoInitFromBuffer with the transport's tables.
LITEIPC_API void ipcio_init_reader(IpcIo* io, std::span<const std::byte> message, ReaderOptions options) noexcept;
// Brings upstream's public fields (bufferCur, bufferLeft, offsetsLeft...) up to the Writer's or
// Reader's position: after every write or read through the runtime.
LITEIPC_API void ipcio_sync_view(IpcIo* io) noexcept;
// A writing IpcIo nothing was written to turns into one reading its own buffer (upstream:
// IpcIoInit, bytes received into the buffer, then reads). False when it cannot.
LITEIPC_API bool ipcio_read_own_buffer(IpcIo* io) noexcept;

// A block of the sender's pool for one data buffer; nullopt when the pool is full.
using AttachBuffer = std::function<std::optional<PoolSpan>(size_t size)>;
// Writes the sealed message of the writing IpcIo `io` into `out` and copies each data buffer into
// a block from `attach`, the message pointing at it: what Request::adopt and Call::adopt_reply
// send. Errc::invalid_argument for an IpcIo that is not an intact writing one, no_memory when
// `out` or the pool is too small.
LITEIPC_API Result<std::span<const std::byte>> seal_ipcio(IpcIo* io, std::span<std::byte> out,
                                                          const AttachBuffer& attach);

}  // namespace liteipc
