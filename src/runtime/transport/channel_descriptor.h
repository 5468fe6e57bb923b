// Moving message descriptors between private memory and a call slot, shared by both halves of a channel.
// Each side fetches a descriptor once into a private copy and validates only that copy.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <string>

#include "transport/channel_layout.h"
#include "liteipc/error.h"
#include "common/mapping.h"

namespace liteipc::detail {

// A slot that holds no pool block.
inline constexpr uint64_t kNoBlock = UINT64_MAX;

inline uint32_t current_tid() noexcept {
    thread_local const uint32_t tid = static_cast<uint32_t>(::gettid());
    return tid;
}

// The payload a private copy of a descriptor refers to, bounds-checked against the sender's pool.
// Inline payloads point into `descriptor` itself, so they live as long as that copy.
inline Result<std::span<const std::byte>> payload_of(const MessageDescriptor& descriptor, const Mapping& pool) {
    switch (static_cast<PayloadKind>(descriptor.payload_kind)) {
        case PayloadKind::none:
            if (descriptor.payload_length != 0) break;
            return std::span<const std::byte>{};
        case PayloadKind::inline_bytes:
            if (descriptor.payload_length > kInlinePayloadCapacity) {
                return fail(Errc::malformed, "inline payload of " + std::to_string(descriptor.payload_length) +
                                                 " bytes exceeds " + std::to_string(kInlinePayloadCapacity));
            }
            return std::span<const std::byte>{reinterpret_cast<const std::byte*>(descriptor.inline_payload),
                                              static_cast<std::size_t>(descriptor.payload_length)};
        case PayloadKind::pool:
            if (!pool.contains(descriptor.pool_offset, descriptor.payload_length)) {
                return fail(Errc::malformed, "pool payload [" + std::to_string(descriptor.pool_offset) + ", +" +
                                                 std::to_string(descriptor.payload_length) +
                                                 ") lies outside the " + std::to_string(pool.size()) +
                                                 "-byte pool");
            }
            return std::span<const std::byte>{pool.data() + descriptor.pool_offset,
                                              static_cast<std::size_t>(descriptor.payload_length)};
    }
    return fail(Errc::malformed, "payload kind " + std::to_string(descriptor.payload_kind) + " with length " +
                                     std::to_string(descriptor.payload_length));
}

constexpr std::size_t kDescriptorHeaderSize = offsetof(MessageDescriptor, inline_payload);

// Into shared memory: the header and the inline bytes in use, no more (fewer cache lines to cross).
// The rest of the slot holds only older payloads of this same connection. Everything but the
// call_sequence, which publishes the descriptor (publish_sequence).
inline void write_descriptor(MessageDescriptor& shared, const MessageDescriptor& local) noexcept {
    constexpr std::size_t kSequenceAt = offsetof(MessageDescriptor, call_sequence);
    constexpr std::size_t kAfterSequence = kSequenceAt + sizeof(uint64_t);
    std::size_t used = kDescriptorHeaderSize;
    if (static_cast<PayloadKind>(local.payload_kind) == PayloadKind::inline_bytes) {
        used += std::min<uint64_t>(local.payload_length, kInlinePayloadCapacity);
    }
    auto* to = reinterpret_cast<std::byte*>(&shared);
    const auto* from = reinterpret_cast<const std::byte*>(&local);
    std::memcpy(to, from, kSequenceAt);
    std::memcpy(to + kAfterSequence, from + kAfterSequence, used - kAfterSequence);
}

// The writer's turn: whoever sees the new call_sequence (acquire) sees what write_descriptor wrote.
inline void publish_sequence(MessageDescriptor& shared, uint64_t call_sequence) noexcept {
    sequence_of(shared).store(call_sequence, std::memory_order_release);
}

// Out of shared memory, once: the header, then as many inline bytes as the private header claims
// (capped; payload_of() rejects an oversized length). Bytes past that stay uninitialized and unread.
inline void fetch_descriptor(MessageDescriptor& local, const MessageDescriptor& shared) noexcept {
    std::memcpy(&local, &shared, kDescriptorHeaderSize);
    if (static_cast<PayloadKind>(local.payload_kind) == PayloadKind::inline_bytes) {
        std::memcpy(local.inline_payload, shared.inline_payload,
                    std::min<uint64_t>(local.payload_length, kInlinePayloadCapacity));
    }
}

// A descriptor with a zeroed header; the inline bytes are written only as far as they are used.
inline MessageDescriptor fresh_descriptor() noexcept {
    MessageDescriptor descriptor;
    std::memset(&descriptor, 0, kDescriptorHeaderSize);
    return descriptor;
}

}  // namespace liteipc::detail
