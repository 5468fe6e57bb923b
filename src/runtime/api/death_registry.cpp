#include "api/death_registry.h"

#include <chrono>
#include <vector>

#include "common/log.h"
#include "kernel/kernel_seam.h"

namespace liteipc {

Result<uint64_t> DeathRegistry::subscribe(const PeerId& peer, DeathCallback callback, uint64_t connection) {
    if (!callback) return fail(Errc::invalid_argument, "empty death callback");
    std::unique_lock lock(mutex_);
    if (connection != 0 && !watched_connections_.contains(connection)) {
        // The service hung this connection up already.
        lock.unlock();
        DeathNotice notice{};
        notice.peer = peer;
        notice.withdrawn = true;
        callback(notice);
        return 0;
    }
    auto key = std::make_pair(peer.slot, peer.generation);
    std::size_t& users = kernel_subscriptions_[key];
    if (users == 0) {
        if (auto ok = kernel_.subscribe(peer.slot, peer.generation); !ok) {
            kernel_subscriptions_.erase(key);
            lock.unlock();
            if (ok.error().code != Errc::dead_object) return std::unexpected(ok.error());
            const liteipc_proc* p = kernel_.proc(peer.slot);
            DeathNotice notice{peer, p ? p->uid : 0, p ? p->exit_code : 0, p && p->exit_code == -1, 0};
            callback(notice);
            return 0;
        }
    }
    ++users;
    uint64_t id = next_id_++;
    subscribers_.emplace(id, Waiter{peer, std::move(callback), connection});
    return id;
}

void DeathRegistry::unsubscribe(uint64_t id) {
    std::lock_guard lock(mutex_);
    auto it = subscribers_.find(id);
    if (it == subscribers_.end()) return;
    auto key = std::make_pair(it->second.peer.slot, it->second.peer.generation);
    subscribers_.erase(it);
    release_kernel_subscription_locked(key);
}

void DeathRegistry::release_kernel_subscription_locked(std::pair<uint32_t, uint64_t> key) {
    auto users = kernel_subscriptions_.find(key);
    if (users != kernel_subscriptions_.end() && --users->second == 0) {
        kernel_subscriptions_.erase(users);
        kernel_.unsubscribe(key.first, key.second);
    }
}

uint64_t DeathRegistry::add_listener(std::function<void(const DeathNotice&)> listener) {
    std::lock_guard lock(mutex_);
    uint64_t id = next_id_++;
    listeners_.emplace(id, std::move(listener));
    return id;
}

void DeathRegistry::remove_listener(uint64_t id) {
    std::lock_guard lock(mutex_);
    listeners_.erase(id);
}

void DeathRegistry::watch(uint64_t connection, const PeerId& service) {
    std::lock_guard lock(mutex_);
    watched_connections_[connection] = service;
}

bool DeathRegistry::unwatch(uint64_t connection) {
    std::lock_guard lock(mutex_);
    return watched_connections_.erase(connection) != 0;
}

void DeathRegistry::deliver_death(const DeathNotice& notice) {
    std::vector<DeathCallback> callbacks;
    std::vector<std::function<void(const DeathNotice&)>> listeners;
    {
        std::lock_guard lock(mutex_);
        for (auto it = subscribers_.begin(); it != subscribers_.end();) {
            if (it->second.peer.slot == notice.peer.slot && it->second.peer.generation == notice.peer.generation) {
                callbacks.push_back(std::move(it->second.callback));
                it = subscribers_.erase(it);
            } else {
                ++it;
            }
        }
        kernel_subscriptions_.erase({notice.peer.slot, notice.peer.generation});
        for (auto& [id, listener] : listeners_) listeners.push_back(listener);
    }
    LITEIPC_LOG(debug, "death of pid %u (slot %u): %zu callbacks", notice.peer.pid, notice.peer.slot, callbacks.size());
    for (auto& listener : listeners) listener(notice);
    for (auto& callback : callbacks) callback(notice);
}

void DeathRegistry::deliver_hangup(uint64_t connection) {
    std::vector<DeathCallback> callbacks;
    DeathNotice notice{};
    {
        std::lock_guard lock(mutex_);
        auto watched = watched_connections_.find(connection);
        if (watched == watched_connections_.end()) return;  // unwatched meanwhile
        notice.peer = watched->second;
        notice.withdrawn = true;
        notice.timestamp_ns = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
                .count());
        watched_connections_.erase(watched);
        std::vector<uint64_t> ended;
        for (auto& [id, subscriber] : subscribers_)
            if (subscriber.connection == connection) ended.push_back(id);
        for (uint64_t id : ended) {
            auto it = subscribers_.find(id);
            callbacks.push_back(std::move(it->second.callback));
            auto key = std::make_pair(it->second.peer.slot, it->second.peer.generation);
            subscribers_.erase(it);
            release_kernel_subscription_locked(key);
        }
    }
    LITEIPC_LOG(debug, "connection %llu: the service (pid %u) hung up: %zu callbacks",
                static_cast<unsigned long long>(connection), notice.peer.pid, callbacks.size());
    for (auto& callback : callbacks) callback(notice);
}

}  // namespace liteipc
