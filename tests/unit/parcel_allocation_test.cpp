// Parcel's write and read path allocates nothing.
#include "parcel_support.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>

// Counts global allocations to prove the write/read path allocates nothing. Weak, so a
// stronger replacement elsewhere in the test binary wins; the test then checks that counting
// is really active before trusting a zero.
namespace {
std::atomic<size_t> g_allocations{0};
}
__attribute__((weak)) void* operator new(size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
__attribute__((weak)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((weak)) void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace liteipc {
namespace {

using namespace parcel_testing;

TEST(Parcel, WriteAndReadDoNotAllocate) {
    const size_t before_probe = g_allocations.load();
    ::operator delete(::operator new(16));  // a direct call: can't be elided
    if (g_allocations.load() == before_probe) GTEST_SKIP() << "allocation counting replaced elsewhere";

    TestPool pool(1 << 20);
    std::array<std::byte, 8192> storage;
    std::array<std::byte, 4096> payload{};
    std::array<int, 1> fds{42};
    bool all_ok = true;
    int64_t checksum = 0;
    const size_t before = g_allocations.load();
    for (int round = 0; round < 100; ++round) {
        Writer writer(storage, &pool);
        for (int i = 0; i < 16; ++i) writer.write_int32(i);
        writer.write_string("service.name");
        writer.write_string("method");
        writer.write_buffer(payload);
        writer.write_fd(3);
        const auto message = writer.finish();
        all_ok = all_ok && message.has_value();
        if (!message) break;
        Reader reader(*message, {.peer_pool = pool.mapping(), .fds = fds});
        for (int i = 0; i < 16; ++i) checksum += reader.read_int32();
        checksum += static_cast<int64_t>(reader.read_string_view().size());
        checksum += static_cast<int64_t>(reader.read_string_view().size());
        checksum += static_cast<int64_t>(reader.read_buffer().size());
        checksum += reader.read_fd();
        all_ok = all_ok && reader.ok();
    }
    const size_t allocations = g_allocations.load() - before;
    EXPECT_TRUE(all_ok);
    EXPECT_EQ(checksum, 100 * (120 + 12 + 6 + 4096 + 42));
    EXPECT_EQ(allocations, 0u);
}

}  // namespace
}  // namespace liteipc
