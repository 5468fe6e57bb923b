// A synchronous call in its steady state allocates nothing, on either side: the client's request
// set-up, its Reply and the reply's lifetime, the service's Call and reply building. This binary
// replaces operator new with one that counts per thread, so an allocation slipped back into the
// call path fails here instead of showing only as a slower benchmark.
#include <atomic>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>

#include "loader_fixture.h"
#include "liteipc/ipc.h"

namespace {
// Static TLS in the executable: reading it allocates nothing, even inside operator new.
thread_local uint64_t allocations_on_this_thread = 0;

void* counted_allocation(std::size_t size, std::size_t alignment) {
    ++allocations_on_this_thread;
    size = size == 0 ? 1 : size;
    void* memory = alignment <= alignof(std::max_align_t)
                       ? std::malloc(size)
                       : std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
    if (memory == nullptr) throw std::bad_alloc();
    return memory;
}
}  // namespace

// The array and nothrow forms of libstdc++ call these.
void* operator new(std::size_t size) { return counted_allocation(size, 0); }
void* operator new(std::size_t size, std::align_val_t alignment) {
    return counted_allocation(size, static_cast<std::size_t>(alignment));
}
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete(void* memory, std::align_val_t) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t, std::align_val_t) noexcept { std::free(memory); }

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kParcelEcho = 1, kRawEcho = 2;
constexpr int kWarmUpCalls = 1'000, kCountedCalls = 10'000;

// A service in this process with one worker, so that one thread serves every call: its handler
// notes that thread's allocation count at each call.
class CallAllocationTest : public WithLoader<> {
protected:
    CallAllocationTest() : WithLoader("alloc") {}

    void SetUp() override {
        WithLoader::SetUp();
        if (HasFatalFailure() || IsSkipped()) return;
        auto started = Service::start(*context_, {.name = "test.alloc", .workers = 1}, [this](Call& call) {
            served_allocations_.store(allocations_on_this_thread, std::memory_order_relaxed);
            if (call.code() == kRawEcho) {
                auto out = call.reply_raw(call.payload().size());
                if (!out) return -1;
                std::copy(call.payload().begin(), call.payload().end(), out->begin());
                return 0;
            }
            call.reply().write_uint64(call.request().read_uint64() + 1);
            return call.request().ok() ? 0 : -1;
        });
        ASSERT_TRUE(started) << started.error().describe();
        service_.emplace(std::move(*started));
        auto connection = Connection::open(*context_, "test.alloc");
        ASSERT_TRUE(connection) << connection.error().describe();
        connection_.emplace(std::move(*connection));
    }

    void TearDown() override {
        connection_.reset();
        service_.reset();
    }

    // One call of either kind; false (with a failure) when its reply is not the expected one.
    bool parcel_call(uint64_t number, std::optional<Reply>* keep = nullptr) {
        Request request(*connection_);
        request.writer().write_uint64(number);
        auto reply = connection_->call(kParcelEcho, request, 10s);
        if (!reply) {
            ADD_FAILURE() << reply.error().describe();
            return false;
        }
        Reader reader = reply->reader();
        const uint64_t answer = reader.read_uint64();
        EXPECT_EQ(answer, number + 1);
        if (keep) keep->emplace(std::move(*reply));
        return answer == number + 1;
    }

    bool raw_call(uint64_t number) {
        auto reply = connection_->call_raw(
            kRawEcho, sizeof number, [&](std::span<std::byte> out) { std::memcpy(out.data(), &number, sizeof number); },
            10s);
        if (!reply) {
            ADD_FAILURE() << reply.error().describe();
            return false;
        }
        uint64_t answer = 0;
        EXPECT_EQ(reply->payload().size(), sizeof answer);
        std::memcpy(&answer, reply->payload().data(), std::min(sizeof answer, reply->payload().size()));
        EXPECT_EQ(answer, number);
        return answer == number;
    }

    // Allocations on the calling thread and on the service's worker across kCountedCalls calls
    // made after kWarmUpCalls.
    template <typename OneCall>
    void count_allocations(OneCall one_call, uint64_t& client, uint64_t& service) {
        for (int i = 0; i < kWarmUpCalls; ++i)
            if (!one_call(i)) return;
        const uint64_t client_before = allocations_on_this_thread;
        const uint64_t service_before = served_allocations_.load(std::memory_order_relaxed);
        for (int i = 0; i < kCountedCalls; ++i)
            if (!one_call(kWarmUpCalls + i)) return;
        client = allocations_on_this_thread - client_before;
        service = served_allocations_.load(std::memory_order_relaxed) - service_before;
    }

    std::atomic<uint64_t> served_allocations_{0};
    std::optional<Service> service_;
    std::optional<Connection> connection_;
};

TEST_F(CallAllocationTest, TheCountingAllocatorSeesAnAllocation) {
    const uint64_t before = allocations_on_this_thread;
    auto* boxed = new uint64_t(7);
    EXPECT_EQ(allocations_on_this_thread - before, 1u);
    delete boxed;
}

TEST_F(CallAllocationTest, ParcelCallsAllocateNothingOnEitherSide) {
    uint64_t client = UINT64_MAX, service = UINT64_MAX;
    count_allocations([this](uint64_t number) { return parcel_call(number); }, client, service);
    EXPECT_EQ(client, 0u) << "allocations by the client over " << kCountedCalls << " calls";
    EXPECT_EQ(service, 0u) << "allocations by the service's worker over " << kCountedCalls << " calls";
}

TEST_F(CallAllocationTest, RawCallsAllocateNothingOnEitherSide) {
    uint64_t client = UINT64_MAX, service = UINT64_MAX;
    count_allocations([this](uint64_t number) { return raw_call(number); }, client, service);
    EXPECT_EQ(client, 0u) << "allocations by the client over " << kCountedCalls << " calls";
    EXPECT_EQ(service, 0u) << "allocations by the service's worker over " << kCountedCalls << " calls";
}

// A reply kept past the next call stays intact, and keeping one costs no allocation either.
TEST_F(CallAllocationTest, AReplyHeldAcrossTheNextCallStaysIntactAndAllocatesNothing) {
    std::optional<Reply> held;
    uint64_t held_number = 0;
    uint64_t client = UINT64_MAX, service = UINT64_MAX;
    count_allocations(
        [&](uint64_t number) {
            std::optional<Reply> next;
            if (!parcel_call(number, &next)) return false;
            if (held) {
                Reader reader = held->reader();
                const uint64_t answer = reader.read_uint64();
                EXPECT_EQ(answer, held_number + 1) << "a held reply changed under the next call";
                if (answer != held_number + 1) return false;
            }
            held = std::move(next);
            held_number = number;
            return true;
        },
        client, service);
    EXPECT_EQ(client, 0u) << "allocations by the client over " << kCountedCalls << " calls";
    EXPECT_EQ(service, 0u) << "allocations by the service's worker over " << kCountedCalls << " calls";
}

}  // namespace
}  // namespace liteipc::testing
