// The LiteIPC liteipc_adapter.h C API, the service's calls: registering services and their access
// (LiteIpcRegisterService, AddServiceAccess, SetSaManager), StartLoop and anonymous callbacks
// (RegisterIpcCallback), over liteipc::Service. Requests as handlers hold them: liteipc_requests.cpp.
#include <poll.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "capi/ipc_context.h"

using liteipc::Call;
using liteipc::Errc;
using liteipc::Error;
using liteipc::Service;

using namespace liteipc::capi;

namespace {

liteipc::Policy policy_of(uint32_t policy) { return static_cast<liteipc::Policy>(policy); }

}  // namespace

extern "C" {

int32_t StartLoop(const IpcContext* context, IpcMsgHandler func, void* arg) {
    if (func == nullptr) return invalid("StartLoop", "null handler");
    auto self = acquire(context);
    if (!self) return no_context("StartLoop");
    {
        std::lock_guard lock(self->loop->mutex);
        self->loop->func = func;
        self->loop->arg = arg;
    }
    // This process's endpoint, which GenServiceHandle names to others (once per process).
    bool registered = false;
    {
        std::lock_guard lock(self->mutex);
        registered = std::exchange(self->endpoint_registered, true);
    }
    if (!registered) {
        const std::string name = liteipc::detail::endpoint_name(::getpid());
        LiteIpcServiceOptions options{name.c_str(), LITEIPC_POLICY_ANYONE, 0, 0, 0, LITEIPC_SERVICE_DIRECT};
        SvcIdentity sid;
        if (const int32_t ret = LiteIpcRegisterServiceEx(context, &options, nullptr, nullptr, &sid); ret != LITEIPC_OK)
            LITEIPC_LOG(warn, "StartLoop: endpoint '%s' not registered (%d)", name.c_str(), ret);
    }
    const int event = self->loop_event;
    // Services run on their own workers; this thread only waits to be let go.
    for (;;) {
        pollfd wait{event, POLLIN, 0};
        int ready = ::poll(&wait, 1, -1);
        if (ready > 0) break;
        if (ready < 0 && errno != EINTR) return report("StartLoop", Error{Errc::system, errno, "poll"});
    }
    return LITEIPC_OK;
}

void LiteIpcStopLoop(const IpcContext* context) {
    if (context != nullptr) context->stop_loops();
}

int32_t AddServiceAccess(SvcIdentity sid, pid_t pid) {
    auto self = acquire(nullptr);
    if (!self) return no_context("AddServiceAccess");
    if (pid <= 0) return invalid("AddServiceAccess", "pid must be positive");
    // samgr passes a thread id (GetCallingTid): access is per process.
    const pid_t process = process_of(pid);
    if (process <= 0) return invalid("AddServiceAccess", "no such process or thread");
    std::lock_guard lock(self->mutex);
    auto it = self->services.find(sid.handle);
    if (it == self->services.end()) return invalid("AddServiceAccess", "not a service of this process");
    auto granted = it->second.allow_pid(static_cast<uint32_t>(process));
    return granted ? LITEIPC_OK : report("AddServiceAccess", granted.error());
}

int32_t SetSaManager(const IpcContext* context, size_t maxMsgSize) {
    (void)maxMsgSize;  // messages have their own limits here
    constexpr const char* what = "SetSaManager";
    auto self = acquire(context);
    if (!self) return no_context(what);
    // The context object: a service anyone reaches as handle 0, served by the StartLoop handler.
    LiteIpcServiceOptions options{liteipc::detail::kContextObjectName, LITEIPC_POLICY_ANYONE, 0, 0, 0, LITEIPC_SERVICE_DIRECT};
    SvcIdentity sid;
    return LiteIpcRegisterServiceEx(context, &options, nullptr, nullptr, &sid);
}

// The uid list of a service of this process: add (LiteIpcAllowUid) or take off (LiteIpcRevokeUid).
static int32_t change_uid_list(const char* what, SvcIdentity sid, uid_t uid, bool allow) {
    auto self = acquire(nullptr);
    if (!self) return no_context(what);
    std::lock_guard lock(self->mutex);
    auto it = self->services.find(sid.handle);
    if (it == self->services.end()) return invalid(what, "not a service of this process");
    auto changed = allow ? it->second.allow_uid(static_cast<uint32_t>(uid)) : it->second.revoke_uid(static_cast<uint32_t>(uid));
    return changed ? LITEIPC_OK : report(what, changed.error());
}

int32_t LiteIpcAllowUid(SvcIdentity sid, uid_t uid) { return change_uid_list("LiteIpcAllowUid", sid, uid, true); }
int32_t LiteIpcRevokeUid(SvcIdentity sid, uid_t uid) { return change_uid_list("LiteIpcRevokeUid", sid, uid, false); }

int32_t RegisterIpcCallback(IpcMsgHandler func, uint32_t mode, uint32_t timeoutMs, SvcIdentity* sid, void* arg) {
    constexpr const char* what = "RegisterIpcCallback";
    if (func == nullptr || sid == nullptr) return invalid(what, "null handler or sid");
    if (mode > RESET_AFTER_USE) return invalid(what, "mode is neither ONCE nor RESET_AFTER_USE");
    if (timeoutMs < IPC_TIMEOUT_MIN) return invalid(what, "timeout under IPC_TIMEOUT_MIN");
    auto self = acquire(nullptr);
    if (!self) return no_context(what);
    uint32_t handle = 0;
    {
        // One anonymous service per process serves every callback; the token picks the callback.
        std::lock_guard lock(self->mutex);
        if (self->closed) return no_context(what);
        if (!self->callback_service) {
            liteipc::ServiceOptions options;
            options.name = "liteipc.callbacks." + std::to_string(::getpid());
            options.policy = liteipc::Policy::anyone;  // reached by whoever was given a token
            std::shared_ptr<CallbackTable> table = self->callbacks;
            const IpcContext* raw = self.get();
            auto started = Service::start(self->context, options, [table, raw](Call& call) -> int32_t {
                IpcIo io;
                open_request(call, &io);
                auto callback = table->use(call.token());
                if (!callback) return LITEIPC_ENOENT;
                return run_handler(call, 0, call.token(), io, callback->first, callback->second, raw);
            });
            if (!started) return report(what, started.error());
            self->callback_service.emplace(std::move(*started));
        }
        handle = self->callback_service->handle();
    }
    const auto timeout = timeoutMs == IPC_WAIT_FOREVER ? std::chrono::milliseconds(0)
                                                       : std::chrono::milliseconds(timeoutMs);
    const uint32_t token = self->callbacks->add(
        {func, arg, mode, timeout, std::chrono::steady_clock::now() + timeout});
    sid->handle = handle;
    sid->token = token;
    sid->cookie = token;
    return LITEIPC_OK;
}

int32_t UnregisterIpcCallback(SvcIdentity sid) {
    auto self = acquire(nullptr);
    if (!self) return no_context("UnregisterIpcCallback");
    if (!self->callbacks->remove(sid.token)) LITEIPC_LOG(info, "UnregisterIpcCallback: no callback %#x", sid.token);
    return LITEIPC_OK;
}

int32_t LiteIpcRegisterServiceEx(const IpcContext* context, const LiteIpcServiceOptions* options,
                                 IpcMsgHandler handler, void* arg, SvcIdentity* out) {
    constexpr const char* what = "LiteIpcRegisterService";
    if (options == nullptr || options->name == nullptr || out == nullptr) return invalid(what, "null name or sid");
    if (options->policy > LITEIPC_POLICY_PIDS) return invalid(what, "unknown policy");
    if (options->mode > LITEIPC_SERVICE_MEDIATED) return invalid(what, "unknown mode");
    auto self = acquire(context);
    if (!self) return no_context(what);
    liteipc::ServiceOptions service_options;
    service_options.name = options->name;
    service_options.policy = policy_of(options->policy);
    service_options.uid_min = options->uidMin;
    service_options.uid_max = options->uidMax;
    if (options->workers != 0) service_options.workers = options->workers;
    service_options.mode = options->mode == LITEIPC_SERVICE_MEDIATED ? liteipc::Mode::mediated : liteipc::Mode::direct;
    std::shared_ptr<LoopHandler> loop = self->loop;
    const IpcContext* raw = self.get();
    auto handle = std::make_shared<std::atomic<uint32_t>>(0);  // known once registered
    auto serve = [handler, arg, loop, raw, handle](Call& call) -> int32_t {
        IpcIo io;
        open_request(call, &io);
        const uint32_t token = call.token();
        IpcMsgHandler func = handler;
        void* func_arg = arg;
        if (func == nullptr) {
            std::lock_guard lock(loop->mutex);
            func = loop->func;
            func_arg = loop->arg;
        }
        if (func == nullptr) {
            LITEIPC_LOG(info, "code %u: no handler (StartLoop not called yet)", call.code());
            return LITEIPC_ENOENT;
        }
        return run_handler(call, *handle, token, io, func, func_arg, raw);
    };
    std::lock_guard lock(self->mutex);
    if (self->closed) return no_context(what);
    auto started = Service::start(self->context, std::move(service_options), serve);
    if (!started) return report(what, started.error());
    *handle = started->handle();
    self->services.emplace(started->handle(), std::move(*started));
    *out = SvcIdentity{*handle, 0, 0};
    return LITEIPC_OK;
}

int32_t LiteIpcRegisterService(const IpcContext* context, const char* name, IpcMsgHandler handler, void* arg,
                               SvcIdentity* out) {
    LiteIpcServiceOptions options{name, LITEIPC_POLICY_SAME_UID, 0, 0, 0, LITEIPC_SERVICE_DIRECT};
    return LiteIpcRegisterServiceEx(context, &options, handler, arg, out);
}

int32_t LiteIpcUnregisterService(const IpcContext* context, SvcIdentity sid) {
    auto self = acquire(context);
    if (!self) return no_context("LiteIpcUnregisterService");
    std::optional<Service> gone;
    {
        std::lock_guard lock(self->mutex);
        auto it = self->services.find(sid.handle);
        if (it == self->services.end()) return invalid("LiteIpcUnregisterService", "not a service of this process");
        gone.emplace(std::move(it->second));
        self->services.erase(it);
    }
    fail_kept_requests(sid.handle);  // its workers wait for them
    return LITEIPC_OK;  // stopped outside the lock
}

}  // extern "C"
