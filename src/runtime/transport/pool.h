// Allocator of the blocks of one payload pool (a shared region written by one side only), held by
// the pool's writer. Not the public liteipc::PoolAllocator, the interface a Writer asks for space.
//
// The metadata lives here, in the writer's private memory, never in the shared region: a peer that
// can read the pool, or write the ctrl region, can neither see nor corrupt which blocks are free.
// First fit over an offset-ordered free list with coalescing: simple, and payload blocks are few and
// short-lived (one per call in flight).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>

#include "common/deadline.h"
#include "liteipc/error.h"

namespace liteipc::detail {

struct PoolBlock {
    uint64_t offset = 0;  // from the start of the pool, a multiple of PoolBlockAllocator::kAlignment
    uint64_t size = 0;    // as reserved: the request rounded up to kAlignment
};

struct PoolStats {
    uint64_t capacity = 0;
    uint64_t used_bytes = 0;
    uint64_t free_bytes = 0;
    uint64_t largest_free_block = 0;
    std::size_t free_blocks = 0;       // fragments in the free list
    std::size_t allocated_blocks = 0;
    uint64_t failed_allocations = 0;   // since creation
};

class PoolBlockAllocator {
public:
    static constexpr uint64_t kAlignment = 64;  // one cache line: blocks never share a line

    // Manages [0, capacity) rounded down to kAlignment.
    explicit PoolBlockAllocator(uint64_t capacity);
    PoolBlockAllocator(const PoolBlockAllocator&) = delete;
    PoolBlockAllocator& operator=(const PoolBlockAllocator&) = delete;

    // Reserve `size` bytes (> 0). Fails at once with Errc::no_memory if no free block is large enough.
    Result<PoolBlock> allocate(uint64_t size);
    // Same, but waits for blocks to be freed until the deadline before failing with Errc::no_memory.
    // A size above capacity fails at once.
    Result<PoolBlock> allocate(uint64_t size, Deadline deadline);
    // Return a block by its offset. Errc::not_found for an offset that is not an allocated block.
    Result<void> free(uint64_t offset);

    uint64_t capacity() const noexcept { return capacity_; }
    uint64_t used_bytes() const;
    std::size_t free_blocks() const;
    PoolStats stats() const;

private:
    Result<PoolBlock> allocate_locked(uint64_t size);

    const uint64_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable freed_;
    std::map<uint64_t, uint64_t> free_by_offset_;          // offset -> size, never adjacent (coalesced)
    std::unordered_map<uint64_t, uint64_t> allocated_;     // offset -> size
    uint64_t used_bytes_ = 0;
    uint64_t failed_allocations_ = 0;
};

}  // namespace liteipc::detail
