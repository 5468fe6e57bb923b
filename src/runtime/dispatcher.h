// Worker threads serving the channels of one service.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "channel_service.h"
#include "futex.h"

namespace liteipc::detail {

struct DispatcherOptions {
    unsigned workers = 1;
    // How long an idle worker polls the rings before sleeping on the doorbells. 0 = sleep at once.
    std::chrono::nanoseconds spin = std::chrono::microseconds(20);
};

// Worker threads serving many connections: pop from any ring; when all are empty, spin briefly, then
// sleep with futex_waitv on every connection's doorbell plus a local wake word (connection added or
// removed, connection dead, stop).
class Dispatcher {
public:
    static constexpr std::size_t kMaxConnections = kMaxFutexWaiters - 1;

    explicit Dispatcher(Handler handler, DispatcherOptions options = {});
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;
    ~Dispatcher() { stop(); }

    Result<void> start();
    Result<void> add(std::shared_ptr<ChannelServer> connection);
    void remove(const ChannelServer* connection);
    // Wakes and joins the workers. Requests still on the rings stay unanswered (callers time out or
    // are failed by their own dead-peer handling).
    void stop();
    std::size_t connection_count() const;

private:
    void worker_main();
    void wake_workers() noexcept;

    Handler handler_;
    DispatcherOptions options_;
    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<ChannelServer>> connections_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<uint32_t> wake_word_{0};
    std::atomic<bool> stopping_{false};
    std::vector<std::thread> workers_;
};

}  // namespace liteipc::detail
