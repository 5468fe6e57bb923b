// Reading a message (liteipc/wire_format.h) in the order it was written. No heap allocation
// but the std::string / std::vector convenience reads.
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

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "liteipc/export.h"
#include "liteipc/wire_format.h"

namespace liteipc {

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
class LITEIPC_API Reader : public ParcelStatus {
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

    // Bare data, no header and no objects: what a writer left in the buffer of a LiteIPC IpcIo,
    // read back where it was written (upstream's IpcIoInit on a received buffer).
    static Reader over_data(std::span<const std::byte> data) noexcept {
        Reader reader{DataOnly{}};
        reader.data_ = data.data();
        reader.layout_.data_size = static_cast<uint32_t>(data.size());
        reader.layout_.object_count = 0;
        reader.layout_.message_size = data.size();
        reader.advance_limit();
        return reader;
    }

    // Where the next read starts in the data, and the special objects not read yet.
    size_t position() const noexcept { return cursor_; }
    size_t objects_left() const noexcept { return layout_.object_count - next_object_; }
    const std::byte* data_begin() const noexcept { return data_; }

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
    struct DataOnly {};
    explicit Reader(DataOnly) noexcept {}
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

}  // namespace liteipc
