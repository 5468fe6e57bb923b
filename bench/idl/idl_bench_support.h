// What the idl benches share: the receiver's read of every payload byte, and the median of a run.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

inline int64_t sum_of(std::span<const std::byte> bytes) {
    int64_t sum = 0;
    for (std::byte b : bytes) sum += static_cast<uint8_t>(b);
    return sum;
}

inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}
