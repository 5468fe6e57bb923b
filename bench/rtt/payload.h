// Payload contents every transport writes and reads, so no transport can skip work.
//
// A message of n bytes is n/8 little 64-bit words plus n%8 tail bytes:
//   word 0      the tag: op in the top 8 bits, sequence number in the low 56 bits
//   word i>0    base(seq) + i
//   tail byte j (uint8_t)(seq + j)
// The receiver sums every word and every tail byte in place and compares the sum with the
// closed form for (op, seq, n): each byte is read once, no second buffer, and a torn or
// stale message fails the check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace liteipc::bench {

enum class Op : std::uint8_t {
    request = 1,  // round trip: client -> server
    reply = 2,    // round trip: server -> client
    data = 3,     // stream: one-way message
    flush = 4,    // stream: last message, asks for an ack
    ack = 5,      // stream: server has read and checked everything
    stop = 6,     // server returns from serve()
};

// Smallest payload that carries the tag word.
inline constexpr std::size_t kMinPayload = 8;

namespace detail {
inline constexpr std::uint64_t kSeqMask = (std::uint64_t{1} << 56) - 1;
constexpr std::uint64_t tag(Op op, std::uint64_t seq) noexcept {
    return (std::uint64_t{static_cast<std::uint8_t>(op)} << 56) | (seq & kSeqMask);
}
constexpr std::uint64_t base(std::uint64_t seq) noexcept { return seq * 0x9E3779B97F4A7C15ull; }
}  // namespace detail

// Writes every byte of buf[0, n) for (op, seq). n >= kMinPayload.
inline void fill_payload(void* buf, std::size_t n, Op op, std::uint64_t seq) noexcept {
    auto* p = static_cast<unsigned char*>(buf);
    const std::size_t words = n / 8;
    const std::uint64_t t = detail::tag(op, seq);
    std::memcpy(p, &t, 8);
    const std::uint64_t b = detail::base(seq);
    for (std::size_t i = 1; i < words; ++i) {
        const std::uint64_t w = b + i;
        std::memcpy(p + i * 8, &w, 8);
    }
    for (std::size_t j = 0; j < n % 8; ++j) p[words * 8 + j] = static_cast<unsigned char>(seq + j);
}

struct PayloadCheck {
    Op op;
    std::uint64_t seq;
    bool intact;  // the sum of every byte matches (op, seq, n)
};

// Reads every byte of buf[0, n) in place and checks it against the closed form.
inline PayloadCheck check_payload(const void* buf, std::size_t n) noexcept {
    const auto* p = static_cast<const unsigned char*>(buf);
    const std::size_t words = n / 8;
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < words; ++i) {
        std::uint64_t w;
        std::memcpy(&w, p + i * 8, 8);
        sum += w;
    }
    std::uint64_t tail_sum = 0;
    for (std::size_t j = 0; j < n % 8; ++j) tail_sum += p[words * 8 + j];

    std::uint64_t t;
    std::memcpy(&t, p, 8);
    const auto op = static_cast<Op>(t >> 56);
    const std::uint64_t seq = t & detail::kSeqMask;

    // sum over i in [1, words) of base + i
    const std::uint64_t m = words - 1;
    std::uint64_t expect = t + m * detail::base(seq) + m * (m + 1) / 2;
    std::uint64_t expect_tail = 0;
    for (std::size_t j = 0; j < n % 8; ++j) expect_tail += static_cast<unsigned char>(seq + j);
    return {op, seq, sum == expect && tail_sum == expect_tail};
}

// True when the message is intact and is (op, seq & mask).
inline bool payload_is(const PayloadCheck& c, Op op, std::uint64_t seq) noexcept {
    return c.intact && c.op == op && c.seq == (seq & detail::kSeqMask);
}

}  // namespace liteipc::bench
