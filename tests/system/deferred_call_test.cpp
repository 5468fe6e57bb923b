// C++: a Call kept past its handler (Call::defer) is answered later from another thread, its
// request still readable; one dropped unanswered fails its caller at once; a kept call does not
// stop the service from serving others.
#include <thread>

#include "deferred_call.h"
#include "liteipc/ipc.h"
#include "loader_fixture.h"
#include "peer.h"
#include "peer_args.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

class DeferredCallTest : public WithLoader<> {
protected:
    DeferredCallTest() : WithLoader("defer") {}
};

TEST_F(DeferredCallTest, AKeptCallIsAnsweredLaterOrFailsWhenDropped) {
    // A spawned peer: it runs threads, and so does this process already.
    Peer service = Peer::spawn("deferring_service", peer_args(loader_.options()));
    int serving = 0;
    ASSERT_TRUE(service.read(serving)) << "the service peer reported nothing";
    ASSERT_EQ(serving, 1) << "the service peer did not start";

    auto connection = Connection::open(*context_, kDeferServiceName);
    ASSERT_TRUE(connection) << connection.error().describe();
    // Answered from the task thread, after its handler returned; meanwhile the one worker is
    // held, so a second call waits its turn and is answered too.
    std::thread second([&] {
        Request request(*connection);
        auto reply = connection->call(kAnswerNow, request, 5000ms);
        ASSERT_TRUE(reply) << reply.error().describe();
        EXPECT_EQ(reply->reader().read_int32(), -1);
    });
    Request request(*connection);
    request.writer().write_int32(21);
    auto reply = connection->call(kAnswerLater, request, 5000ms);
    ASSERT_TRUE(reply) << reply.error().describe();
    EXPECT_EQ(reply->status(), 7);
    Reader reader = reply->reader();
    EXPECT_EQ(reader.read_int32(), 42) << "the request was still readable";
    EXPECT_EQ(reader.read_uint32(), static_cast<uint32_t>(::getpid()));
    second.join();

    // Dropped unanswered: the caller learns it at once, not at its timeout.
    Request dropped(*connection);
    const auto started = std::chrono::steady_clock::now();
    auto failed = connection->call(kDropLater, dropped, 10000ms);
    ASSERT_TRUE(failed) << failed.error().describe();
    EXPECT_EQ(failed->status(), kFailedReplyStatus);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

}  // namespace
}  // namespace liteipc::testing
