// Who in this process waits for which peer's death, and the kernel subscriptions that bring the
// news: one subscription to the kernel per (slot, generation), however many callbacks wait on it.
// A connection's subscribers also end when the service hangs up its socket (the inbox reports it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

#include "liteipc/context.h"

namespace liteipc {

namespace detail {
class KernelSeam;
}

class DeathRegistry {
public:
    explicit DeathRegistry(const detail::KernelSeam& kernel) : kernel_(kernel) {}

    // `callback` runs once when `peer` dies (or, with `connection` nonzero, when the service hangs
    // that connection up). Returns the subscription's id, or 0 when the callback ran already
    // because the peer was gone or the connection hung up.
    Result<uint64_t> subscribe(const PeerId& peer, DeathCallback callback, uint64_t connection);
    void unsubscribe(uint64_t id);

    // The runtime's own listeners (connections, services) hear of every death.
    uint64_t add_listener(std::function<void(const DeathNotice&)> listener);
    void remove_listener(uint64_t id);

    // A connection whose socket the inbox watches; unwatch is false when it hung up meanwhile.
    void watch(uint64_t connection, const PeerId& service);
    bool unwatch(uint64_t connection);

    // From the inbox thread; callbacks run without the lock, so they may subscribe or unsubscribe.
    void deliver_death(const DeathNotice& notice);
    void deliver_hangup(uint64_t connection);

private:
    // Under mutex_: one user of the kernel subscription to (slot, generation) less.
    void release_kernel_subscription_locked(std::pair<uint32_t, uint64_t> key);

    struct Waiter {
        PeerId peer;
        DeathCallback callback;
        uint64_t connection = 0;  // nonzero: also ended by that connection's hangup
    };
    const detail::KernelSeam& kernel_;
    std::mutex mutex_;
    uint64_t next_id_ = 1;
    std::map<uint64_t, Waiter> subscribers_;
    std::map<std::pair<uint32_t, uint64_t>, std::size_t> kernel_subscriptions_;  // (slot, generation) -> users
    std::map<uint64_t, std::function<void(const DeathNotice&)>> listeners_;
    std::map<uint64_t, PeerId> watched_connections_;  // conn_id -> its service, while its socket is watched
};

}  // namespace liteipc
