// The process's context of the LiteIPC liteipc_adapter.h C API (IpcContext): the C++ Context and
// everything the C API keeps for it. OpenLiteIpc and CloseLiteIpc in liteipc_adapter_context.cpp;
// the calls of a client in liteipc_adapter_client.cpp, of a service in liteipc_adapter_service.cpp.
//
// Wire: a C API request is the caller's sealed IpcIo message itself (Request::adopt), with the
// SvcIdentity token beside it (Request::set_token, Call::token), so C and C++ clients and services
// talk to each other, and fds and service references in an IpcIo travel as in any message.
// Replies are the replier's sealed IpcIo message (Call::adopt_reply), plain Parcels too.
//
// Reply status: C API services answer 0, or a LITEIPC_* code when the adapter could not run the
// handler (no such callback, no StartLoop handler); SendRequest returns it.
//
// Requests and replies as handlers and callers hold them: liteipc_requests.cpp.
#pragma once

#include <sys/eventfd.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <utility>

#include "api/callback_thread.h"
#include "capi/context_object.h"
#include "capi/liteipc_requests.h"
#include "common/log.h"
#include "liteipc/ipc.h"
#include "liteipc/liteipc_adapter.h"

namespace liteipc::capi {

// ---- a handler slot: StartLoop's handler, read by services registered without one ----

struct LoopHandler {
    std::mutex mutex;
    IpcMsgHandler func = nullptr;
    void* arg = nullptr;
};

// ---- anonymous callbacks (RegisterIpcCallback) ----

struct CallbackTable {
    struct RegisteredCallback {
        IpcMsgHandler func;
        void* arg;
        uint32_t mode;
        std::chrono::milliseconds timeout;  // 0: forever
        std::chrono::steady_clock::time_point deadline;
    };
    std::mutex mutex;
    std::map<uint32_t, RegisteredCallback> entries;
    std::mt19937 random{std::random_device{}()};

    static bool expired(const RegisteredCallback& entry, std::chrono::steady_clock::time_point now) {
        return entry.timeout.count() != 0 && now >= entry.deadline;
    }

    // The callback for `token`, if it is registered and its timeout has not passed; a use
    // starts a RESET_AFTER_USE timeout again.
    std::optional<std::pair<IpcMsgHandler, void*>> use(uint32_t token) {
        std::lock_guard lock(mutex);
        auto it = entries.find(token);
        if (it == entries.end()) return std::nullopt;
        const auto now = std::chrono::steady_clock::now();
        if (expired(it->second, now)) {
            entries.erase(it);
            LITEIPC_LOG(info, "ipc callback %#x: timed out, removed", token);
            return std::nullopt;
        }
        if (it->second.mode == RESET_AFTER_USE) it->second.deadline = now + it->second.timeout;
        return std::pair{it->second.func, it->second.arg};
    }

    uint32_t add(RegisteredCallback entry) {
        std::lock_guard lock(mutex);
        const auto now = std::chrono::steady_clock::now();
        std::erase_if(entries, [&](const auto& item) { return expired(item.second, now); });
        uint32_t token;
        do token = static_cast<uint32_t>(random()); while (token == 0 || entries.contains(token));
        entries.emplace(token, entry);
        return token;
    }

    bool remove(uint32_t token) {
        std::lock_guard lock(mutex);
        return entries.erase(token) != 0;
    }
};

// The open context that `context` names (NULL: the process's); null when there is none.
std::shared_ptr<IpcContext> acquire(const IpcContext* context);
// Logs that `what` needs an open context and returns LITEIPC_EBADF.
int32_t no_context(const char* what);
// The process (thread group) of thread `tid`; 0 when there is none.
pid_t process_of(pid_t tid);

}  // namespace liteipc::capi

// The process's context: the C++ Context and everything the C API keeps for it.
struct IpcContext : std::enable_shared_from_this<IpcContext> {
    explicit IpcContext(liteipc::Context opened) : context(std::move(opened)) {
        loop_event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    ~IpcContext() {
        shutdown();
        if (loop_event >= 0) ::close(loop_event);
    }

    liteipc::Context context;
    int loop_event = -1;  // readable once the loops should stop
    std::shared_ptr<liteipc::capi::LoopHandler> loop = std::make_shared<liteipc::capi::LoopHandler>();
    std::shared_ptr<liteipc::capi::CallbackTable> callbacks = std::make_shared<liteipc::capi::CallbackTable>();

    std::mutex mutex;  // guards everything below
    bool closed = false;
    struct Remote {
        std::shared_ptr<liteipc::Connection> connection;  // null: its service died or withdrew
        uint32_t references = 0;  // BinderAcquire
    };
    // By handle. A handle whose service is gone stays, dead, until released or the context closes.
    std::map<uint32_t, Remote> remotes;
    std::map<uint32_t, liteipc::Service> services;  // local, by handle
    std::optional<liteipc::Service> callback_service;
    struct DeathRecord {
        uint64_t serial;
        IpcMsgHandler func;
        void* arg;
        liteipc::DeathSubscription subscription;
    };
    // By (handle, cbId). cbIds count per handle from 0, the lowest free one first, as LiteIPC's
    // (without its limit of 5); serial tells a registration from an earlier one with its cbId.
    using DeathKey = std::pair<uint32_t, uint32_t>;
    std::map<DeathKey, DeathRecord> deaths;
    uint64_t next_death_serial = 1;
    bool endpoint_registered = false;
    std::shared_ptr<liteipc::detail::CallbackThread> executor;

    void stop_loops() const {
        const uint64_t one = 1;
        if (loop_event >= 0) (void)!::write(loop_event, &one, sizeof one);
    }

    // Stops serving and drops every connection and registration; idempotent.
    void shutdown() {
        std::map<uint32_t, liteipc::Service> stopping;
        std::optional<liteipc::Service> callback;
        std::map<DeathKey, DeathRecord> dropped;
        std::map<uint32_t, Remote> released;
        std::shared_ptr<liteipc::detail::CallbackThread> thread;
        {
            std::lock_guard lock(mutex);
            closed = true;
            stopping.swap(services);
            callback.swap(callback_service);
            dropped.swap(deaths);
            released.swap(remotes);
            thread.swap(executor);
        }
        stop_loops();
        liteipc::capi::fail_kept_requests(0);  // the services' workers wait for them
        // Outside the lock: handlers still running may call into the C API.
        stopping.clear();
        callback.reset();
        if (thread) thread->shutdown();
        dropped.clear();
        released.clear();
    }

    // The connection to `handle`, opened on first use and kept.
    liteipc::Result<std::shared_ptr<liteipc::Connection>> remote(uint32_t handle, bool acquire = false) {
        {
            std::lock_guard lock(mutex);
            if (closed) return liteipc::fail(liteipc::Errc::closed, "the context is closed");
            if (auto it = remotes.find(handle); it != remotes.end()) {
                if (!it->second.connection)
                    return liteipc::fail(liteipc::Errc::dead_object,
                                         "the service of handle " + std::to_string(handle) + " is gone");
                if (acquire) ++it->second.references;
                return it->second.connection;
            }
        }
        // Handle 0 is LiteIPC's service manager: the process that called SetSaManager.
        auto opened = handle == 0 ? liteipc::Connection::open(context, liteipc::detail::kContextObjectName)
                                  : liteipc::Connection::open(context, handle);
        if (!opened) return std::unexpected(opened.error());
        auto connection = std::make_shared<liteipc::Connection>(std::move(*opened));
        if (handle == 0) {
            std::lock_guard lock(mutex);
            auto [it, added] = remotes.try_emplace(0, Remote{connection, 0});
            if (acquire) ++it->second.references;
            return it->second.connection;
        }
        return keep(std::move(connection), acquire);
    }

    // Caches `connection` under its handle unless another thread got there first (or found the
    // handle's service gone meanwhile: then `connection`'s own calls will say so).
    std::shared_ptr<liteipc::Connection> keep(std::shared_ptr<liteipc::Connection> connection, bool acquire = false) {
        std::lock_guard lock(mutex);
        auto [it, added] = remotes.try_emplace(connection->handle(), Remote{connection, 0});
        if (acquire) ++it->second.references;
        return it->second.connection ? it->second.connection : connection;
    }

    // A connection whose service died or withdrew is closed, and its handle stays dead: later
    // requests fail with dead_object as the pending ones did (the loader never hands a handle out
    // twice), where looking it up again would say not_found, as for a handle never handed out.
    // Handle 0 names whichever process is the service manager next: it is looked up again.
    void retire_if_dead(uint32_t handle, const liteipc::Error& error) {
        if (error.code != liteipc::Errc::dead_object) return;
        std::shared_ptr<liteipc::Connection> gone;
        std::lock_guard lock(mutex);
        if (auto it = remotes.find(handle); it != remotes.end()) {
            gone = std::move(it->second.connection);
            if (handle == 0) remotes.erase(it);
        }
    }

    std::shared_ptr<liteipc::detail::CallbackThread> callback_thread() {
        std::lock_guard lock(mutex);
        if (!executor) executor = std::make_shared<liteipc::detail::CallbackThread>();
        return executor;
    }

    // Runs the death callback `key` (once) on the callback thread; LiteIPC passes no context.
    void fire_death(DeathKey key, uint64_t serial) {
        std::optional<DeathRecord> record;
        {
            std::lock_guard lock(mutex);
            auto it = deaths.find(key);
            if (it == deaths.end() || it->second.serial != serial) return;  // unregistered, or fired already
            record.emplace(std::move(it->second));
            deaths.erase(it);
        }
        LITEIPC_LOG(debug, "death callback %u: service handle %u died", key.second, key.first);
        liteipc::capi::run_death_handler(nullptr, key.first, record->func, record->arg);
    }
};
