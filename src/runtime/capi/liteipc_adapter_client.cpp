// The LiteIPC liteipc_adapter.h C API, the client's calls: requests (SendRequest), handles
// (LiteIpcGetService, GenServiceHandle, BinderAcquire/BinderRelease) and death callbacks, over
// liteipc::Connection. Requests and replies as callers hold them: liteipc_requests.cpp.
#include <algorithm>
#include <atomic>
#include <optional>
#include <string_view>

#include "capi/ipc_context.h"
#include "capi/ipcio_message.h"

using liteipc::Connection;
using liteipc::Errc;
using liteipc::Request;

using namespace liteipc::capi;

namespace {

std::atomic<uint32_t> g_max_death_callbacks{MAX_DEATHCB_PER_SVC};  // per handle; 0: no limit

std::chrono::milliseconds wait_time(uint32_t timeout_ms) {
    if (timeout_ms == IPC_WAIT_FOREVER) return std::chrono::hours(24 * 365);
    return std::chrono::milliseconds(timeout_ms);  // 0: the context's default
}

int32_t send_request(const IpcContext* context, SvcIdentity sid, uint32_t code, IpcIo* data, IpcIo* reply,
                     IpcFlag flag, uintptr_t* buffer, std::chrono::milliseconds timeout) {
    constexpr const char* what = "SendRequest";
    if (flag != LITEIPC_FLAG_DEFAULT && flag != LITEIPC_FLAG_ONEWAY) return invalid(what, "unknown flag");
    if (flag == LITEIPC_FLAG_DEFAULT && buffer == nullptr) return invalid(what, "a request with a reply needs `buffer`");
    if (buffer != nullptr) *buffer = 0;
    auto self = acquire(context);
    if (!self) return no_context(what);

    // The data buffers' free functions run once, whatever happens below.
    struct FreeDataBuffers {
        IpcIo* io;
        ~FreeDataBuffers() { IpcIoFreeDataBuff(io); }
    } free_data_buffers{data};
    if (data != nullptr && !IpcIoAvailable(data)) return invalid(what, "`data` is not an intact IpcIo written with IpcIoInit");
    auto connection = self->remote(sid.handle);
    if (!connection) return report(what, connection.error());
    Request request(**connection);
    request.set_token(sid.token);
    std::span<const std::byte> message = empty_message();
    if (data != nullptr) {
        auto sealed = liteipc::detail::seal_ipcio(data, staging(), [&](size_t size) { return request.attach(size); });
        if (!sealed) return report(what, sealed.error());
        message = *sealed;
    }
    auto adopted = request.adopt(message);
    if (!adopted) return report(what, adopted.error());

    if (flag == LITEIPC_FLAG_ONEWAY) {
        auto sent = (*connection)->send(code, request, timeout);
        if (!sent) {
            self->retire_if_dead(sid.handle, sent.error());
            return report(what, sent.error());
        }
        return LITEIPC_OK;
    }
    auto answer = (*connection)->call(code, request, timeout);
    if (!answer) {
        self->retire_if_dead(sid.handle, answer.error());
        return report(what, answer.error());
    }
    if (answer->status() != 0) {
        LITEIPC_LOG(info, "%s: code %u to handle %u answered status %d", what, code, sid.handle, answer->status());
        return status_code(answer->status());
    }
    *buffer = keep_reply(std::move(*answer), reply);
    return LITEIPC_OK;
}

}  // namespace

extern "C" {

int32_t SendRequest(const IpcContext* context, SvcIdentity sid, uint32_t code, IpcIo* data, IpcIo* reply,
                    IpcFlag flag, uintptr_t* buffer) {
    return send_request(context, sid, code, data, reply, flag, buffer, std::chrono::milliseconds(0));
}

int32_t Transact(const IpcContext* context, SvcIdentity sid, uint32_t code, IpcIo* data, IpcIo* reply,
                 IpcFlag flag, uintptr_t* buffer) {
    return send_request(context, sid, code, data, reply, flag, buffer, std::chrono::milliseconds(0));
}

int32_t LiteIpcSendRequestTimeout(const IpcContext* context, SvcIdentity sid, uint32_t code, IpcIo* data,
                                  IpcIo* reply, IpcFlag flag, uintptr_t* buffer, uint32_t timeoutMs) {
    if (timeoutMs == 0) return invalid("SendRequest", "timeout of 0 ms");
    return send_request(context, sid, code, data, reply, flag, buffer, wait_time(timeoutMs));
}

int32_t GenServiceHandle(SvcIdentity* sid, pid_t tid) {
    constexpr const char* what = "GenServiceHandle";
    if (sid == nullptr) return invalid(what, "null sid");
    auto self = acquire(nullptr);
    if (!self) return no_context(what);
    // A handle that reaches thread `tid`: the StartLoop endpoint of its process.
    const pid_t process = process_of(tid);
    if (process <= 0) return invalid(what, "no such thread");
    auto opened = Connection::open(self->context, liteipc::detail::endpoint_name(process));
    if (!opened) return report(what, opened.error());
    auto connection = self->keep(std::make_shared<Connection>(std::move(*opened)));
    sid->handle = connection->handle();
    sid->token = 0;
    sid->cookie = 0;
    return LITEIPC_OK;
}

int32_t RegisterDeathCallback(const IpcContext* context, SvcIdentity sid, IpcMsgHandler func, void* arg,
                              uint32_t* cbId) {
    constexpr const char* what = "RegisterDeathCallback";
    if (func == nullptr || cbId == nullptr) return invalid(what, "null handler or cbId");
    auto self = acquire(context);
    if (!self) return no_context(what);
    auto executor = self->callback_thread();
    IpcContext::DeathKey key{sid.handle, 0};
    uint64_t serial;
    {
        std::lock_guard lock(self->mutex);
        if (self->closed) return no_context(what);
        const uint32_t limit = g_max_death_callbacks.load();
        const auto registered = std::ranges::count_if(self->deaths, [&](const auto& d) { return d.first.first == sid.handle; });
        if (limit != 0 && static_cast<uint32_t>(registered) >= limit) {
            LITEIPC_LOG(warn, "%s: handle %u has its %u death callbacks (LiteIpcSetMaxDeathCallbacks allows more)", what,
                        sid.handle, limit);
            return LITEIPC_EINTNL;
        }
        while (self->deaths.contains(key)) ++key.second;
        serial = self->next_death_serial++;
        self->deaths.emplace(key, IpcContext::DeathRecord{serial, func, arg, {}});
    }
    *cbId = key.second;
    std::weak_ptr<IpcContext> weak = self;
    auto fire = [weak, key, serial] {
        if (auto owner = weak.lock()) owner->fire_death(key, serial);
    };
    // Fails the registration made above (and only it).
    auto undo = [&] {
        std::lock_guard lock(self->mutex);
        if (auto it = self->deaths.find(key); it != self->deaths.end() && it->second.serial == serial)
            self->deaths.erase(it);
    };
    auto connection = self->remote(sid.handle);
    if (!connection) {
        if (connection.error().code == Errc::not_found || connection.error().code == Errc::dead_object) {
            executor->post(fire);  // gone already: the callback runs at once
            return LITEIPC_OK;
        }
        undo();
        return report(what, connection.error());
    }
    // Called on the context's inbox thread: hand over to the callback thread.
    // The service's death or its withdrawal (the connection's hangup), whichever comes first.
    auto subscription = (*connection)->on_death([executor, fire](const liteipc::DeathNotice&) { executor->post(fire); });
    if (!subscription) {
        undo();
        return report(what, subscription.error());
    }
    std::lock_guard lock(self->mutex);
    if (auto it = self->deaths.find(key); it != self->deaths.end() && it->second.serial == serial)
        it->second.subscription = std::move(*subscription);
    // else: fired (or unregistered) already; the subscription ends here.
    return LITEIPC_OK;
}

int32_t UnregisterDeathCallback(SvcIdentity sid, uint32_t cbId) {
    auto self = acquire(nullptr);
    if (!self) return no_context("UnregisterDeathCallback");
    std::optional<IpcContext::DeathRecord> gone;
    {
        std::lock_guard lock(self->mutex);
        auto it = self->deaths.find({sid.handle, cbId});
        if (it == self->deaths.end()) {
            LITEIPC_LOG(info, "UnregisterDeathCallback: no callback %u on handle %u", cbId, sid.handle);
            return LITEIPC_OK;
        }
        gone.emplace(std::move(it->second));
        self->deaths.erase(it);
    }
    return LITEIPC_OK;  // the subscription ends outside the lock
}

int32_t LiteIpcSetMaxDeathCallbacks(uint32_t perService) {
    g_max_death_callbacks = perService;
    return LITEIPC_OK;
}

int32_t BinderAcquire(const IpcContext* context, uint32_t handle) {
    auto self = acquire(context);
    if (!self) return no_context("BinderAcquire");
    auto connection = self->remote(handle, true);
    return connection ? LITEIPC_OK : report("BinderAcquire", connection.error());
}

int32_t BinderRelease(const IpcContext* context, uint32_t handle) {
    auto self = acquire(context);
    if (!self) return no_context("BinderRelease");
    std::shared_ptr<Connection> gone;
    std::lock_guard lock(self->mutex);
    auto it = self->remotes.find(handle);
    if (it == self->remotes.end() || it->second.references == 0)
        return invalid("BinderRelease", "handle not acquired");
    if (--it->second.references == 0) {
        gone = std::move(it->second.connection);
        self->remotes.erase(it);
    }
    return LITEIPC_OK;
}

int32_t LiteIpcGetService(const IpcContext* context, const char* name, SvcIdentity* out) {
    if (name == nullptr || out == nullptr) return invalid("LiteIpcGetService", "null name or sid");
    auto self = acquire(context);
    if (!self) return no_context("LiteIpcGetService");
    auto opened = Connection::open(self->context, std::string_view(name));
    if (!opened) return report("LiteIpcGetService", opened.error());
    auto connection = self->keep(std::make_shared<Connection>(std::move(*opened)));
    *out = SvcIdentity{connection->handle(), 0, 0};
    return LITEIPC_OK;
}

}  // extern "C"
