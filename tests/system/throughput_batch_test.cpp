// Oneway batches between real processes: order and every byte, and backpressure from a service
// that stops reading.
#include <sys/mman.h>

#include <chrono>

#include "test_processes.h"

namespace liteipc::testing {
namespace {

using Clock = std::chrono::steady_clock;

class ThroughputBatchTest : public WithLoader<> {
protected:
    ThroughputBatchTest() : WithLoader("batch") {}
    ServiceOptions options(const char* name) {
        ServiceOptions o;
        o.name = name;
        o.workers = 2;  // two workers: batches must still be served in the order sent
        return o;
    }

    struct Tally {
        uint64_t received = 0, out_of_order = 0, wrong_bytes = 0;
    };
    static Tally tally(Connection& connection) {
        Request request(connection);
        auto reply = connection.call(kStreamReport, request, 10s);
        EXPECT_TRUE(reply) << reply.error().describe();
        if (!reply) return {};
        Reader reader = reply->reader();
        Tally t;
        t.received = reader.read_uint64();
        t.out_of_order = reader.read_uint64();
        t.wrong_bytes = reader.read_uint64();
        return t;
    }
    // Waits until the service has read `count` messages (oneway: nothing tells us otherwise).
    static Tally tally_once_read(Connection& connection, uint64_t count) {
        const auto give_up = Clock::now() + 30s;
        Tally t = tally(connection);
        while (t.received < count && Clock::now() < give_up) {
            std::this_thread::sleep_for(5ms);
            t = tally(connection);
        }
        return t;
    }
};

// Sizes from 8 to 300 bytes (inline-sized and larger), batches of 1 to 64 messages.
size_t message_size(uint64_t seq) { return 8 + (seq * 37) % 293; }

TEST_F(ThroughputBatchTest, BatchesKeepOrderAndEveryByteAcrossProcesses) {
    ServiceProcess service(loader_.options(), options("test.batch.order"));
    auto stream = Connection::open(*context_, "test.batch.order");
    ASSERT_TRUE(stream) << stream.error().describe();
    uint64_t seq = 0;
    for (int b = 0; b < 400; ++b) {
        auto batch = stream->begin_batch(16 * 1024, 10s);
        ASSERT_TRUE(batch) << batch.error().describe();
        const size_t count = 1 + (b * 13) % 64;
        for (size_t i = 0; i < count; ++i, ++seq) {
            auto out = batch->append(message_size(seq));
            ASSERT_EQ(out.size(), message_size(seq));
            fill_stream_message(out, seq);
        }
        EXPECT_EQ(batch->count(), count);
        auto sent = stream->send_batch(kStreamMessage, *batch, 10s);
        ASSERT_TRUE(sent) << sent.error().describe();
        EXPECT_EQ(batch->count(), 0u);  // consumed
    }
    const Tally t = tally_once_read(*stream, seq);
    EXPECT_EQ(t.received, seq);
    EXPECT_EQ(t.out_of_order, 0u);
    EXPECT_EQ(t.wrong_bytes, 0u);
}

TEST_F(ThroughputBatchTest, AFullBatchSaysSoAndTakesNoMoreMessages) {
    ServiceProcess service(loader_.options(), options("test.batch.full"));
    auto stream = Connection::open(*context_, "test.batch.full");
    ASSERT_TRUE(stream) << stream.error().describe();
    auto batch = stream->begin_batch(256, 10s);
    ASSERT_TRUE(batch) << batch.error().describe();
    size_t appended = 0;
    while (batch->append(56).size() == 56) ++appended;
    EXPECT_EQ(appended, 4u);  // 4 x (8 header + 56) = 256
    EXPECT_EQ(batch->append(1).size(), 0u);
    auto empty = stream->begin_batch(0);
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code, Errc::invalid_argument);
}

TEST_F(ThroughputBatchTest, AStalledReceiverBoundsTheSenderWithANamedErrorAndLosesNothing) {
    // The gate is a file the spawned service maps; closed: the service stops reading.
    std::atomic<uint32_t>* gate = map_stream_gate(::getpid(), true);
    ASSERT_NE(gate, nullptr);
    gate->store(1);
    ServiceProcess service(loader_.options(), options("test.batch.stall"));
    ConnectOptions connect;
    connect.slots = 8;
    connect.request_pool_bytes = 64 * 1024;
    auto stream = Connection::open(*context_, "test.batch.stall", connect);
    ASSERT_TRUE(stream) << stream.error().describe();

    uint64_t seq = 0;
    std::optional<Error> refused;
    Clock::duration refusal_took{};
    for (int b = 0; b < 1000 && !refused; ++b) {
        const auto start = Clock::now();
        auto batch = stream->begin_batch(4096, 200ms);
        if (!batch) {
            refused = batch.error();
            refusal_took = Clock::now() - start;
            break;
        }
        uint64_t first = seq;
        for (int i = 0; i < 32; ++i, ++seq) fill_stream_message(batch->append(64), seq);
        auto sent = stream->send_batch(kStreamMessage, *batch, 200ms);
        if (!sent) {
            refused = sent.error();
            refusal_took = Clock::now() - start;
            seq = first;  // the batch was dropped: its sequence numbers go to the next one
        }
    }
    ASSERT_TRUE(refused) << "a stalled receiver never pushed back";
    EXPECT_TRUE(refused->code == Errc::timed_out || refused->code == Errc::no_memory) << refused->describe();
    EXPECT_GE(refusal_took, 150ms);
    EXPECT_LT(refusal_took, 5s);

    // The receiver resumes: everything sent before the refusal arrives, in order, and the stream goes on.
    gate->store(0);
    for (int b = 0; b < 20; ++b) {
        auto batch = stream->begin_batch(4096, 10s);
        ASSERT_TRUE(batch) << batch.error().describe();
        for (int i = 0; i < 32; ++i, ++seq) fill_stream_message(batch->append(64), seq);
        auto sent = stream->send_batch(kStreamMessage, *batch, 10s);
        ASSERT_TRUE(sent) << sent.error().describe();
    }
    const Tally t = tally_once_read(*stream, seq);
    EXPECT_EQ(t.received, seq);
    EXPECT_EQ(t.out_of_order, 0u);
    EXPECT_EQ(t.wrong_bytes, 0u);
    service.kill();
    ::munmap(gate, 4096);
    ::unlink(stream_gate_path(::getpid()).c_str());
}

}  // namespace
}  // namespace liteipc::testing
