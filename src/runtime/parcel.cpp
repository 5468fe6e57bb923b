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

// Validates a message from one private copy of its header and offsets table.
ParcelError MessageLayout::validate(std::span<const std::byte> message, MessageLayout& layout,
                                    const char*& reason) noexcept {
    if (message.size() < sizeof(MessageHeader)) {
        reason = "message shorter than its header";
        return ParcelError::bad_header;
    }
    MessageHeader header;
    std::memcpy(&header, message.data(), sizeof header);
    if (header.magic != kMessageMagic || header.reserved != 0) {
        reason = "not a liteipc message (magic or version)";
        return ParcelError::bad_header;
    }
    if (header.data_size > kMaxMessageSize || header.object_count > kMaxObjects) {
        reason = "data size or object count over the limit";
        return ParcelError::bad_header;
    }
    const size_t message_size = message_size_for(header.data_size, header.object_count);
    if (message_size > kMaxMessageSize || message_size > message.size()) {
        reason = "message shorter than its header says";
        return ParcelError::bad_header;
    }
    layout.data_size = header.data_size;
    layout.object_count = header.object_count;
    layout.message_size = message_size;
    // Entry by entry: a variable-length memcpy becomes `rep movs`, slow to start for a few bytes.
    const std::byte* table = message.data() + sizeof(MessageHeader) + align_up(header.data_size);
    for (size_t i = 0; i < header.object_count; ++i)
        std::memcpy(&layout.object_offsets[i], table + i * sizeof(uint32_t), sizeof(uint32_t));

    // Every object lies inside the data, aligned, after the end of the previous one.
    size_t first_free = 0;
    for (size_t i = 0; i < layout.object_count; ++i) {
        const size_t position = layout.object_offsets[i];
        if (position % kWireAlignment != 0) {
            reason = "offsets table: misaligned object";
            return ParcelError::bad_offsets;
        }
        if (position < first_free) {
            reason = "offsets table: objects unordered or overlapping";
            return ParcelError::bad_offsets;
        }
        if (position > layout.data_size || layout.data_size - position < sizeof(WireObject)) {
            reason = "offsets table: object outside the data";
            return ParcelError::bad_offsets;
        }
        first_free = position + sizeof(WireObject);
    }
    return ParcelError::none;
}

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

Writer::Writer(std::span<std::byte> buffer, PoolAllocator* pool, size_t max_objects) noexcept
    : base_(buffer.data()),
      capacity_(std::min(buffer.size(), kMaxMessageSize)),
      limit_(capacity_),
      max_objects_(std::min(max_objects, kMaxObjects)),
      pool_(pool) {
    if (base_ == nullptr || capacity_ < sizeof(MessageHeader)) {
        capacity_ = 0;
        fail(ParcelError::out_of_space, "buffer smaller than a message header");
    }
}

std::byte* Writer::reserve_failed() noexcept {
    if (sealed_) fail(ParcelError::sealed, "write after finish()");
    else fail(ParcelError::out_of_space, "message buffer full");
    return nullptr;
}

void Writer::write_string(std::string_view text) noexcept {
    if (text.size() > kMaxStringLength) {
        fail(ParcelError::invalid_argument, "string longer than kMaxStringLength");
        return;
    }
    // Length, bytes and terminator in one reservation: one bounds check.
    const uint32_t length = static_cast<uint32_t>(text.size());
    std::byte* slot = reserve(sizeof length + text.size() + 1, kWireAlignment);
    if (!slot) return;
    std::memcpy(slot, &length, sizeof length);
    if (!text.empty()) std::memcpy(slot + sizeof length, text.data(), text.size());
    slot[sizeof length + text.size()] = std::byte{0};
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

std::byte* Writer::push_object(ObjType type, uint32_t flags, const void* body, size_t extra) noexcept {
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
    const uint32_t position = static_cast<uint32_t>(slot - base_ - sizeof(MessageHeader));
    std::memcpy(base_ + capacity_ - object_count_ * sizeof(uint32_t), &position, sizeof position);

    // Field by field straight into the message (a staged copy costs a store-forwarding stall).
    const uint32_t type_word = static_cast<uint32_t>(type);
    std::memcpy(slot + offsetof(WireObject, type), &type_word, sizeof type_word);
    std::memcpy(slot + offsetof(WireObject, flags), &flags, sizeof flags);
    std::memcpy(slot + offsetof(WireObject, body), body, sizeof(WireObject::body));
    return slot;
}

void Writer::write_fd(int fd) noexcept {
    if (fd < 0) {
        fail(ParcelError::invalid_argument, "negative fd");
        return;
    }
    const WireFd body{fd, fd_count_, 0};
    if (push_object(OBJ_FD, 0, &body, 0)) ++fd_count_;
}

void Writer::write_service(const SvcIdentity& service) noexcept {
    push_object(OBJ_SVC, 0, &service, 0);
}

std::span<std::byte> Writer::reserve_buffer(size_t size) noexcept {
    if (size > kMaxPoolBufferSize) {
        fail(ParcelError::invalid_argument, "data buffer larger than kMaxPoolBufferSize");
        return {};
    }
    if (pool_ != nullptr && size > kInlineBufferThreshold) {
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
    // Inline: the bytes follow the object in the data section.
    const size_t object_position = align_up(cursor_ - sizeof(MessageHeader));
    WireBuffer body{object_position + sizeof(WireObject), size};
    std::byte* slot = push_object(OBJ_PTR, kBufferInline, &body, size);
    if (!slot) return {};
    return {slot + sizeof(WireObject), size};
}

void Writer::write_buffer(std::span<const std::byte> bytes) noexcept {
    const std::span<std::byte> destination = reserve_buffer(bytes.size());
    if (!destination.empty()) std::memcpy(destination.data(), bytes.data(), bytes.size());
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

std::span<const std::byte> Writer::seal() noexcept {
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

Reader::Reader(std::span<const std::byte> message, ReaderOptions options) noexcept
    : options_(options) {
    const char* reason = "";
    const ParcelError error = MessageLayout::validate(message, layout_, reason);
    if (error != ParcelError::none) {
        layout_ = MessageLayout{};
        fail(error, reason);
        return;
    }
    data_ = message.data() + sizeof(MessageHeader);
    advance_limit();
}

void Reader::advance_limit() noexcept {
    limit_ = next_object_ < layout_.object_count ? layout_.object_offsets[next_object_]
                                                 : layout_.data_size;
}

const std::byte* Reader::take_failed(const char* what) noexcept {
    fail(ParcelError::truncated, what ? what : "read past the data or into a special object");
    return nullptr;
}

std::string_view Reader::read_string_view() noexcept {
    size_t length = 0;
    const char* text = read_c_string(&length);
    return text ? std::string_view(text, length) : std::string_view{};
}

const char* Reader::read_c_string(size_t* length_out) noexcept {
    if (length_out) *length_out = 0;
    const uint32_t length = read_aligned<uint32_t>();
    if (!ok()) return nullptr;
    if (length > kMaxStringLength) {
        fail(ParcelError::bad_string, "string length over kMaxStringLength");
        return nullptr;
    }
    const std::byte* text = take(size_t{length} + 1, kWireAlignment, "string runs past its data");
    if (!text) return nullptr;
    if (text[length] != std::byte{0}) {
        fail(ParcelError::bad_string, "string without terminator");
        return nullptr;
    }
    if (length_out) *length_out = length;
    return reinterpret_cast<const char*>(text);
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

std::optional<WireObject> Reader::take_object(ObjType type) noexcept {
    if (!ok()) return std::nullopt;
    const size_t position = align_up(cursor_);
    if (next_object_ >= layout_.object_count || layout_.object_offsets[next_object_] != position) {
        fail(ParcelError::object_expected, "no special object at the read position");
        return std::nullopt;
    }
    // The private copy is what gets validated and used; the layout puts it inside the data.
    WireObject object;
    std::memcpy(&object, data_ + position, sizeof object);
    if (object.type != static_cast<uint32_t>(type)) {
        fail(ParcelError::object_mismatch, "special object of another type");
        return std::nullopt;
    }
    cursor_ = position + sizeof(WireObject);
    ++next_object_;
    advance_limit();
    return object;
}

int Reader::read_fd_object(bool take_ownership) noexcept {
    const std::optional<WireObject> object = take_object(OBJ_FD);
    if (!object) return -1;
    const WireFd wire = object->as<WireFd>();
    if (object->flags != 0 || wire.ordinal != fds_read_) {
        fail(ParcelError::bad_fd, "fd ordinal out of sequence");
        return -1;
    }
    ++fds_read_;
    if (options_.raw_fds) {
        if (wire.fd < 0) {
            fail(ParcelError::bad_fd, "negative fd");
            return -1;
        }
        return wire.fd;
    }
    if (wire.ordinal >= options_.fds.size()) {
        fail(ParcelError::bad_fd, "fd not delivered with the message");
        return -1;
    }
    int& slot = options_.fds[wire.ordinal];
    const int fd = slot;
    if (fd < 0) {
        fail(ParcelError::bad_fd, "fd already taken");
        return -1;
    }
    if (take_ownership) slot = -1;
    return fd;
}

int Reader::read_fd() noexcept { return read_fd_object(false); }

int Reader::take_fd() noexcept { return read_fd_object(true); }

SvcIdentity Reader::read_service() noexcept {
    const std::optional<WireObject> object = take_object(OBJ_SVC);
    if (!object) return {};
    if (object->flags != 0) {
        fail(ParcelError::object_mismatch, "service reference with unknown flags");
        return {};
    }
    const uint32_t ordinal = services_read_++;
    if (options_.services.empty()) return object->as<SvcIdentity>();
    if (ordinal >= options_.services.size()) {
        fail(ParcelError::object_mismatch, "service reference without a translation");
        return {};
    }
    return options_.services[ordinal];
}

std::span<const std::byte> Reader::read_buffer() noexcept {
    const std::optional<WireObject> object = take_object(OBJ_PTR);
    if (!object) return {};
    const WireBuffer wire = object->as<WireBuffer>();
    if (object->flags == kBufferInline) {
        if (wire.offset != cursor_ || wire.length > kMaxMessageSize) {
            fail(ParcelError::buffer_out_of_bounds, "inline data buffer not right after its object");
            return {};
        }
        const std::byte* bytes = take(wire.length, kWireAlignment, "inline data buffer runs past its data");
        if (!bytes) return {};
        return {bytes, static_cast<size_t>(wire.length)};
    }
    if (object->flags == kBufferInPool) {
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
