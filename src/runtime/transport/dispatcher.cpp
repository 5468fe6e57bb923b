#include "transport/dispatcher.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "common/futex.h"
#include "common/log.h"

namespace liteipc::detail {
namespace {

// epoll data: the dispatcher's own events, then (connection id << 1) | is_hangup for ids from 1 on.
// Ids are never reused: an event for a connection already dropped finds no entry.
constexpr uint64_t kStopToken = 0;
constexpr uint64_t kKickToken = 1;
constexpr uint64_t kFirstConnectionId = 1;
constexpr uint64_t doorbell_token(uint64_t id) { return id << 1; }
constexpr uint64_t hangup_token(uint64_t id) { return (id << 1) | 1; }

Result<void> watch(int epoll, int fd, uint32_t events, uint64_t token) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = token;
    if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0)
        return fail_errno("epoll_ctl ADD of fd " + std::to_string(fd), errno == ENOMEM || errno == ENOSPC
                                                                             ? Errc::no_memory
                                                                             : Errc::system);
    return {};
}

}  // namespace

struct Dispatcher::WatchedConnection {
    uint64_t id;
    std::shared_ptr<ChannelServer> channel;
    std::shared_ptr<FdChannel> socket;
    std::function<void()> on_hangup;
    bool active = false;   // on active_ (under mutex_)
    bool closing = false;  // on closing_, or finished (under mutex_)
};

Dispatcher::Dispatcher(Handler handler, DispatcherOptions options)
    : handler_(std::move(handler)), options_(options), next_id_(kFirstConnectionId) {
    epoll_ = UniqueFd{::epoll_create1(EPOLL_CLOEXEC)};
    stop_event_ = UniqueFd{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    kick_event_ = UniqueFd{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    if (epoll_ && stop_event_ && kick_event_) {
        if (!watch(epoll_.get(), stop_event_.get(), EPOLLIN, kStopToken) ||
            !watch(epoll_.get(), kick_event_.get(), EPOLLIN | EPOLLET, kKickToken))
            epoll_.reset();
    }
}

Result<void> Dispatcher::start() {
    if (!handler_) return fail(Errc::invalid_argument, "dispatcher without a handler");
    if (!epoll_ || !stop_event_ || !kick_event_)
        return fail(Errc::no_memory, "dispatcher: no epoll instance or eventfd (out of fds?)");
    if (!workers_.empty()) return {};
    uint64_t drained;
    while (::read(stop_event_.get(), &drained, sizeof drained) > 0) {
    }
    stopping_.store(false, std::memory_order_release);
    const unsigned count = std::max(1u, options_.workers);
    try {
        for (unsigned i = 0; i < count; ++i) workers_.emplace_back(&Dispatcher::worker_main, this);
    } catch (const std::system_error& error) {
        stop();
        return fail(Errc::system, std::string("starting dispatcher workers: ") + error.what(), error.code().value());
    }
    return {};
}

Result<void> Dispatcher::add(std::shared_ptr<ChannelServer> connection, int doorbell,
                             std::shared_ptr<FdChannel> socket, std::function<void()> on_hangup) {
    if (!connection || doorbell < 0 || !socket || !socket->valid())
        return fail(Errc::invalid_argument, "add of a connection without its doorbell or socket");
    if (!epoll_) return fail(Errc::no_memory, "dispatcher: no epoll instance (out of fds?)");
    auto entry = std::make_shared<WatchedConnection>();
    entry->channel = std::move(connection);
    entry->socket = std::move(socket);
    entry->on_hangup = std::move(on_hangup);
    std::lock_guard lock(mutex_);
    entry->id = next_id_++;
    // Edge-triggered and never read: each write is one event, whatever the counter holds.
    if (auto ok = watch(epoll_.get(), doorbell, EPOLLIN | EPOLLET, doorbell_token(entry->id)); !ok) return ok;
    if (auto ok = watch(epoll_.get(), entry->socket->socket(), EPOLLRDHUP | EPOLLONESHOT, hangup_token(entry->id));
        !ok) {
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, doorbell, nullptr);
        return ok;
    }
    id_of_[entry->channel.get()] = entry->id;
    entries_[entry->id] = entry;
    // Armed from the start; a request published before the arming is found by the re-check.
    entry->channel->arm_doorbell();
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (entry->channel->has_pending()) {
        activate_locked(entry);
        kick();
    }
    return {};
}

void Dispatcher::remove(const ChannelServer* connection) {
    std::shared_ptr<WatchedConnection> gone;
    {
        std::lock_guard lock(mutex_);
        auto id = id_of_.find(connection);
        if (id == id_of_.end()) return;
        auto found = entries_.find(id->second);
        gone = std::move(found->second);
        entries_.erase(found);
        id_of_.erase(id);
        // The doorbell's entry goes when the client closes the eventfd; until then its events find no entry.
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, gone->socket->socket(), nullptr);
        if (gone->active) {
            std::erase(active_, gone);
            active_generation_.fetch_add(1, std::memory_order_release);
        }
    }
    // Workers holding it finish what they serve; the channel goes with the last of them.
}

bool Dispatcher::close(const ChannelServer* connection) {
    {
        std::lock_guard lock(mutex_);
        auto id = id_of_.find(connection);
        if (id == id_of_.end()) return false;
        const std::shared_ptr<WatchedConnection>& entry = entries_.at(id->second);
        if (entry->closing) return true;
        entry->closing = true;
        closing_.push_back(entry);
        closing_count_.fetch_add(1, std::memory_order_seq_cst);
    }
    // Dekker with a worker going to sleep: it counts itself sleeping, then re-checks closing_count_.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    kick();
    return true;
}

void Dispatcher::finish(WatchedConnection& entry) {
    // What the client published before its close or death is served, in order on one worker. At most
    // one message per slot: the ring of an honest client holds no more, and a client that keeps
    // publishing after its close cannot hold a worker.
    ChannelServer& channel = *entry.channel;
    uint32_t slot = 0;
    for (uint32_t served = 0; served < channel.slot_count() && channel.take(slot); ++served) channel.serve(slot, handler_);
    channel.mark_dead();
    if (entry.on_hangup) {
        entry.on_hangup();
    } else {
        remove(&channel);
    }
}

void Dispatcher::stop() {
    stopping_.store(true, std::memory_order_release);
    if (stop_event_) {
        const uint64_t one = 1;
        ssize_t written = ::write(stop_event_.get(), &one, sizeof one);
        (void)written;
    }
    for (auto& worker : workers_) {
        if (worker.joinable()) worker.join();
    }
    workers_.clear();
    std::lock_guard lock(mutex_);
    for (const auto& [id, entry] : entries_) {
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, entry->socket->socket(), nullptr);
    }
    entries_.clear();
    id_of_.clear();
    active_.clear();
    closing_.clear();
    closing_count_.store(0, std::memory_order_relaxed);
    active_generation_.fetch_add(1, std::memory_order_release);
}

std::size_t Dispatcher::connection_count() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

void Dispatcher::activate_locked(const std::shared_ptr<WatchedConnection>& entry) {
    entry->channel->disarm_doorbell();
    if (entry->active) return;
    entry->active = true;
    active_.push_back(entry);
    active_generation_.fetch_add(1, std::memory_order_release);
}

void Dispatcher::kick() noexcept {
    if (sleeping_workers_.load(std::memory_order_relaxed) == 0) return;
    const uint64_t one = 1;
    ssize_t written = ::write(kick_event_.get(), &one, sizeof one);
    (void)written;
}

void Dispatcher::retire_all_locked(std::vector<std::shared_ptr<WatchedConnection>>& retired) {
    retired.swap(active_);
    active_.clear();
    for (const auto& entry : retired) {
        entry->active = false;
        entry->channel->arm_doorbell();
    }
    if (!retired.empty()) active_generation_.fetch_add(1, std::memory_order_release);
}

bool Dispatcher::reactivate_pending(const std::vector<std::shared_ptr<WatchedConnection>>& retired) {
    bool found = false;
    for (const auto& entry : retired) {
        if (!entry->channel->has_pending()) continue;  // published before the arm: no bell rang for it
        std::lock_guard lock(mutex_);
        if (entries_.contains(entry->id)) activate_locked(entry);
        found = true;
    }
    return found;
}

void Dispatcher::lend_to_doorbells(std::vector<std::shared_ptr<WatchedConnection>>& lent) {
    {
        std::lock_guard lock(mutex_);
        retire_all_locked(lent);
    }
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the client's fence in ring_doorbell
    if (reactivate_pending(lent)) kick();
}

void Dispatcher::take_back(std::vector<std::shared_ptr<WatchedConnection>>& lent) {
    if (lent.empty()) return;
    std::lock_guard lock(mutex_);
    for (const auto& entry : lent)
        if (entries_.contains(entry->id)) activate_locked(entry);
    lent.clear();
}

void Dispatcher::worker_main() {
    std::vector<std::shared_ptr<WatchedConnection>> active;  // this worker's copy of active_
    std::vector<std::shared_ptr<WatchedConnection>> retired;
    std::vector<std::shared_ptr<WatchedConnection>> hung_up;
    std::vector<std::shared_ptr<WatchedConnection>> lent;  // retired while this worker runs a handler
    uint64_t seen_generation = UINT64_MAX;
    std::size_t cursor = 0;
    constexpr int kMaxEvents = 64;
    const bool counts_handlers = options_.workers > 1;
    epoll_event events[kMaxEvents];

    auto refresh = [&] {
        std::lock_guard lock(mutex_);
        active = active_;
        seen_generation = active_generation_.load(std::memory_order_relaxed);
    };
    auto interrupted = [&] {
        return stopping_.load(std::memory_order_acquire) || closing_count_.load(std::memory_order_acquire) > 0 ||
               active_generation_.load(std::memory_order_acquire) != seen_generation;
    };
    auto any_pending = [&] {
        for (const auto& entry : active)
            if (entry->channel->poll_pending()) return true;
        return false;
    };

    while (!stopping_.load(std::memory_order_acquire)) {
        if (closing_count_.load(std::memory_order_acquire) > 0) {
            {
                std::lock_guard lock(mutex_);
                hung_up.swap(closing_);
                closing_count_.store(0, std::memory_order_relaxed);
            }
            for (auto& entry : hung_up) finish(*entry);
            hung_up.clear();
        }
        if (active_generation_.load(std::memory_order_acquire) != seen_generation) refresh();

        // Serve one request, round robin over the active connections so that no busy client starves another.
        bool served = false;
        for (std::size_t i = 0; i < active.size() && !served; ++i) {
            const std::size_t index = (cursor + i) % active.size();
            ChannelServer& connection = *active[index]->channel;
            uint32_t slot = 0;
            if (!connection.take(slot)) continue;
            // More queued than this worker is about to take: let a sleeping one help.
            if (active.size() > 1 || connection.has_pending()) kick();
            if (counts_handlers) {
                const uint32_t in_handlers = workers_in_handler_.fetch_add(1, std::memory_order_seq_cst) + 1;
                const bool nobody_polls =
                    in_handlers + sleeping_workers_.load(std::memory_order_seq_cst) >= options_.workers;
                if (nobody_polls) {
                    lend_to_doorbells(lent);
                    // Taken back before the reply goes out: the caller's next request finds its
                    // connection polled again, not a doorbell to ring.
                    connection.serve(slot, [&](const ActiveRequest& request, ReplyWriter& reply) {
                        const int32_t status = handler_(request, reply);
                        take_back(lent);
                        return status;
                    });
                    take_back(lent);  // when the handler did not run or threw
                } else {
                    connection.serve(slot, handler_);
                }
                workers_in_handler_.fetch_sub(1, std::memory_order_seq_cst);
            } else {
                connection.serve(slot, handler_);
            }
            served = true;
            cursor = index + 1;
        }
        if (served) continue;
        if (spin_until(options_.spin, Deadline::forever(), any_pending, interrupted)) continue;
        if (interrupted()) continue;

        // Nothing to do: retire every active connection to its doorbell, re-check, then sleep.
        {
            std::lock_guard lock(mutex_);
            if (active_generation_.load(std::memory_order_relaxed) != seen_generation) continue;
            retire_all_locked(retired);
            seen_generation = active_generation_.load(std::memory_order_relaxed);
        }
        active.clear();
        sleeping_workers_.fetch_add(1, std::memory_order_seq_cst);
        std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the client's fence in ring_doorbell
        const bool published = reactivate_pending(retired);
        const bool found_work = published || closing_count_.load(std::memory_order_seq_cst) > 0;
        retired.clear();
        const int ready = found_work ? 0 : ::epoll_wait(epoll_.get(), events, kMaxEvents, -1);
        sleeping_workers_.fetch_sub(1, std::memory_order_relaxed);
        if (ready < 0 && errno != EINTR) {
            LITEIPC_LOG(error, "dispatcher: epoll_wait failed: %s", std::strerror(errno));
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }

        // The readiness list says which connections have work, or hung up.
        std::size_t woken = 0;
        {
            std::lock_guard lock(mutex_);
            for (int i = 0; i < ready; ++i) {
                const uint64_t token = events[i].data.u64;
                if (token == kStopToken || token == kKickToken) continue;
                auto found = entries_.find(token >> 1);
                if (found == entries_.end()) continue;  // dropped meanwhile
                if ((token & 1) != 0) {
                    if (!found->second->closing) {
                        found->second->closing = true;
                        hung_up.push_back(found->second);
                    }
                } else {
                    activate_locked(found->second);
                    ++woken;
                }
            }
        }
        if (woken > 1) kick();
        for (auto& entry : hung_up) finish(*entry);
        hung_up.clear();
    }
}

}  // namespace liteipc::detail
