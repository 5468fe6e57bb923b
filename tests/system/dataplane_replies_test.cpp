// A buffer a reader holds stays what its writer wrote until the reader drops it: replies held by
// a client (C++ and C API) are never reused by the service's later replies, a full reply pool is
// backpressure and then Errc::no_memory, never a reuse.
#include <algorithm>
#include <deque>
#include <random>
#include <thread>

#include "dataplane_peers.h"
#include "liteipc/liteipc_adapter.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kMiB = 1u << 20;

class HeldReplies : public WithLoader<> {
protected:
    HeldReplies() : WithLoader("held") {}

    ServiceOptions service_options(const std::string& name) const {
        ServiceOptions options{.name = name, .workers = 2, .reply_pool_bytes = 4 * kMiB};
        return options;
    }
};

struct HeldReply {
    uint64_t seed;
    Reply reply;
};

Result<Reply> call_filled(Connection& connection, uint64_t size, uint64_t seed, std::chrono::milliseconds timeout) {
    Request request(connection);
    request.writer().write_uint64(size);
    request.writer().write_uint64(seed);
    return connection.call(kFilledReply, request, timeout);
}

// Every byte of every held reply is what the call with its seed wrote.
void expect_intact(const std::deque<HeldReply>& held, uint64_t size) {
    for (const HeldReply& kept : held) {
        Reader reader = kept.reply.reader();
        std::span<const std::byte> bytes = reader.read_buffer();
        ASSERT_EQ(bytes.size(), size) << "reply " << kept.seed;
        EXPECT_EQ(first_wrong_byte(bytes, kept.seed), -1) << "reply " << kept.seed << " was overwritten";
    }
}

TEST_F(HeldReplies, AFullReplyPoolWaitsThenFailsAndNeverOverwrites) {
    ServicePeer service(loader_.options(), service_options("held.sequential"), ServiceHandler::filled_reply);
    auto connection = Connection::open(*context_, "held.sequential");
    ASSERT_TRUE(connection) << connection.error().describe();

    // 8 x 1 MiB into a 4 MiB pool: the pool fills after 3 (each reply also takes a small block).
    std::deque<HeldReply> held;
    std::optional<Error> refused;
    for (uint64_t seed = 0; seed < 8 && !refused; ++seed) {
        const auto started = std::chrono::steady_clock::now();
        auto reply = call_filled(*connection, kMiB, seed, 1000ms);
        if (!reply) {
            refused = reply.error();
            // Backpressure first: the service waited for space most of the call's timeout.
            EXPECT_GE(std::chrono::steady_clock::now() - started, 500ms);
            break;
        }
        ASSERT_EQ(reply->status(), 0);
        held.push_back({seed, std::move(*reply)});
    }
    ASSERT_TRUE(refused) << "8 MiB of replies held in a 4 MiB pool";
    EXPECT_EQ(refused->code, Errc::no_memory) << refused->describe();
    EXPECT_GE(held.size(), 3u);
    expect_intact(held, kMiB);

    // Drop one: the next call fits, and what is still held is untouched.
    held.pop_front();
    auto next = call_filled(*connection, kMiB, 100, 5000ms);
    ASSERT_TRUE(next) << next.error().describe();
    held.push_back({100, std::move(*next)});
    expect_intact(held, kMiB);

    // Many more calls, each dropping the oldest reply only after the new one arrived.
    for (uint64_t seed = 200; seed < 240; ++seed) {
        held.pop_front();
        auto reply = call_filled(*connection, kMiB, seed, 5000ms);
        ASSERT_TRUE(reply) << reply.error().describe();
        held.push_back({seed, std::move(*reply)});
        expect_intact(held, kMiB);
    }
}

TEST_F(HeldReplies, ConcurrentCallersKeepTheirOwnReplies) {
    ServicePeer service(loader_.options(), service_options("held.concurrent"), ServiceHandler::filled_reply);
    auto connection = Connection::open(*context_, "held.concurrent");
    ASSERT_TRUE(connection) << connection.error().describe();

    // 4 threads x (2 held + 1 arriving) replies of 256 KiB fit the 4 MiB pool: every call succeeds.
    constexpr uint64_t kSize = 256 * 1024;
    std::atomic<int> failures{0};
    std::vector<std::thread> callers;
    for (uint64_t thread = 0; thread < 4; ++thread) {
        callers.emplace_back([&, thread] {
            std::deque<HeldReply> held;
            for (uint64_t i = 0; i < 60; ++i) {
                const uint64_t seed = thread * 1000 + i;
                auto reply = call_filled(*connection, kSize, seed, 10000ms);
                if (!reply || reply->status() != 0) {
                    ++failures;
                    return;
                }
                held.push_back({seed, std::move(*reply)});
                if (held.size() > 2) held.pop_front();
                for (const HeldReply& kept : held) {
                    Reader reader = kept.reply.reader();
                    std::span<const std::byte> bytes = reader.read_buffer();
                    if (bytes.size() != kSize || first_wrong_byte(bytes, kept.seed) != -1) {
                        ++failures;
                        return;
                    }
                }
            }
        });
    }
    for (auto& caller : callers) caller.join();
    EXPECT_EQ(failures.load(), 0) << "a call failed or a held reply changed under its reader";
}

// The C API: buffers from SendRequest stay intact until FreeBuffer, whatever order they are freed in.
TEST_F(HeldReplies, CApiBuffersStayIntactUntilFreeBufferInAnyOrder) {
    ServicePeer service(loader_.options(), service_options("held.capi"), ServiceHandler::filled_reply);
    ::setenv("LITEIPC_SOCKET", loader_.socket().c_str(), 1);
    ::setenv("LITEIPC_PIN_ROOT", loader_.pin_root().c_str(), 1);
    IpcContext* ipc = OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE);
    ASSERT_NE(ipc, nullptr);
    SvcIdentity sid{};
    ASSERT_EQ(LiteIpcGetService(ipc, "held.capi", &sid), LITEIPC_OK);

    constexpr uint64_t kSize = 512 * 1024;
    struct Held {
        uint64_t seed;
        uintptr_t buffer;
        const std::byte* bytes;
        uint64_t size;
    };
    std::vector<Held> held;
    std::mt19937 random(7);
    uint64_t next_seed = 0;
    auto call = [&]() -> int32_t {
        uint8_t data[64];
        IpcIo request, reply;
        IpcIoInit(&request, data, sizeof data, 0);
        IpcIoPushUint64(&request, kSize);
        IpcIoPushUint64(&request, next_seed);
        uintptr_t buffer = 0;
        int32_t result = LiteIpcSendRequestTimeout(ipc, sid, kFilledReply, &request, &reply, LITEIPC_FLAG_DEFAULT,
                                                   &buffer, 5000);
        if (result != LITEIPC_OK) return result;
        BuffPtr* data_buffer = IpcIoPopDataBuff(&reply);
        if (data_buffer == nullptr) return -1000;
        held.push_back({next_seed++, buffer, static_cast<const std::byte*>(data_buffer->buff), data_buffer->buffSz});
        return LITEIPC_OK;
    };
    for (int round = 0; round < 40; ++round) {
        // Up to 6 x 512 KiB held (the pool holds 7), freed in a shuffled order.
        while (held.size() < 6) ASSERT_EQ(call(), LITEIPC_OK) << "round " << round;
        for (const Held& kept : held) {
            ASSERT_EQ(kept.size, kSize);
            ASSERT_EQ(first_wrong_byte({kept.bytes, kept.size}, kept.seed), -1)
                << "buffer of call " << kept.seed << " changed before FreeBuffer, round " << round;
        }
        std::shuffle(held.begin(), held.end(), random);
        const std::size_t freeing = 1 + random() % 3;
        for (std::size_t i = 0; i < freeing; ++i) {
            ASSERT_EQ(FreeBuffer(ipc, reinterpret_cast<void*>(held.back().buffer)), LITEIPC_OK);
            held.pop_back();
        }
    }
    for (const Held& kept : held) EXPECT_EQ(FreeBuffer(ipc, reinterpret_cast<void*>(kept.buffer)), LITEIPC_OK);
    CloseLiteIpc(ipc);
    ::unsetenv("LITEIPC_SOCKET");
    ::unsetenv("LITEIPC_PIN_ROOT");
}

}  // namespace
}  // namespace liteipc::testing
