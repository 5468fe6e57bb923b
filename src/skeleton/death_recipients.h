// The newer C API's death recipients (AddDeathRecipient): each a callback run once, on a thread of
// its own, when the service behind a target dies; at most `max_per_target` on one target.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "api/callback_thread.h"
#include "liteipc/ipc.h"

namespace liteipc::skeleton {

class DeathRecipients {
public:
    using Callback = void (*)(void* args);  // upstream's OnRemoteDead

    // Its id (from 1), or 0 with the reason in *outcome: past max_per_target on `handle`, or no
    // death subscription on `connection`'s service.
    uint32_t add(Context& context, uint32_t handle, const Connection& connection, Callback func, void* args,
                 Result<DeathSubscription>* outcome);
    // False when `id` is not a recipient on `handle` (removed, fired, or another target's).
    bool remove(uint32_t handle, uint32_t id);

    std::atomic<uint32_t> max_per_target{4};  // upstream's MAX_DEATH_CALLBACK_NUM; 0: no limit

private:
    struct Recipient {
        uint32_t handle;  // the target it watches
        Callback func;
        void* args;
        DeathSubscription subscription;
    };
    void fire(uint32_t id);

    std::mutex mutex_;
    std::map<uint32_t, Recipient> recipients_;
    uint32_t next_ = 1;
    detail::CallbackThread callbacks_;  // runs them
};

}  // namespace liteipc::skeleton
