#include "transport/pool.h"

#include <algorithm>
#include <string>

namespace liteipc::detail {
namespace {

constexpr uint64_t round_up(uint64_t value, uint64_t alignment) noexcept {
    return (value + alignment - 1) & ~(alignment - 1);
}

}  // namespace

PoolBlockAllocator::PoolBlockAllocator(uint64_t capacity) : capacity_(capacity & ~(kAlignment - 1)) {
    if (capacity_ > 0) free_by_offset_.emplace(0, capacity_);
}

Result<PoolBlock> PoolBlockAllocator::allocate_locked(uint64_t size) {
    const uint64_t needed = round_up(size, kAlignment);
    for (auto it = free_by_offset_.begin(); it != free_by_offset_.end(); ++it) {
        if (it->second < needed) continue;
        PoolBlock block{it->first, needed};
        const uint64_t rest = it->second - needed;
        free_by_offset_.erase(it);
        if (rest > 0) free_by_offset_.emplace(block.offset + needed, rest);
        allocated_.emplace(block.offset, needed);
        used_bytes_ += needed;
        return block;
    }
    ++failed_allocations_;
    uint64_t largest = 0;
    for (const auto& [offset, length] : free_by_offset_) largest = std::max(largest, length);
    return fail(Errc::no_memory, "pool exhausted: " + std::to_string(size) + " bytes requested, " +
                                     std::to_string(capacity_ - used_bytes_) + " of " + std::to_string(capacity_) +
                                     " free, largest free block " + std::to_string(largest) +
                                     " (free replies/buffers sooner or create a larger pool)");
}

Result<PoolBlock> PoolBlockAllocator::allocate(uint64_t size) { return allocate(size, Deadline::now()); }

Result<PoolBlock> PoolBlockAllocator::allocate(uint64_t size, Deadline deadline) {
    if (size == 0) return fail(Errc::invalid_argument, "pool allocation of 0 bytes");
    if (size > capacity_) {
        std::lock_guard lock(mutex_);
        ++failed_allocations_;
        return fail(Errc::no_memory, "pool allocation of " + std::to_string(size) +
                                         " bytes exceeds the pool capacity of " + std::to_string(capacity_) +
                                         " bytes (create a larger pool)");
    }
    std::unique_lock lock(mutex_);
    for (;;) {
        auto block = allocate_locked(size);
        if (block || deadline.expired()) return block;
        --failed_allocations_;  // only the final failure counts
        if (deadline.is_forever()) {
            freed_.wait(lock);
        } else {
            freed_.wait_until(lock, deadline.time_point());
        }
    }
}

Result<void> PoolBlockAllocator::free(uint64_t offset) {
    {
        std::lock_guard lock(mutex_);
        auto found = allocated_.find(offset);
        if (found == allocated_.end()) {
            return fail(Errc::not_found, "pool free of offset " + std::to_string(offset) +
                                             ", which is not an allocated block");
        }
        uint64_t start = offset;
        uint64_t length = found->second;
        allocated_.erase(found);
        used_bytes_ -= length;

        // Coalesce with the free neighbours on both sides.
        auto next = free_by_offset_.lower_bound(start);
        if (next != free_by_offset_.end() && start + length == next->first) {
            length += next->second;
            next = free_by_offset_.erase(next);
        }
        if (next != free_by_offset_.begin()) {
            auto previous = std::prev(next);
            if (previous->first + previous->second == start) {
                start = previous->first;
                length += previous->second;
                free_by_offset_.erase(previous);
            }
        }
        free_by_offset_.emplace(start, length);
    }
    freed_.notify_all();
    return {};
}

uint64_t PoolBlockAllocator::used_bytes() const {
    std::lock_guard lock(mutex_);
    return used_bytes_;
}

std::size_t PoolBlockAllocator::free_blocks() const {
    std::lock_guard lock(mutex_);
    return free_by_offset_.size();
}

PoolStats PoolBlockAllocator::stats() const {
    std::lock_guard lock(mutex_);
    PoolStats stats;
    stats.capacity = capacity_;
    stats.used_bytes = used_bytes_;
    stats.free_bytes = capacity_ - used_bytes_;
    for (const auto& [offset, length] : free_by_offset_) {
        stats.largest_free_block = std::max(stats.largest_free_block, length);
    }
    stats.free_blocks = free_by_offset_.size();
    stats.allocated_blocks = allocated_.size();
    stats.failed_allocations = failed_allocations_;
    return stats;
}

}  // namespace liteipc::detail
