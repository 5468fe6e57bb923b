// liteipc's message wire format, shared by the Parcel Writer and Reader (liteipc/parcel.h) and
// the LiteIPC-compatible C API (liteipc/serializer.h).
//
// Wire format (native byte order: both ends run on the same host)
// ---------------------------------------------------------------
//   message = MessageHeader (16 B) | data section (data_size B, zero-padded to 4) |
//             offsets table (object_count x uint32_t)
//
// * Aligned values start at a 4-byte aligned data position and occupy their size rounded up
//   to 4; bool, char, int8/uint8 and int16/uint16 are widened to 32 bits, as LiteIPC does.
//   The *_unaligned variants (1- and 2-byte values) are packed with no padding; the next
//   aligned value pads up to 4. Padding bytes are zero.
// * Strings: uint32 length, the bytes, a NUL, padding. Byte arrays and vectors: uint32 count,
//   the elements, padding. Flat objects: uint32 size, the bytes, padding.
// * Special objects (fd, service reference, data buffer) are a 24-byte WireObject at an
//   aligned data position; the offsets table lists the position of every one of them, in
//   increasing order, so the transport can find and translate them without parsing the data.
//   Plain reads never cross the next special object, and an object is read only where the
//   offsets table says one is: a value can't be read as an object or an object as a value.
// * Data buffers (OBJ_PTR) of at most kInlineBufferThreshold bytes, or written without a
//   PoolAllocator, are copied into the data section right after their WireObject. Larger ones
//   are written once into the sender's pool; the object records {pool offset, length} and the
//   receiver reads them in place through its read-only mapping of that pool.
//
// Limits: kMaxMessageSize for a whole message (header, data, offsets), kMaxObjects special
// objects, kMaxStringLength per string, kMaxPoolBufferSize per pool-resident buffer.
//
// Errors are sticky: the first failure records a ParcelError and a static reason string;
// every later write is ignored and every later read returns a zero value (0, false, empty
// view, -1 for fds). Check ok() / finish() / status() once at the end.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

#include "liteipc/error.h"
#include "liteipc/export.h"
#include "liteipc/serializer.h"

namespace liteipc {

using ::BuffPtr;
using ::ObjType;
using ::SvcIdentity;

inline constexpr size_t kWireAlignment = 4;
inline constexpr size_t kMaxMessageSize = 64 * 1024;
inline constexpr size_t kMaxObjects = 32;
inline constexpr size_t kInlineBufferThreshold = 256;
inline constexpr size_t kMaxPoolBufferSize = 64 * 1024 * 1024;
inline constexpr size_t kMaxPendingReleases = 8;
inline constexpr uint32_t kMessageMagic = 0x4350494c;  // "LIPC", version 1

struct MessageHeader {
    uint32_t magic;
    uint32_t data_size;     // bytes of data, without the final padding
    uint32_t object_count;  // entries in the offsets table
    uint32_t reserved;      // zero
};
static_assert(sizeof(MessageHeader) == 16);

inline constexpr size_t kMaxStringLength = kMaxMessageSize - sizeof(MessageHeader) - 8;

// Flags of a WireObject of type OBJ_PTR: where its bytes are.
inline constexpr uint32_t kBufferInline = 1;  // in the data section, right after the object
inline constexpr uint32_t kBufferInPool = 2;  // in the sender's pool

// Body of an OBJ_FD: the sender's fd number and its ordinal among the message's fds, which is
// the index of the fd in the table the transport delivers with the message (SCM_RIGHTS order).
struct WireFd {
    int32_t fd;
    uint32_t ordinal;
    uint64_t reserved;
};

// Body of an OBJ_PTR. offset: a data position (kBufferInline) or a pool offset (kBufferInPool).
struct WireBuffer {
    uint64_t offset;
    uint64_t length;
};

// A special object as it sits in the data section.
struct WireObject {
    uint32_t type;   // ObjType
    uint32_t flags;  // kBufferInline / kBufferInPool for OBJ_PTR, else 0
    std::array<std::byte, 16> body;  // WireFd, SvcIdentity or WireBuffer

    template <typename Body>
    Body as() const noexcept {
        static_assert(sizeof(Body) == sizeof(body) && std::is_trivially_copyable_v<Body>);
        Body out;
        std::memcpy(&out, body.data(), sizeof out);
        return out;
    }
};
static_assert(sizeof(WireObject) == 24 && sizeof(SvcIdentity) == 16);

enum class ParcelError : uint8_t {
    none = 0,
    out_of_space,       // writer: the buffer (or kMaxMessageSize) is full
    too_many_objects,   // more special objects than allowed
    invalid_argument,   // null pointer, negative fd, value over a documented limit
    pool_exhausted,     // the PoolAllocator refused the allocation
    sealed,             // write after finish(), or a write on a reader (C API)
    bad_header,         // magic, sizes or offsets table don't describe the message
    bad_offsets,        // an offsets entry is misaligned, out of the data, unordered, overlapping
    truncated,          // read past the end of the data or across the next special object
    object_expected,    // a special object read where the offsets table lists none
    object_mismatch,    // the special object at the cursor has another type or is malformed
    bad_string,         // string without terminator or with a lying length
    bad_length,         // a length/count that is too large, overflows or doesn't match
    buffer_out_of_bounds,  // a data buffer outside the message or the peer pool
    no_pool,            // a pool-resident buffer but no peer pool mapping to read it from
    bad_fd,             // fd ordinal out of sequence or not delivered with the message
};

LITEIPC_API std::string_view to_string(ParcelError error) noexcept;

// Sticky error state shared by Writer and Reader.
class LITEIPC_API ParcelStatus {
public:
    bool ok() const noexcept { return error_ == ParcelError::none; }
    ParcelError error() const noexcept { return error_; }
    // Static string saying what failed first ("" when ok).
    const char* error_reason() const noexcept { return reason_; }
    // The state as the project's error model: Errc::malformed for a bad message, no_memory
    // for a full buffer or pool, invalid_argument otherwise.
    Result<void> status() const;

protected:
    // Records the first failure only; later ones are consequences of it.
    void fail(ParcelError error, const char* reason) noexcept {
        if (error_ == ParcelError::none) {
            error_ = error;
            reason_ = reason;
        }
    }

private:
    ParcelError error_ = ParcelError::none;
    const char* reason_ = "";
};

template <typename T>
concept WireScalar = std::is_arithmetic_v<T> && (sizeof(T) == 1 || sizeof(T) == 2 ||
                                                 sizeof(T) == 4 || sizeof(T) == 8);
template <typename T>
concept FlatObject = std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>;

// The validated, private copy of a message's header and offsets table.
struct LITEIPC_API MessageLayout {
    uint32_t data_size = 0;
    uint32_t object_count = 0;
    // Data positions, increasing; entries past object_count are unspecified (left unwritten:
    // zeroing them costs more than the rest of a small message's validation).
    std::array<uint32_t, kMaxObjects> object_offsets;
    size_t message_size = 0;                             // header + padded data + offsets

    // Validates `message` (read once) and returns its layout; Errc::malformed with the reason.
    static Result<MessageLayout> parse(std::span<const std::byte> message);
    // The same without the error model: fills `layout` or returns the error and its reason.
    static ParcelError validate(std::span<const std::byte> message, MessageLayout& layout,
                                const char*& reason) noexcept;
    // A private copy of special object `index` (< object_count) of a parsed message.
    WireObject object(std::span<const std::byte> message, size_t index) const noexcept;
};

// Validates a message from one private copy of its header and offsets table.
inline ParcelError MessageLayout::validate(std::span<const std::byte> message, MessageLayout& layout,
                                           const char*& reason) noexcept {
    if (message.size() < sizeof(MessageHeader)) [[unlikely]] {
        reason = "message shorter than its header";
        return ParcelError::bad_header;
    }
    MessageHeader header;
    std::memcpy(&header, message.data(), sizeof header);
    if (header.magic != kMessageMagic || header.reserved != 0) [[unlikely]] {
        reason = "not a liteipc message (magic or version)";
        return ParcelError::bad_header;
    }
    if (header.data_size > kMaxMessageSize || header.object_count > kMaxObjects) [[unlikely]] {
        reason = "data size or object count over the limit";
        return ParcelError::bad_header;
    }
    const size_t padded_data = (size_t{header.data_size} + kWireAlignment - 1) & ~(kWireAlignment - 1);
    const size_t message_size = sizeof(MessageHeader) + padded_data + header.object_count * sizeof(uint32_t);
    if (message_size > kMaxMessageSize || message_size > message.size()) [[unlikely]] {
        reason = "message shorter than its header says";
        return ParcelError::bad_header;
    }
    layout.data_size = header.data_size;
    layout.object_count = header.object_count;
    layout.message_size = message_size;
    // One pass: each entry is copied once into the layout, and that copy is checked. Every
    // object lies inside the data, aligned, after the end of the previous one.
    const std::byte* table = message.data() + sizeof(MessageHeader) + padded_data;
    size_t first_free = 0;
    for (size_t i = 0; i < header.object_count; ++i) {
        uint32_t entry;
        std::memcpy(&entry, table + i * sizeof(uint32_t), sizeof entry);
        layout.object_offsets[i] = entry;
        const size_t position = entry;
        if (position % kWireAlignment != 0) [[unlikely]] {
            reason = "offsets table: misaligned object";
            return ParcelError::bad_offsets;
        }
        if (position < first_free) [[unlikely]] {
            reason = "offsets table: objects unordered or overlapping";
            return ParcelError::bad_offsets;
        }
        if (position > header.data_size || header.data_size - position < sizeof(WireObject)) [[unlikely]] {
            reason = "offsets table: object outside the data";
            return ParcelError::bad_offsets;
        }
        first_free = position + sizeof(WireObject);
    }
    return ParcelError::none;
}

}  // namespace liteipc
