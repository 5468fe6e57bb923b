// What the Parcel tests (parcel_*_test.cpp) share: a pool of the test's own memory, a flat
// object, and ways to take a finished message apart and corrupt it.
#pragma once

#include "liteipc/parcel.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace liteipc::parcel_testing {

inline std::span<const std::byte> bytes_of(std::string_view text) {
    return std::as_bytes(std::span(text.data(), text.size()));
}

struct Point {
    int32_t x;
    int32_t y;
    double weight;
    bool operator==(const Point&) const = default;
};

// A pool of the test's own memory: the "sender's pool" and the "receiver's mapping" are the
// same bytes here.
class TestPool final : public PoolAllocator {
public:
    explicit TestPool(size_t size) : memory_(size) {}
    std::optional<PoolSpan> allocate(size_t size) override {
        ++allocations;
        if (refuse || size > memory_.size() - used_) return std::nullopt;
        PoolSpan span{used_, std::span(memory_).subspan(used_, size)};
        used_ += (size + 63) & ~size_t{63};
        return span;
    }
    std::span<const std::byte> mapping() const { return memory_; }
    int allocations = 0;
    bool refuse = false;

private:
    std::vector<std::byte> memory_;
    size_t used_ = 0;
};

// Copies a finished message so tests can corrupt it.
inline std::vector<std::byte> finished(Writer& writer) {
    auto message = writer.finish();
    EXPECT_TRUE(message.has_value()) << writer.error_reason();
    if (!message) return {};
    return {message->begin(), message->end()};
}

inline MessageHeader header_of(std::span<const std::byte> message) {
    MessageHeader header;
    std::memcpy(&header, message.data(), sizeof header);
    return header;
}

inline void set_header(std::vector<std::byte>& message, const MessageHeader& header) {
    std::memcpy(message.data(), &header, sizeof header);
}

inline size_t offsets_position(std::span<const std::byte> message) {
    const auto header = header_of(message);
    return sizeof(MessageHeader) + ((header.data_size + 3) & ~3u);
}

inline void set_offset(std::vector<std::byte>& message, size_t index, uint32_t position) {
    std::memcpy(message.data() + offsets_position(message) + index * 4, &position, 4);
}

template <typename T>
void poke(std::vector<std::byte>& message, size_t data_position, T value) {
    std::memcpy(message.data() + sizeof(MessageHeader) + data_position, &value, sizeof value);
}

// A message of an int, two fds and an int.
inline std::vector<std::byte> two_fd_message() {
    InlineWriter<256> writer;
    writer.write_int32(1);
    writer.write_fd(3);
    writer.write_fd(4);
    writer.write_int32(2);
    return finished(writer);
}

}  // namespace liteipc::parcel_testing
