// Asynchronous calls on the client half of a channel: publish without waiting (ChannelClient::call with
// CallOptions::async), collect or abandon the reply later, and the completion fd with the thread that
// sleeps on the pending calls' slots for it.
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

#include "transport/channel_client_state.h"
#include "common/futex.h"

namespace liteipc::detail {

void ClientState::watch_async(uint32_t slot) {
    {
        std::lock_guard lock(async_mutex);
        async_unannounced.push_back(slot);
        if (!watcher.joinable()) return;
    }
    async_changed.fetch_add(1, std::memory_order_release);
    futex_wake(&async_changed, 1, false);
}

void ClientState::unwatch_async(uint32_t slot) {
    std::lock_guard lock(async_mutex);
    std::erase(async_unannounced, slot);
}

Result<int> ClientState::start_watcher() {
    std::lock_guard lock(async_mutex);
    if (watcher.joinable()) return completion_event.get();
    UniqueFd event{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    if (!event) return fail_errno("eventfd for async completions", errno == EMFILE || errno == ENFILE ? Errc::no_memory : Errc::system);
    completion_event = std::move(event);
    try {
        watcher = std::thread([this] { watcher_main(); });
    } catch (const std::system_error& error) {
        completion_event.reset();
        return fail(Errc::system, std::string("starting the async completion thread: ") + error.what());
    }
    return completion_event.get();
}

void ClientState::stop_watcher() noexcept {
    {
        std::lock_guard lock(async_mutex);
        if (!watcher.joinable()) return;
        watcher_stopping = true;
    }
    async_changed.fetch_add(1, std::memory_order_release);
    futex_wake(&async_changed, 1, false);
    watcher.join();
}

// Sleeps on the slots of the unannounced async calls (as their caller would: the service wakes a slot
// whose waiter sleeps), on the dead word and on async_changed; writes the eventfd once per wake that
// found replies, and once when the connection dies.
void ClientState::watcher_main() {
    // futex_waitv takes 128 words: two go to async_changed and the dead word; further calls are
    // watched once earlier ones are announced.
    constexpr std::size_t kMaxWatched = kMaxFutexWaiters - 2;
    std::vector<uint32_t> watched;
    std::vector<FutexWaitTarget> targets;
    bool death_announced = false;
    const uint64_t one = 1;
    for (;;) {
        const uint32_t changed = async_changed.load(std::memory_order_acquire);
        {
            std::lock_guard lock(async_mutex);
            if (watcher_stopping) return;
            watched.assign(async_unannounced.begin(),
                           async_unannounced.begin() + std::min(async_unannounced.size(), kMaxWatched));
        }
        targets.clear();
        targets.push_back({&async_changed, changed, false});
        bool announce = false;
        if (dead()) {
            announce = !death_announced;
            death_announced = true;
        } else {
            targets.push_back({&dead_word, 0, false});
        }
        for (uint32_t slot : watched) control.slot(slot).waiter_sleeping.store(1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the service's fence after its reply
        std::size_t replied = 0;
        for (uint32_t slot : watched) {
            const std::atomic<uint32_t>* word = sequence_futex(control.slot(slot).reply);
            const uint32_t value = word->load(std::memory_order_acquire);
            if (answered(slot)) {
                watched[replied++] = slot;
            } else {
                targets.push_back({word, value, true});
            }
        }
        if (replied > 0) {
            std::lock_guard lock(async_mutex);
            for (std::size_t i = 0; i < replied; ++i) std::erase(async_unannounced, watched[i]);
            announce = true;
        }
        if (announce) {
            ssize_t written = ::write(completion_event.get(), &one, sizeof one);
            (void)written;
            continue;
        }
        futex_waitv(targets, Deadline::forever());
    }
}

bool ChannelClient::async_ready(const AsyncCall& call) const noexcept {
    if (!state_ || !call.pending()) return true;
    return state_->dead() || state_->answered(call.slot);
}

Result<ReceivedReply> ChannelClient::finish_async(AsyncCall& call, Deadline deadline) {
    if (!state_) return fail(Errc::closed, "async call on a moved-from channel");
    if (!call.pending()) return fail(Errc::invalid_argument, "async call already collected");
    auto reply = complete(call.slot, call.code, call.sequence, deadline, /*keep_on_timeout=*/true);
    if (!reply && reply.error().code == Errc::timed_out) {
        // Our wait cleared the slot's sleeping flag: the completion thread must set it again.
        state_->async_changed.fetch_add(1, std::memory_order_release);
        futex_wake(&state_->async_changed, 1, false);
        return reply;
    }
    state_->unwatch_async(call.slot);
    call = AsyncCall{};
    return reply;
}

void ChannelClient::abandon_async(AsyncCall& call) noexcept {
    if (!state_ || !call.pending()) return;
    state_->unwatch_async(call.slot);
    state_->await_service(call.slot);
    call = AsyncCall{};
}

Result<int> ChannelClient::completion_fd() {
    if (!state_) return fail(Errc::closed, "completion fd of a moved-from channel");
    return state_->start_watcher();
}

}  // namespace liteipc::detail
