#include "death_recipients.h"

#include <algorithm>
#include <optional>
#include <string>

namespace liteipc::skeleton {

uint32_t DeathRecipients::add(Context& context, uint32_t handle, const Connection& connection, Callback func, void* args,
                              Result<DeathSubscription>* outcome) {
    uint32_t id;
    {
        std::lock_guard lock(mutex_);
        const uint32_t limit = max_per_target.load();
        const auto watching = std::ranges::count_if(recipients_, [&](const auto& r) { return r.second.handle == handle; });
        if (limit != 0 && static_cast<uint32_t>(watching) >= limit) {
            *outcome = fail(Errc::invalid_argument, "handle " + std::to_string(handle) + " has its " +
                                                        std::to_string(limit) + " death recipients");
            return 0;
        }
        id = next_++;
        recipients_.emplace(id, Recipient{handle, func, args, {}});
    }
    auto subscription = context.on_death(connection.service(), [this, id](const DeathNotice&) {
        callbacks_.post([this, id] { fire(id); });
    });
    if (!subscription) {
        *outcome = std::unexpected(subscription.error());
        std::lock_guard lock(mutex_);
        recipients_.erase(id);
        return 0;
    }
    std::lock_guard lock(mutex_);
    if (auto it = recipients_.find(id); it != recipients_.end()) it->second.subscription = std::move(*subscription);
    return id;
}

bool DeathRecipients::remove(uint32_t handle, uint32_t id) {
    std::optional<Recipient> gone;  // its subscription ends outside the lock
    std::lock_guard lock(mutex_);
    auto it = recipients_.find(id);
    if (it == recipients_.end() || it->second.handle != handle) return false;
    gone.emplace(std::move(it->second));
    recipients_.erase(it);
    return true;
}

void DeathRecipients::fire(uint32_t id) {
    std::optional<Recipient> recipient;
    {
        std::lock_guard lock(mutex_);
        auto it = recipients_.find(id);
        if (it == recipients_.end()) return;  // removed, or fired already
        recipient.emplace(std::move(it->second));
        recipients_.erase(it);
    }
    recipient->func(recipient->args);
}

}  // namespace liteipc::skeleton
