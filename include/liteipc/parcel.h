// Marshalling: Parcel-style paired writes and reads over one wire format, shared with the
// LiteIPC-compatible C API (liteipc/serializer.h).
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
//
// No heap allocation: Writer works in a caller-provided buffer (or InlineWriter's own
// array), Reader over a span. Only the std::string / std::vector convenience reads allocate.
//
// Hostile input: Reader assumes nothing about the message. It copies the header and the
// offsets table into private memory once and validates that copy, and it reads every other
// length, offset and scalar with a single copy into a local before checking it, so a sender
// that keeps writing its (shared) memory cannot change a value between its check and its use
// (double-fetch safe). Views returned into the message (strings, bytes, buffers) are bounds-safe
// but their contents may still change under a hostile sender: copy them if that matters.
// read_c_string (IpcIoPopString) checks the terminator once; C code that later runs strlen()
// over it trusts that byte again. The transport should therefore hand the Reader a private copy
// of the message itself (at most kMaxMessageSize, usually small) and leave only pool-resident
// data buffers in shared memory.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "liteipc/error.h"
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

std::string_view to_string(ParcelError error) noexcept;

// Sticky error state shared by Writer and Reader.
class ParcelStatus {
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

// Where large data buffers go: the sender's pool. The transport implements it.
struct PoolSpan {
    uint64_t offset;               // offset in the sender's pool, as the receiver maps it
    std::span<std::byte> bytes;    // writable memory of the sender at that offset
};

class PoolAllocator {
public:
    // nullopt when the pool is full; the writer then fails with pool_exhausted.
    virtual std::optional<PoolSpan> allocate(size_t size) = 0;

protected:
    ~PoolAllocator() = default;
};

// Called with `ptr` once the message no longer needs the caller's buffer (IpcIoFreeDataBuff).
// No default member initializers: the Writer keeps an uninitialised array of these.
struct BufferRelease {
    void (*release)(void* ptr);
    void* ptr;
};

template <typename T>
concept WireScalar = std::is_arithmetic_v<T> && (sizeof(T) == 1 || sizeof(T) == 2 ||
                                                 sizeof(T) == 4 || sizeof(T) == 8);
template <typename T>
concept FlatObject = std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>;

// Builds a message in a caller-provided buffer. The per-value paths are inline, with one bounds
// check per call; failures and rare cases go to out-of-line (cold) functions.
class Writer : public ParcelStatus {
public:
    // `buffer` holds the whole message; anything over kMaxMessageSize is not used.
    explicit Writer(std::span<std::byte> buffer, PoolAllocator* pool = nullptr,
                    size_t max_objects = kMaxObjects) noexcept
        : base_(buffer.data()),
          capacity_(buffer.size() < kMaxMessageSize ? buffer.size() : kMaxMessageSize),
          limit_(capacity_),
          max_objects_(max_objects < kMaxObjects ? max_objects : kMaxObjects),
          pool_(pool) {
        if (base_ == nullptr || capacity_ < sizeof(MessageHeader)) [[unlikely]] init_failed();
    }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    ~Writer() {
        if (pending_release_count_ != 0) release_buffers();
    }

    void set_pool(PoolAllocator* pool) noexcept { pool_ = pool; }

    void write_bool(bool v) noexcept { write_aligned<uint32_t>(v ? 1 : 0); }
    void write_char(char v) noexcept { write_aligned<int32_t>(v); }
    void write_int8(int8_t v) noexcept { write_aligned<int32_t>(v); }
    void write_uint8(uint8_t v) noexcept { write_aligned<uint32_t>(v); }
    void write_int16(int16_t v) noexcept { write_aligned<int32_t>(v); }
    void write_uint16(uint16_t v) noexcept { write_aligned<uint32_t>(v); }
    void write_int32(int32_t v) noexcept { write_aligned(v); }
    void write_uint32(uint32_t v) noexcept { write_aligned(v); }
    void write_int64(int64_t v) noexcept { write_aligned(v); }
    void write_uint64(uint64_t v) noexcept { write_aligned(v); }
    void write_float(float v) noexcept { write_aligned(v); }
    void write_double(double v) noexcept { write_aligned(v); }
    void write_intptr(intptr_t v) noexcept { write_aligned(v); }
    void write_uintptr(uintptr_t v) noexcept { write_aligned(v); }

    void write_bool_unaligned(bool v) noexcept { write_packed<uint8_t>(v ? 1 : 0); }
    void write_char_unaligned(char v) noexcept { write_packed(v); }
    void write_int8_unaligned(int8_t v) noexcept { write_packed(v); }
    void write_uint8_unaligned(uint8_t v) noexcept { write_packed(v); }
    void write_int16_unaligned(int16_t v) noexcept { write_packed(v); }
    void write_uint16_unaligned(uint16_t v) noexcept { write_packed(v); }

    // A value at an aligned position, taking max(sizeof(T), 4) rounded up to 4 bytes.
    template <WireScalar T>
    void write_aligned(T value) noexcept {
        std::byte* slot;
        size_t end;
        if (claim(sizeof value, kWireAlignment, slot, end)) [[likely]] {
            std::memcpy(slot, &value, sizeof value);
            cursor_ = end;
        }
    }
    // A value packed right after the previous one.
    template <WireScalar T>
    void write_packed(T value) noexcept {
        std::byte* slot;
        size_t end;
        if (claim(sizeof value, 1, slot, end)) [[likely]] {
            std::memcpy(slot, &value, sizeof value);
            cursor_ = end;
        }
    }

    void write_string(std::string_view text) noexcept {
        if (text.size() > kMaxStringLength) [[unlikely]] {
            fail(ParcelError::invalid_argument, "string longer than kMaxStringLength");
            return;
        }
        // Length, bytes and terminator in one reservation: one bounds check.
        const uint32_t length = static_cast<uint32_t>(text.size());
        std::byte* slot;
        size_t end;
        if (!claim(sizeof length + text.size() + 1, kWireAlignment, slot, end)) [[unlikely]] return;
        std::memcpy(slot, &length, sizeof length);
        if (!text.empty()) std::memcpy(slot + sizeof length, text.data(), text.size());
        slot[sizeof length + text.size()] = std::byte{0};
        cursor_ = end;
    }
    void write_bytes(std::span<const std::byte> bytes) noexcept;
    // Bytes without a length prefix, padded to 4: the reader must know their size (the newer
    // LiteIPC C API's WriteBuffer).
    void write_raw(std::span<const std::byte> bytes) noexcept {
        if (bytes.size() > kMaxMessageSize) [[unlikely]] {
            fail(ParcelError::invalid_argument, "raw bytes larger than a message");
            return;
        }
        std::byte* slot = reserve(bytes.size(), kWireAlignment);
        if (slot != nullptr && !bytes.empty()) std::memcpy(slot, bytes.data(), bytes.size());
    }

    template <FlatObject T>
    void write_vector(std::span<const T> items) noexcept {
        write_counted(items.data(), items.size(), sizeof(T));
    }
    template <FlatObject T>
    void write_object(const T& object) noexcept {
        static_assert(!std::is_pointer_v<T>, "pointers mean nothing in another process");
        write_counted(&object, 1, sizeof(T));
    }
    // LiteIPC's IpcIoPushFlatObj: size-prefixed bytes (size > 0).
    void write_flat(const void* object, size_t size) noexcept;

    // Special objects.
    void write_fd(int fd) noexcept {
        if (fd < 0) [[unlikely]] {
            fail(ParcelError::invalid_argument, "negative fd");
            return;
        }
        const WireFd body{fd, fd_count_, 0};
        if (push_object(OBJ_FD, 0, &body, 0)) [[likely]] ++fd_count_;
    }
    void write_service(const SvcIdentity& service) noexcept { push_object(OBJ_SVC, 0, &service, 0); }
    void write_buffer(std::span<const std::byte> bytes) noexcept {
        const std::span<std::byte> destination = reserve_buffer(bytes.size());
        if (!destination.empty()) std::memcpy(destination.data(), bytes.data(), bytes.size());
    }
    // Like write_buffer, and calls release(ptr) from release_buffers() or the destructor.
    void write_buffer(std::span<const std::byte> bytes, BufferRelease release) noexcept;
    // Reserves a data buffer of `size` bytes for the caller to fill in place: pool memory
    // above the inline threshold (written once, read in place), else the message itself.
    // Empty span on error.
    std::span<std::byte> reserve_buffer(size_t size) noexcept {
        if (pool_ == nullptr || size <= kInlineBufferThreshold) [[likely]] {
            if (size > kMaxPoolBufferSize) [[unlikely]] {
                fail(ParcelError::invalid_argument, "data buffer larger than kMaxPoolBufferSize");
                return {};
            }
            // Inline: the bytes follow the object in the data section.
            const size_t object_position = ((cursor_ + kWireAlignment - 1) & ~(kWireAlignment - 1)) -
                                           sizeof(MessageHeader);
            const WireBuffer body{object_position + sizeof(WireObject), size};
            std::byte* slot = push_object(OBJ_PTR, kBufferInline, &body, size);
            if (!slot) [[unlikely]] return {};
            return {slot + sizeof(WireObject), size};
        }
        return reserve_pool_buffer(size);
    }

    // A data buffer the caller already placed in the sender's pool at `pool_offset` (or, for
    // the C API, will place there when the message is sent).
    void write_pool_reference(uint64_t pool_offset, uint64_t length) noexcept {
        if (length > kMaxPoolBufferSize) [[unlikely]] {
            fail(ParcelError::invalid_argument, "data buffer larger than kMaxPoolBufferSize");
            return;
        }
        const WireBuffer body{pool_offset, length};
        push_object(OBJ_PTR, kBufferInPool, &body, 0);
    }

    // Runs the pending BufferRelease callbacks, once each.
    void release_buffers() noexcept;

    // Seals the message: writes the header and places the offsets table after the data.
    // Later writes fail with `sealed`; sealing again returns the same message. The span points
    // into the writer's buffer; it is empty when the writer failed (see error()).
    std::span<const std::byte> seal() noexcept {
        // The data ends padded to 4 and the offsets table follows. In the common case the
        // entries stacked at the end of the buffer lie past the table and its padding, so they
        // move straight into place; seal_checked() handles the rest (and errors, resealing).
        const size_t table = (cursor_ + kWireAlignment - 1) & ~(kWireAlignment - 1);
        const size_t count = object_count_;
        if (ok() && !sealed_ && table + 2 * count * sizeof(uint32_t) <= capacity_) [[likely]] {
            for (size_t pad = cursor_; pad != table; ++pad) base_[pad] = std::byte{0};
            for (size_t i = 0; i < count; ++i)
                std::memcpy(base_ + table + i * sizeof(uint32_t), base_ + capacity_ - (i + 1) * sizeof(uint32_t),
                            sizeof(uint32_t));
            const MessageHeader header{kMessageMagic, static_cast<uint32_t>(cursor_ - sizeof(MessageHeader)),
                                       static_cast<uint32_t>(count), 0};
            std::memcpy(base_, &header, sizeof header);
            sealed_ = true;
            limit_ = 0;
            return {base_, table + count * sizeof(uint32_t)};
        }
        return seal_checked();
    }
    // seal() in the project's error model.
    Result<std::span<const std::byte>> finish() noexcept;

    size_t data_size() const noexcept { return cursor_ - sizeof(MessageHeader); }
    size_t object_count() const noexcept { return object_count_; }

protected:
    // Room for `size` bytes at the next `alignment` position, the padding around them zeroed:
    // sets `slot`, where the caller writes its bytes, and `end`, the new cursor, which the
    // caller stores once they are written (a cursor stored after the bytes, not before, stays in
    // a register across consecutive writes). false, with the error set, when there is no room.
    // Callers bound `size` by kMaxMessageSize and cursor_ stays below it, so nothing here wraps.
    bool claim(size_t size, size_t alignment, std::byte*& slot, size_t& end) noexcept {
        const size_t start = (cursor_ + alignment - 1) & ~(alignment - 1);
        const size_t padded = (size + alignment - 1) & ~(alignment - 1);
        if (start + padded > limit_) [[unlikely]] {
            reserve_failed();
            return false;
        }
        slot = base_ + start;
        if (alignment == kWireAlignment && size != 0) {
            // Whole zero words instead of variable-length memsets: [cursor_, cursor_ + 4) and
            // [start + padded - 4, start + padded) both lie inside [cursor_, start + padded),
            // and the caller's bytes then overwrite what isn't padding.
            constexpr uint32_t zero = 0;
            if (start != cursor_) std::memcpy(base_ + cursor_, &zero, sizeof zero);
            if (padded != size) std::memcpy(slot + padded - sizeof zero, &zero, sizeof zero);
        } else {
            if (start != cursor_) std::memset(base_ + cursor_, 0, start - cursor_);
            if (padded != size) std::memset(slot + size, 0, padded - size);
        }
        end = start + padded;
        return true;
    }
    // claim() and the new cursor at once, for callers that don't write many values in a row.
    std::byte* reserve(size_t size, size_t alignment) noexcept {
        std::byte* slot;
        size_t end;
        if (!claim(size, alignment, slot, end)) [[unlikely]] return nullptr;
        cursor_ = end;
        return slot;
    }

private:
    [[gnu::cold]] void init_failed() noexcept;
    std::span<const std::byte> seal_checked() noexcept;
    [[gnu::cold]] void reserve_failed() noexcept;
    void write_counted(const void* items, size_t count, size_t item_size) noexcept;
    // Appends a WireObject and its offsets entry; nullptr (error set) when there's no room.
    std::byte* push_object(ObjType type, uint32_t flags, const void* body, size_t extra) noexcept {
        // The common case inline; push_object_checked() does the same with every check spelled
        // out (a failed or sealed writer has limit_ 0, so it always takes that path).
        if (object_count_ < max_objects_ && extra <= kMaxMessageSize && limit_ >= sizeof(uint32_t)) [[likely]] {
            limit_ -= sizeof(uint32_t);  // room for the offsets entry first, then for the object
            ++object_count_;
            std::byte* slot;
            size_t end;
            if (!claim(sizeof(WireObject) + extra, kWireAlignment, slot, end)) [[unlikely]] return nullptr;
            store_object(slot, type, flags, body);
            cursor_ = end;
            return slot;
        }
        return push_object_checked(type, flags, body, extra);
    }
    [[gnu::cold]] std::byte* push_object_checked(ObjType type, uint32_t flags, const void* body,
                                                 size_t extra) noexcept;
    // The offsets entry (stacked down from the end of the buffer) and the object's fields.
    void store_object(std::byte* slot, ObjType type, uint32_t flags, const void* body) noexcept {
        const uint32_t position = static_cast<uint32_t>(slot - base_ - sizeof(MessageHeader));
        std::memcpy(base_ + capacity_ - object_count_ * sizeof(uint32_t), &position, sizeof position);
        // Field by field straight into the message (a staged copy costs a store-forwarding stall).
        const uint32_t type_word = static_cast<uint32_t>(type);
        std::memcpy(slot + offsetof(WireObject, type), &type_word, sizeof type_word);
        std::memcpy(slot + offsetof(WireObject, flags), &flags, sizeof flags);
        std::memcpy(slot + offsetof(WireObject, body), body, sizeof(WireObject::body));
    }
    std::span<std::byte> reserve_pool_buffer(size_t size) noexcept;

    // Also closes the writer: every later reserve() fails.
    void fail(ParcelError error, const char* reason) noexcept {
        ParcelStatus::fail(error, reason);
        limit_ = 0;
    }

    std::byte* base_;
    size_t capacity_;
    // Where the offsets table begins (it grows down from the end of the buffer while writing);
    // 0 once the writer failed or was sealed, so one comparison guards every write.
    size_t limit_;
    size_t cursor_ = sizeof(MessageHeader);
    size_t object_count_ = 0;
    size_t max_objects_;
    uint32_t fd_count_ = 0;
    bool sealed_ = false;
    PoolAllocator* pool_;
    size_t pending_release_count_ = 0;
    std::array<BufferRelease, kMaxPendingReleases> pending_releases_;  // first pending_release_count_ used
};

// A Writer with its buffer inside: no allocation, no caller storage.
template <size_t Capacity = 4096>
class InlineWriter : private std::array<std::byte, Capacity>, public Writer {
    static_assert(Capacity > sizeof(MessageHeader) && Capacity <= kMaxMessageSize);

public:
    explicit InlineWriter(PoolAllocator* pool = nullptr) noexcept
        : std::array<std::byte, Capacity>{}, Writer(std::span<std::byte>(*this), pool) {}
};

// The validated, private copy of a message's header and offsets table.
struct MessageLayout {
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

// What the transport delivers with a received message.
struct ReaderOptions {
    // The receiver's read-only mapping of the sender's pool: pool-resident buffers resolve into it.
    std::span<const std::byte> peer_pool{};
    // The fds received with the message (SCM_RIGHTS order), indexed by WireFd::ordinal.
    // The message owns them: take_fd() hands one over and writes -1 in its slot; whoever frees
    // the message closes the slots that are not -1.
    std::span<int> fds{};
    // In-process delivery: fds are the sender's own numbers, no table (tests, loopback).
    bool raw_fds = false;
    // Optional translation of service references, indexed by their ordinal in the message;
    // empty: identities are returned as sent.
    std::span<const SvcIdentity> services{};
};

// Reads a message, in the order it was written.
class Reader : public ParcelStatus {
public:
    Reader() noexcept;  // an empty, failed reader
    explicit Reader(std::span<const std::byte> message, ReaderOptions options = {}) noexcept
        : options_(options) {
        const char* reason = "";
        const ParcelError error = MessageLayout::validate(message, layout_, reason);
        if (error != ParcelError::none) [[unlikely]] {
            init_failed(error, reason);
            return;
        }
        data_ = message.data() + sizeof(MessageHeader);
        advance_limit();
    }

    bool read_bool() noexcept { return read_aligned<uint32_t>() != 0; }
    char read_char() noexcept { return static_cast<char>(read_aligned<int32_t>()); }
    int8_t read_int8() noexcept { return static_cast<int8_t>(read_aligned<int32_t>()); }
    uint8_t read_uint8() noexcept { return static_cast<uint8_t>(read_aligned<uint32_t>()); }
    int16_t read_int16() noexcept { return static_cast<int16_t>(read_aligned<int32_t>()); }
    uint16_t read_uint16() noexcept { return static_cast<uint16_t>(read_aligned<uint32_t>()); }
    int32_t read_int32() noexcept { return read_aligned<int32_t>(); }
    uint32_t read_uint32() noexcept { return read_aligned<uint32_t>(); }
    int64_t read_int64() noexcept { return read_aligned<int64_t>(); }
    uint64_t read_uint64() noexcept { return read_aligned<uint64_t>(); }
    float read_float() noexcept { return read_aligned<float>(); }
    double read_double() noexcept { return read_aligned<double>(); }
    intptr_t read_intptr() noexcept { return read_aligned<intptr_t>(); }
    uintptr_t read_uintptr() noexcept { return read_aligned<uintptr_t>(); }

    bool read_bool_unaligned() noexcept { return read_packed<uint8_t>() != 0; }
    char read_char_unaligned() noexcept { return read_packed<char>(); }
    int8_t read_int8_unaligned() noexcept { return read_packed<int8_t>(); }
    uint8_t read_uint8_unaligned() noexcept { return read_packed<uint8_t>(); }
    int16_t read_int16_unaligned() noexcept { return read_packed<int16_t>(); }
    uint16_t read_uint16_unaligned() noexcept { return read_packed<uint16_t>(); }

    template <WireScalar T>
    T read_aligned() noexcept {
        return load<T>(sizeof(T), kWireAlignment);
    }
    template <WireScalar T>
    T read_packed() noexcept {
        return load<T>(sizeof(T), 1);
    }

    // A view into the message, valid while the message is; excludes the terminator.
    std::string_view read_string_view() noexcept {
        size_t length = 0;
        const char* text = read_c_string(&length);
        return text ? std::string_view(text, length) : std::string_view{};
    }
    // The same, NUL-terminated (LiteIPC's IpcIoPopString); nullptr on error.
    const char* read_c_string(size_t* length_out) noexcept {
        if (length_out) *length_out = 0;
        // The length, then the bytes and the terminator: one copy of the length, two checks.
        const size_t start = (cursor_ + kWireAlignment - 1) & ~(kWireAlignment - 1);
        if (start + sizeof(uint32_t) > limit_) [[unlikely]] {
            take_failed(nullptr);
            return nullptr;
        }
        uint32_t length;
        std::memcpy(&length, data_ + start, sizeof length);  // the one load of the length
        const size_t text = start + sizeof length;
        if (length > kMaxStringLength) [[unlikely]] {
            cursor_ = text;
            fail_cold(ParcelError::bad_string, "string length over kMaxStringLength");
            return nullptr;
        }
        const size_t end = text + ((size_t{length} + 1 + kWireAlignment - 1) & ~(kWireAlignment - 1));
        if (end > limit_) [[unlikely]] {
            cursor_ = text;
            take_failed("string runs past its data");
            return nullptr;
        }
        cursor_ = end;
        const std::byte* bytes = data_ + text;
        if (bytes[length] != std::byte{0}) [[unlikely]] {
            fail_cold(ParcelError::bad_string, "string without terminator");
            return nullptr;
        }
        if (length_out) *length_out = length;
        return reinterpret_cast<const char*>(bytes);
    }
    std::string read_string() { return std::string(read_string_view()); }
    std::span<const std::byte> read_bytes() noexcept;
    // `size` bytes written with write_raw; empty (error set) when the data holds fewer.
    std::span<const std::byte> read_raw(size_t size) noexcept {
        if (size > kMaxMessageSize) [[unlikely]] {
            fail_cold(ParcelError::bad_length, "raw read larger than a message");
            return {};
        }
        const std::byte* bytes = take(size, kWireAlignment, "raw bytes run past their data");
        return bytes ? std::span<const std::byte>(bytes, size) : std::span<const std::byte>{};
    }

    // Copies up to out.size() items into `out`; returns the count, or 0 with bad_length
    // when the message holds more than fit.
    template <FlatObject T>
    size_t read_vector(std::span<T> out) noexcept {
        const auto items = read_counted(sizeof(T), out.size());
        if (!items.empty()) std::memcpy(out.data(), items.data(), items.size());
        return items.size() / sizeof(T);
    }
    template <FlatObject T>
    std::vector<T> read_vector() {
        const auto items = read_counted(sizeof(T), kMaxMessageSize / sizeof(T));
        std::vector<T> out(items.size() / sizeof(T));
        if (!items.empty()) std::memcpy(out.data(), items.data(), items.size());
        return out;
    }
    // A copy of a flat object written with write_object<T>; T{} on error (and bad_length when
    // the recorded size isn't sizeof(T)).
    template <FlatObject T>
    T read_object() noexcept {
        T out{};
        const auto bytes = read_counted(sizeof(T), 1);
        if (bytes.size() == sizeof(T)) std::memcpy(&out, bytes.data(), sizeof(T));
        else if (ok()) fail(ParcelError::bad_length, "flat object: size differs from the type's");
        return out;
    }
    // LiteIPC's IpcIoPopFlatObj: view of the size-prefixed bytes (any size up to the limit).
    std::span<const std::byte> read_flat() noexcept;

    // Special objects: each must be at the cursor and of the right type.
    // The fd stays owned by the message (see ReaderOptions::fds); -1 on error.
    int read_fd() noexcept { return read_fd_object(false); }
    // The same, and the caller owns the fd from now on (closes it).
    int take_fd() noexcept { return read_fd_object(true); }
    SvcIdentity read_service() noexcept;
    // A view of the buffer's bytes: in the message, or in the peer pool after bounds checks.
    std::span<const std::byte> read_buffer() noexcept {
        WireObject object;
        if (!take_object(OBJ_PTR, object)) [[unlikely]] return {};
        if (object.flags != kBufferInline) return read_pool_buffer(object);
        const WireBuffer wire = object.as<WireBuffer>();
        if (wire.offset != cursor_ || wire.length > kMaxMessageSize) [[unlikely]] {
            fail_cold(ParcelError::buffer_out_of_bounds, "inline data buffer not right after its object");
            return {};
        }
        // cursor_ is aligned: it is where the object ended.
        const size_t length = static_cast<size_t>(wire.length);
        const size_t end = cursor_ + ((length + kWireAlignment - 1) & ~(kWireAlignment - 1));
        if (end > limit_) [[unlikely]] {
            take_failed("inline data buffer runs past its data");
            return {};
        }
        const std::byte* bytes = data_ + cursor_;
        cursor_ = end;
        return {bytes, length};
    }

    // Bytes of data left to read.
    size_t remaining() const noexcept { return layout_.data_size - cursor_; }
    const MessageLayout& layout() const noexcept { return layout_; }

private:
    template <typename T>
    T load(size_t size, size_t alignment) noexcept {
        const size_t start = (cursor_ + alignment - 1) & ~(alignment - 1);
        const size_t padded = (size + alignment - 1) & ~(alignment - 1);
        if (start + padded > limit_) [[unlikely]] {
            take_failed(nullptr);
            return T{};
        }
        cursor_ = start + padded;
        T value;
        std::memcpy(&value, data_ + start, sizeof value);  // the one load of this value
        return value;
    }
    // A plain read ends before the next special object (or the end of the data). Callers bound
    // `size` by kMaxMessageSize + 1 and cursor_ stays below kMaxMessageSize, so nothing wraps.
    const std::byte* take(size_t size, size_t alignment, const char* what = nullptr) noexcept {
        const size_t start = (cursor_ + alignment - 1) & ~(alignment - 1);
        const size_t padded = (size + alignment - 1) & ~(alignment - 1);
        if (start + padded > limit_) [[unlikely]] return take_failed(what);
        cursor_ = start + padded;
        return data_ + start;
    }
    // Also closes the reader: limit_ 0 makes every later take() fail.
    void fail(ParcelError error, const char* reason) noexcept {
        ParcelStatus::fail(error, reason);
        limit_ = 0;
    }
    [[gnu::cold]] const std::byte* take_failed(const char* what) noexcept;
    [[gnu::cold]] void fail_cold(ParcelError error, const char* reason) noexcept;
    [[gnu::cold]] void init_failed(ParcelError error, const char* reason) noexcept;
    std::span<const std::byte> read_counted(size_t item_size, size_t max_items) noexcept;
    // Consumes the special object at the cursor if it has `type`: copies it (once) into
    // `object`; false (error set) if there is none or it has another type.
    bool take_object(ObjType type, WireObject& object) noexcept {
        const size_t position = (cursor_ + kWireAlignment - 1) & ~(kWireAlignment - 1);
        if (!ok() || next_object_ >= layout_.object_count || layout_.object_offsets[next_object_] != position)
            [[unlikely]] {
            if (ok()) fail_cold(ParcelError::object_expected, "no special object at the read position");
            return false;
        }
        // The private copy is what gets validated and used; the layout puts it inside the data.
        std::memcpy(&object, data_ + position, sizeof object);
        if (object.type != static_cast<uint32_t>(type)) [[unlikely]] {
            fail_cold(ParcelError::object_mismatch, "special object of another type");
            return false;
        }
        cursor_ = position + sizeof(WireObject);
        ++next_object_;
        advance_limit();
        return true;
    }
    int read_fd_object(bool take_ownership) noexcept {
        WireObject object;
        if (!take_object(OBJ_FD, object)) [[unlikely]] return -1;
        const WireFd wire = object.as<WireFd>();
        if (object.flags != 0 || wire.ordinal != fds_read_) [[unlikely]] {
            fail_cold(ParcelError::bad_fd, "fd ordinal out of sequence");
            return -1;
        }
        ++fds_read_;
        if (options_.raw_fds) {
            if (wire.fd < 0) [[unlikely]] {
                fail_cold(ParcelError::bad_fd, "negative fd");
                return -1;
            }
            return wire.fd;
        }
        if (wire.ordinal >= options_.fds.size()) [[unlikely]] {
            fail_cold(ParcelError::bad_fd, "fd not delivered with the message");
            return -1;
        }
        int& slot = options_.fds[wire.ordinal];
        const int fd = slot;
        if (fd < 0) [[unlikely]] {
            fail_cold(ParcelError::bad_fd, "fd already taken");
            return -1;
        }
        if (take_ownership) slot = -1;
        return fd;
    }
    std::span<const std::byte> read_pool_buffer(const WireObject& object) noexcept;
    void advance_limit() noexcept {
        limit_ = next_object_ < layout_.object_count ? layout_.object_offsets[next_object_] : layout_.data_size;
    }

    const std::byte* data_ = nullptr;
    size_t cursor_ = 0;  // data position of the next read
    size_t limit_ = 0;   // where the next special object (or the data) begins; 0 once failed
    size_t next_object_ = 0;
    uint32_t fds_read_ = 0;
    uint32_t services_read_ = 0;
    MessageLayout layout_;
    ReaderOptions options_;
};

// C++ access to an IpcIo, for the runtime: attach a pool or receive tables.
// nullptr when the IpcIo is not in that mode.
Writer* ipcio_writer(IpcIo* io) noexcept;
Reader* ipcio_reader(IpcIo* io) noexcept;
// IpcIoInitFromBuffer with the transport's tables.
void ipcio_init_reader(IpcIo* io, std::span<const std::byte> message, ReaderOptions options) noexcept;

}  // namespace liteipc
