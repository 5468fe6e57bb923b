// Writing a message (liteipc/wire_format.h) with Parcel-style paired calls: Writer in a
// caller-provided buffer, InlineWriter with its own. No heap allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

#include "liteipc/error.h"
#include "liteipc/export.h"
#include "liteipc/wire_format.h"

namespace liteipc {

// Where large data buffers go: the sender's pool. The transport implements it.
struct PoolSpan {
    uint64_t offset;               // offset in the sender's pool, as the receiver maps it
    std::span<std::byte> bytes;    // writable memory of the sender at that offset
};

class LITEIPC_API PoolAllocator {
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

// Builds a message in a caller-provided buffer. The per-value paths are inline, with one bounds
// check per call; failures and rare cases go to out-of-line (cold) functions.
class LITEIPC_API Writer : public ParcelStatus {
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

}  // namespace liteipc
