// C++: a Call kept past its handler (Call::defer) is answered later from another thread, its
// request still readable; one dropped unanswered fails its caller at once; a kept call does not
// stop the service from serving others.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "child_process.h"
#include "liteipc/ipc.h"
#include "loader_fixture.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

enum DeferCode : uint32_t { kAnswerLater = 1, kDropLater = 2, kAnswerNow = 3 };

// The service's task thread: answers (or drops) what the handler kept.
struct Kept {
    std::mutex mutex;
    std::condition_variable queued;
    std::deque<PendingCall> calls;
};

void task_thread(Kept* kept) {
    for (;;) {
        PendingCall pending;
        {
            std::unique_lock lock(kept->mutex);
            kept->queued.wait(lock, [&] { return !kept->calls.empty(); });
            pending = std::move(kept->calls.front());
            kept->calls.pop_front();
        }
        std::this_thread::sleep_for(20ms);  // well after the handler returned
        Call& call = pending.call();
        if (call.code() == kDropLater) continue;  // destroyed unanswered: a failed reply
        const int32_t n = call.request().read_int32();
        call.reply().write_int32(n * 2);
        call.reply().write_uint32(call.caller().pid);
        pending.reply(7);
    }
}

class DeferredCallTest : public WithLoader<> {
protected:
    DeferredCallTest() : WithLoader("defer") {}
};

TEST_F(DeferredCallTest, AKeptCallIsAnsweredLaterOrFailsWhenDropped) {
    const ContextOptions options = loader_.options();
    static Kept kept;  // the child's
    ChildProcess service(
        [options] {
            static std::optional<Context> context;
            static std::optional<Service> started;
            auto opened = Context::open(options);
            if (!opened) return false;
            context.emplace(std::move(*opened));
            auto handler = [](Call& call) -> int32_t {
                if (call.code() == kAnswerNow) {
                    call.reply().write_int32(-1);
                    return 0;
                }
                std::lock_guard lock(kept.mutex);
                kept.calls.push_back(call.defer());
                kept.queued.notify_one();
                return 0;  // not the status the caller sees: the PendingCall's is
            };
            auto service_started = Service::start(*context, {.name = "defer.svc", .workers = 1}, handler);
            if (!service_started) return false;
            started.emplace(std::move(*service_started));
            std::thread(task_thread, &kept).detach();
            return true;
        },
        [] { ::pause(); });

    auto connection = Connection::open(*context_, "defer.svc");
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
