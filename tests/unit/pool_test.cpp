#include "transport/pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

namespace liteipc::detail {
namespace {

using namespace std::chrono_literals;

TEST(PoolBlockAllocator, BlocksAreAlignedAndAccounted) {
    PoolBlockAllocator pool(4096);
    auto a = pool.allocate(1);
    auto b = pool.allocate(65);
    auto c = pool.allocate(128);
    ASSERT_TRUE(a && b && c);
    for (const auto& block : {*a, *b, *c}) EXPECT_EQ(block.offset % PoolBlockAllocator::kAlignment, 0u);
    EXPECT_EQ(a->size, 64u);
    EXPECT_EQ(b->size, 128u);
    EXPECT_EQ(c->size, 128u);
    EXPECT_EQ(pool.used_bytes(), 320u);
    EXPECT_EQ(pool.stats().allocated_blocks, 3u);
    ASSERT_TRUE(pool.free(b->offset));
    EXPECT_EQ(pool.used_bytes(), 192u);
}

TEST(PoolBlockAllocator, FreeCoalescesNeighbours) {
    PoolBlockAllocator pool(64 * 100);
    std::vector<uint64_t> offsets;
    for (int i = 0; i < 100; ++i) {
        auto block = pool.allocate(64);
        ASSERT_TRUE(block);
        offsets.push_back(block->offset);
    }
    EXPECT_EQ(pool.free_blocks(), 0u);
    std::shuffle(offsets.begin(), offsets.end(), std::mt19937{7});
    for (uint64_t offset : offsets) ASSERT_TRUE(pool.free(offset));
    const PoolStats stats = pool.stats();
    EXPECT_EQ(stats.free_blocks, 1u);
    EXPECT_EQ(stats.largest_free_block, 6400u);
    EXPECT_EQ(stats.used_bytes, 0u);
}

TEST(PoolBlockAllocator, ExhaustionIsNoMemoryWithAClearMessage) {
    PoolBlockAllocator pool(1024);
    auto too_big = pool.allocate(1025);
    ASSERT_FALSE(too_big);
    EXPECT_EQ(too_big.error().code, Errc::no_memory);
    EXPECT_NE(too_big.error().message.find("capacity"), std::string::npos);

    ASSERT_TRUE(pool.allocate(1000));
    auto full = pool.allocate(64);
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error().code, Errc::no_memory);
    EXPECT_NE(full.error().message.find("exhausted"), std::string::npos) << full.error().describe();
    EXPECT_EQ(pool.stats().failed_allocations, 2u);

    EXPECT_EQ(pool.allocate(0).error().code, Errc::invalid_argument);
}

TEST(PoolBlockAllocator, FreeOfUnknownOffsetIsRefused) {
    PoolBlockAllocator pool(1024);
    auto block = pool.allocate(100);
    ASSERT_TRUE(block);
    EXPECT_EQ(pool.free(block->offset + 64).error().code, Errc::not_found);
    ASSERT_TRUE(pool.free(block->offset));
    EXPECT_EQ(pool.free(block->offset).error().code, Errc::not_found);  // double free
    EXPECT_EQ(pool.used_bytes(), 0u);
}

TEST(PoolBlockAllocator, WaitsForSpaceUntilTheDeadline) {
    PoolBlockAllocator pool(1024);
    auto all = pool.allocate(1024);
    ASSERT_TRUE(all);

    const auto start = std::chrono::steady_clock::now();
    auto refused = pool.allocate(64, Deadline::after(30ms));
    EXPECT_EQ(refused.error().code, Errc::no_memory);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);

    std::thread freer([&] {
        std::this_thread::sleep_for(20ms);
        (void)pool.free(all->offset);
    });
    auto granted = pool.allocate(512, Deadline::after(5s));
    freer.join();
    ASSERT_TRUE(granted) << granted.error().describe();
    EXPECT_EQ(granted->size, 512u);
}

TEST(PoolBlockAllocator, ConcurrentBlocksNeverOverlap) {
    constexpr uint64_t kCapacity = 256 * 1024;
    PoolBlockAllocator pool(kCapacity);
    std::vector<std::atomic<uint8_t>> owner(kCapacity / PoolBlockAllocator::kAlignment);
    std::atomic<int> overlaps{0};
    std::vector<std::thread> threads;
    for (uint8_t id = 1; id <= 4; ++id) {
        threads.emplace_back([&, id] {
            std::mt19937 random(id);
            std::vector<PoolBlock> held;
            for (int i = 0; i < 20000; ++i) {
                if (held.size() < 8 && (random() & 1)) {
                    auto block = pool.allocate(1 + random() % 4000);
                    if (!block) continue;
                    for (uint64_t line = block->offset / 64; line < (block->offset + block->size) / 64; ++line) {
                        uint8_t expected = 0;
                        if (!owner[line].compare_exchange_strong(expected, id)) ++overlaps;
                    }
                    held.push_back(*block);
                } else if (!held.empty()) {
                    const PoolBlock block = held.back();
                    held.pop_back();
                    for (uint64_t line = block.offset / 64; line < (block.offset + block.size) / 64; ++line) {
                        owner[line].store(0);
                    }
                    ASSERT_TRUE(pool.free(block.offset));
                }
            }
            for (const PoolBlock& block : held) {
                for (uint64_t line = block.offset / 64; line < (block.offset + block.size) / 64; ++line) {
                    owner[line].store(0);
                }
                ASSERT_TRUE(pool.free(block.offset));
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(overlaps.load(), 0);
    EXPECT_EQ(pool.used_bytes(), 0u);
    EXPECT_EQ(pool.free_blocks(), 1u);
}

}  // namespace
}  // namespace liteipc::detail
