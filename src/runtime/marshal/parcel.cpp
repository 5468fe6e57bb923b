// Marshalling core: see include/liteipc/parcel.h for the wire format and the rules.
#include "liteipc/parcel.h"

#include <algorithm>
#include <new>

namespace liteipc {
namespace {

constexpr size_t align_up(size_t size) noexcept {
    return (size + kWireAlignment - 1) & ~(kWireAlignment - 1);
}

constexpr size_t message_size_for(size_t data_size, size_t object_count) noexcept {
    return sizeof(MessageHeader) + align_up(data_size) + object_count * sizeof(uint32_t);
}

}  // namespace

std::string_view to_string(ParcelError error) noexcept {
    switch (error) {
        case ParcelError::none: return "none";
        case ParcelError::out_of_space: return "out of space";
        case ParcelError::too_many_objects: return "too many objects";
        case ParcelError::invalid_argument: return "invalid argument";
        case ParcelError::pool_exhausted: return "pool exhausted";
        case ParcelError::sealed: return "sealed";
        case ParcelError::bad_header: return "bad header";
        case ParcelError::bad_offsets: return "bad offsets";
        case ParcelError::truncated: return "truncated";
        case ParcelError::object_expected: return "object expected";
        case ParcelError::object_mismatch: return "object mismatch";
        case ParcelError::bad_string: return "bad string";
        case ParcelError::bad_length: return "bad length";
        case ParcelError::buffer_out_of_bounds: return "buffer out of bounds";
        case ParcelError::no_pool: return "no pool";
        case ParcelError::bad_fd: return "bad fd";
    }
    return "unknown";
}

// ---------------------------------------------------------------------------------------------
// Writer

void Writer::init_failed() noexcept {
    capacity_ = 0;
    fail(ParcelError::out_of_space, "buffer smaller than a message header");
}

void Writer::reserve_failed() noexcept {
    if (sealed_) fail(ParcelError::sealed, "write after finish()");
    else fail(ParcelError::out_of_space, "message buffer full");
}

void Writer::write_bytes(std::span<const std::byte> bytes) noexcept {
    write_counted(bytes.data(), bytes.size(), 1);
}

void Writer::write_flat(const void* object, size_t size) noexcept {
    if (object == nullptr || size == 0) {
        fail(ParcelError::invalid_argument, "flat object: null or empty");
        return;
    }
    write_counted(object, size, 1);
}

void Writer::write_counted(const void* items, size_t count, size_t item_size) noexcept {
    if (count > kMaxMessageSize / item_size || (items == nullptr && count != 0)) {
        fail(ParcelError::invalid_argument, "sized bytes: null or larger than a message");
        return;
    }
    // The prefix is the length in bytes, as LiteIPC's flat objects have it.
    const uint32_t length = static_cast<uint32_t>(count * item_size);
    std::byte* slot = reserve(sizeof length + length, kWireAlignment);
    if (!slot) return;
    std::memcpy(slot, &length, sizeof length);
    if (length != 0) std::memcpy(slot + sizeof length, items, length);
}

// push_object() with every check in order: the failures, and the cases it leaves to this.
std::byte* Writer::push_object_checked(ObjType type, uint32_t flags, const void* body, size_t extra) noexcept {
    if (!ok()) return nullptr;
    if (object_count_ >= max_objects_) {
        fail(ParcelError::too_many_objects, "more special objects than the message allows");
        return nullptr;
    }
    if (extra > kMaxMessageSize) {
        fail(ParcelError::out_of_space, "inline data buffer larger than a message");
        return nullptr;
    }
    // Room for the offsets entry first, then for the object.
    if (limit_ < sizeof(uint32_t)) {
        fail(ParcelError::out_of_space, "message buffer full");
        return nullptr;
    }
    limit_ -= sizeof(uint32_t);
    ++object_count_;
    std::byte* slot = reserve(sizeof(WireObject) + extra, kWireAlignment);
    if (!slot) return nullptr;
    store_object(slot, type, flags, body);
    return slot;
}

// The pool path of reserve_buffer().
std::span<std::byte> Writer::reserve_pool_buffer(size_t size) noexcept {
    if (size > kMaxPoolBufferSize) {
        fail(ParcelError::invalid_argument, "data buffer larger than kMaxPoolBufferSize");
        return {};
    }
    // Object first, so a full message never leaves an orphan pool allocation.
    WireBuffer body{0, size};
    std::byte* slot = push_object(OBJ_PTR, kBufferInPool, &body, 0);
    if (!slot) return {};
    const std::optional<PoolSpan> pooled = pool_->allocate(size);
    if (!pooled || pooled->bytes.size() < size) {
        fail(ParcelError::pool_exhausted, "pool allocator refused the data buffer");
        return {};
    }
    body.offset = pooled->offset;
    std::memcpy(slot + offsetof(WireObject, body), &body, sizeof body);
    return pooled->bytes.first(size);
}

void Writer::write_buffer(std::span<const std::byte> bytes, BufferRelease release) noexcept {
    if (release.release != nullptr && pending_release_count_ == pending_releases_.size()) {
        fail(ParcelError::too_many_objects, "more buffers with a release callback than kMaxPendingReleases");
        return;
    }
    write_buffer(bytes);
    if (ok() && release.release != nullptr) pending_releases_[pending_release_count_++] = release;
}

void Writer::release_buffers() noexcept {
    // Clear each entry before its call so a reentrant release_buffers() never repeats it.
    while (pending_release_count_ > 0) {
        const BufferRelease entry = pending_releases_[--pending_release_count_];
        pending_releases_[pending_release_count_] = {};
        entry.release(entry.ptr);
    }
}

// seal() with every case: a failed writer, a message sealed before, a table that overlaps the
// entries stacked at the end of the buffer.
std::span<const std::byte> Writer::seal_checked() noexcept {
    if (!ok()) return {};
    const size_t data_size = cursor_ - sizeof(MessageHeader);
    const size_t message_size = message_size_for(data_size, object_count_);
    if (!sealed_) {
        if (message_size > capacity_) {
            fail(ParcelError::out_of_space, "no room to pad the data before the offsets table");
            return {};
        }
        // The offsets were stacked downward from the end; copy them out before the padding
        // and the table itself may overwrite them.
        std::array<uint32_t, kMaxObjects> offsets;
        for (size_t i = 0; i < object_count_; ++i)
            std::memcpy(&offsets[i], base_ + capacity_ - (i + 1) * sizeof(uint32_t), sizeof(uint32_t));
        std::byte* padded_end = base_ + sizeof(MessageHeader) + align_up(data_size);
        for (std::byte* pad = base_ + cursor_; pad != padded_end; ++pad) *pad = std::byte{0};
        for (size_t i = 0; i < object_count_; ++i)
            std::memcpy(padded_end + i * sizeof(uint32_t), &offsets[i], sizeof(uint32_t));
        const MessageHeader header{kMessageMagic, static_cast<uint32_t>(data_size),
                                   static_cast<uint32_t>(object_count_), 0};
        std::memcpy(base_, &header, sizeof header);
        sealed_ = true;
        limit_ = 0;
    }
    return {base_, message_size};
}

// ---------------------------------------------------------------------------------------------
// MessageLayout

WireObject MessageLayout::object(std::span<const std::byte> message, size_t index) const noexcept {
    WireObject object{~0u, 0, {}};
    if (index >= object_count || message.size() < message_size) return object;
    std::memcpy(&object, message.data() + sizeof(MessageHeader) + object_offsets[index], sizeof object);
    return object;
}

// ---------------------------------------------------------------------------------------------
// Reader

Reader::Reader() noexcept { fail(ParcelError::bad_header, "reader over no message"); }

void Reader::init_failed(ParcelError error, const char* reason) noexcept {
    layout_ = MessageLayout{};
    fail(error, reason);
}

void Reader::fail_cold(ParcelError error, const char* reason) noexcept { fail(error, reason); }

const std::byte* Reader::take_failed(const char* what) noexcept {
    fail(ParcelError::truncated, what ? what : "read past the data or into a special object");
    return nullptr;
}

std::span<const std::byte> Reader::read_counted(size_t item_size, size_t max_items) noexcept {
    const uint32_t length = read_aligned<uint32_t>();
    if (!ok()) return {};
    if (length > kMaxMessageSize) {
        fail(ParcelError::bad_length, "length larger than a message");
        return {};
    }
    if (length % item_size != 0) {
        fail(ParcelError::bad_length, "length not a multiple of the item size");
        return {};
    }
    if (length / item_size > max_items) {
        fail(ParcelError::bad_length, "more items than the destination holds");
        return {};
    }
    const std::byte* bytes = take(length, kWireAlignment, "sized bytes run past their data");
    if (!bytes) return {};
    return {bytes, length};
}

std::span<const std::byte> Reader::read_bytes() noexcept { return read_counted(1, kMaxMessageSize); }

std::span<const std::byte> Reader::read_flat() noexcept { return read_counted(1, kMaxMessageSize); }

SvcIdentity Reader::read_service() noexcept {
    WireObject object;
    if (!take_object(OBJ_SVC, object)) return {};
    if (object.flags != 0) {
        fail(ParcelError::object_mismatch, "service reference with unknown flags");
        return {};
    }
    const uint32_t ordinal = services_read_++;
    if (options_.services.empty()) return object.as<SvcIdentity>();
    if (ordinal >= options_.services.size()) {
        fail(ParcelError::object_mismatch, "service reference without a translation");
        return {};
    }
    return options_.services[ordinal];
}

// read_buffer() past the inline case: a pool-resident buffer, or an unknown placement.
std::span<const std::byte> Reader::read_pool_buffer(const WireObject& object) noexcept {
    const WireBuffer wire = object.as<WireBuffer>();
    if (object.flags == kBufferInPool) {
        if (options_.peer_pool.data() == nullptr) {
            fail(ParcelError::no_pool, "pool-resident data buffer but no peer pool mapping");
            return {};
        }
        if (wire.length > kMaxPoolBufferSize || wire.offset > options_.peer_pool.size() ||
            wire.length > options_.peer_pool.size() - wire.offset) {
            fail(ParcelError::buffer_out_of_bounds, "data buffer outside the peer pool");
            return {};
        }
        return options_.peer_pool.subspan(wire.offset, wire.length);
    }
    fail(ParcelError::object_mismatch, "data buffer with unknown placement");
    return {};
}

}  // namespace liteipc
