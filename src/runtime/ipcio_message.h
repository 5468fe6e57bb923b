// How the runtime sends a C API IpcIo: the message is gathered from the IpcIo (its header is not
// in the caller's buffer, see serializer.h) and its data buffers are copied into the sender's pool.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>

#include "liteipc/parcel.h"

namespace liteipc::detail {

// A block of the sender's pool for one data buffer; nullopt when the pool is full.
using AttachBuffer = std::function<std::optional<PoolSpan>(size_t size)>;

// Writes the sealed message of the writing IpcIo `io` into `out` and copies each data buffer into
// a block from `attach`, the message pointing at it. Errc::invalid_argument for an IpcIo that is
// not an intact writing one, no_memory when `out` or the pool is too small.
Result<std::span<const std::byte>> seal_ipcio(IpcIo* io, std::span<std::byte> out, const AttachBuffer& attach);

}  // namespace liteipc::detail
