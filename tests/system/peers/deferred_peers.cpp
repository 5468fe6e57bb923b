// The deferred-call test's service: its handler keeps calls (Call::defer) for a task thread that
// answers or drops them after the handler returned.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "deferred_call.h"
#include "liteipc/ipc.h"
#include "peer_role.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

// What the handler kept, for the task thread.
struct Kept {
    std::mutex mutex;
    std::condition_variable queued;
    std::deque<PendingCall> calls;
};

[[noreturn]] void task_thread(Kept* kept) {
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

}  // namespace

// Serves kDeferServiceName with one worker; reports 1 once it serves (0 if it cannot), then
// serves until killed.
LITEIPC_PEER_ROLE(deferring_service) {
    const ContextOptions options = read_context_options(args);
    static Kept kept;
    auto context = Context::open(options);
    if (!context) return report(0) ? 100 : 101;
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
    auto service = Service::start(*context, {.name = kDeferServiceName, .workers = 1}, handler);
    if (!service) return report(0) ? 100 : 101;
    std::thread(task_thread, &kept).detach();
    if (!report(1)) return 101;
    for (;;) ::pause();
}

}  // namespace liteipc::testing
