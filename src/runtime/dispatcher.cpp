#include "dispatcher.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "channel_descriptor.h"
#include "futex.h"
#include "log.h"

namespace liteipc::detail {

// ---------------------------------------------------------------------------------------------
// Dispatcher

Dispatcher::Dispatcher(Handler handler, DispatcherOptions options)
    : handler_(std::move(handler)), options_(options) {}

Result<void> Dispatcher::start() {
    if (!handler_) return fail(Errc::invalid_argument, "dispatcher without a handler");
    if (!workers_.empty()) return {};
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

Result<void> Dispatcher::add(std::shared_ptr<ChannelServer> connection) {
    if (!connection) return fail(Errc::invalid_argument, "add of a null connection");
    {
        std::lock_guard lock(mutex_);
        if (connections_.size() >= kMaxConnections) {
            return fail(Errc::no_memory, "a dispatcher serves at most " + std::to_string(kMaxConnections) +
                                             " connections (one futex_waitv)");
        }
        connection->set_dispatcher_wake(&wake_word_);
        connections_.push_back(std::move(connection));
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_workers();
    return {};
}

void Dispatcher::remove(const ChannelServer* connection) {
    {
        std::lock_guard lock(mutex_);
        auto found = std::find_if(connections_.begin(), connections_.end(),
                                  [&](const auto& candidate) { return candidate.get() == connection; });
        if (found == connections_.end()) return;
        (*found)->set_dispatcher_wake(nullptr);
        connections_.erase(found);
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_workers();
}

void Dispatcher::stop() {
    stopping_.store(true, std::memory_order_release);
    wake_workers();
    for (auto& worker : workers_) {
        if (worker.joinable()) worker.join();
    }
    workers_.clear();
    std::lock_guard lock(mutex_);
    for (auto& connection : connections_) connection->set_dispatcher_wake(nullptr);
    connections_.clear();
    generation_.fetch_add(1, std::memory_order_release);
}

std::size_t Dispatcher::connection_count() const {
    std::lock_guard lock(mutex_);
    return connections_.size();
}

void Dispatcher::wake_workers() noexcept {
    wake_word_.fetch_add(1, std::memory_order_seq_cst);
    futex_wake(&wake_word_, INT_MAX, false);
}

void Dispatcher::worker_main() {
    std::vector<std::shared_ptr<ChannelServer>> connections;
    std::vector<ChannelServer*> sleeping_on;
    std::vector<FutexWaitTarget> targets;
    uint64_t seen_generation = UINT64_MAX;
    std::size_t cursor = 0;

    while (!stopping_.load(std::memory_order_acquire)) {
        if (const uint64_t generation = generation_.load(std::memory_order_acquire); generation != seen_generation) {
            std::lock_guard lock(mutex_);
            connections = connections_;
            seen_generation = generation_.load(std::memory_order_relaxed);
        }

        // Serve one request, round robin over the connections so that one busy client starves no one.
        bool served = false;
        for (std::size_t i = 0; i < connections.size() && !served; ++i) {
            const std::size_t index = (cursor + i) % connections.size();
            ChannelServer& connection = *connections[index];
            if (connection.dead()) {
                remove(&connection);
                continue;
            }
            if (connection.serve_one(handler_)) {
                served = true;
                cursor = index + 1;
            }
        }
        if (served) continue;

        auto any_pending = [&] {
            for (const auto& connection : connections) {
                if (connection->has_pending()) return true;
            }
            return false;
        };
        auto interrupted = [&] {
            return stopping_.load(std::memory_order_acquire) ||
                   generation_.load(std::memory_order_acquire) != seen_generation;
        };

        if (spin_until(options_.spin, Deadline::forever(), any_pending, interrupted)) continue;

        // Sleep on every doorbell plus the wake word. Announce ourselves first, then re-check the rings:
        // a client that pushes after our re-check sees sleeping_workers > 0 and rings.
        const uint32_t wake_value = wake_word_.load(std::memory_order_seq_cst);
        if (interrupted()) continue;
        sleeping_on.clear();
        targets.clear();
        for (const auto& connection : connections) {
            if (connection->dead()) continue;
            connection->doorbell().sleeping_workers.fetch_add(1, std::memory_order_seq_cst);
            sleeping_on.push_back(connection.get());
        }
        std::atomic_thread_fence(std::memory_order_seq_cst);
        for (ChannelServer* connection : sleeping_on) {
            targets.push_back({&connection->doorbell().sequence,
                               connection->doorbell().sequence.load(std::memory_order_seq_cst), true});
        }
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (!any_pending()) {
            targets.push_back({&wake_word_, wake_value, false});
            futex_waitv(targets, Deadline::forever());
        }
        for (ChannelServer* connection : sleeping_on) {
            connection->doorbell().sleeping_workers.fetch_sub(1, std::memory_order_relaxed);
        }
    }
}

}  // namespace liteipc::detail
