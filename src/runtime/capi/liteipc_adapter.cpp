// The LiteIPC liteipc_adapter.h C API as a thin face over liteipc::Context, Service and Connection.
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
#include "liteipc/liteipc_adapter.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "api/callback_thread.h"
#include "capi/context_object.h"
#include "capi/ipcio_message.h"
#include "capi/liteipc_requests.h"
#include "liteipc/ipc.h"
#include "liteipc/parcel.h"
#include "common/log.h"

using liteipc::Call;
using liteipc::Connection;
using liteipc::Errc;
using liteipc::Error;
using liteipc::Reader;
using liteipc::Reply;
using liteipc::Request;
using liteipc::Service;

using namespace liteipc::capi;

namespace {

// ---- a handler slot: StartLoop's handler, read by services registered without one ----

struct LoopHandler {
    std::mutex mutex;
    IpcMsgHandler func = nullptr;
    void* arg = nullptr;
};

// ---- anonymous callbacks (RegisterIpcCallback) ----

struct CallbackTable {
    struct Entry {
        IpcMsgHandler func;
        void* arg;
        uint32_t mode;
        std::chrono::milliseconds timeout;  // 0: forever
        std::chrono::steady_clock::time_point deadline;
    };
    std::mutex mutex;
    std::map<uint32_t, Entry> entries;
    std::mt19937 random{std::random_device{}()};

    static bool expired(const Entry& entry, std::chrono::steady_clock::time_point now) {
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

    uint32_t add(Entry entry) {
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

std::chrono::milliseconds wait_time(uint32_t timeout_ms) {
    if (timeout_ms == IPC_WAIT_FOREVER) return std::chrono::hours(24 * 365);
    return std::chrono::milliseconds(timeout_ms);  // 0: the context's default
}

}  // namespace

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
    std::shared_ptr<LoopHandler> loop = std::make_shared<LoopHandler>();
    std::shared_ptr<CallbackTable> callbacks = std::make_shared<CallbackTable>();

    std::mutex mutex;  // guards everything below
    bool closed = false;
    struct Remote {
        std::shared_ptr<Connection> connection;
        uint32_t references = 0;  // BinderAcquire
    };
    std::map<uint32_t, Remote> remotes;  // by handle
    std::map<uint32_t, Service> services;  // local, by handle
    std::optional<Service> callback_service;
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
        std::map<uint32_t, Service> stopping;
        std::optional<Service> callback;
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
        fail_kept_requests(0);  // the services' workers wait for them
        // Outside the lock: handlers still running may call into the C API.
        stopping.clear();
        callback.reset();
        if (thread) thread->shutdown();
        dropped.clear();
        released.clear();
    }

    // The connection to `handle`, opened on first use and kept.
    liteipc::Result<std::shared_ptr<Connection>> remote(uint32_t handle, bool acquire = false) {
        {
            std::lock_guard lock(mutex);
            if (closed) return liteipc::fail(Errc::closed, "the context is closed");
            if (auto it = remotes.find(handle); it != remotes.end()) {
                if (acquire) ++it->second.references;
                return it->second.connection;
            }
        }
        // Handle 0 is LiteIPC's service manager: the process that called SetSaManager.
        auto opened = handle == 0 ? Connection::open(context, liteipc::detail::kContextObjectName)
                                  : Connection::open(context, handle);
        if (!opened) return std::unexpected(opened.error());
        auto connection = std::make_shared<Connection>(std::move(*opened));
        if (handle == 0) {
            std::lock_guard lock(mutex);
            auto [it, added] = remotes.try_emplace(0, Remote{connection, 0});
            if (acquire) ++it->second.references;
            return it->second.connection;
        }
        return keep(std::move(connection), acquire);
    }

    // Caches `connection` under its handle unless another thread got there first.
    std::shared_ptr<Connection> keep(std::shared_ptr<Connection> connection, bool acquire = false) {
        std::lock_guard lock(mutex);
        auto [it, added] = remotes.try_emplace(connection->handle(), Remote{connection, 0});
        if (acquire) ++it->second.references;
        return it->second.connection;
    }

    // A connection whose service died is dropped: the next request looks the handle up again.
    void forget_if_dead(uint32_t handle, const Error& error) {
        if (error.code != Errc::dead_object) return;
        std::shared_ptr<Connection> gone;
        std::lock_guard lock(mutex);
        if (auto it = remotes.find(handle); it != remotes.end()) {
            gone = std::move(it->second.connection);
            remotes.erase(it);
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
        run_death_handler(nullptr, key.first, record->func, record->arg);
    }
};

namespace {

std::mutex g_context_mutex;
std::shared_ptr<IpcContext> g_context;
unsigned g_context_users = 0;
pid_t g_context_pid = 0;

// A context inherited across fork() belongs to the parent: its threads do not exist here.
// It is left behind (never destroyed) and this process opens its own.
void forget_inherited_context() {
    if (g_context && g_context_pid != ::getpid()) {
        new std::shared_ptr<IpcContext>(std::move(g_context));  // deliberately leaked
        g_context_users = 0;
    }
}

// The open context that `context` names (NULL: the process's); null when there is none.
std::shared_ptr<IpcContext> acquire(const IpcContext* context) {
    std::lock_guard lock(g_context_mutex);
    forget_inherited_context();
    if (!g_context || (context != nullptr && context != g_context.get())) return nullptr;
    return g_context;
}

// The process (thread group) of thread `tid`; 0 when there is none.
pid_t process_of(pid_t tid) {
    std::ifstream status("/proc/" + std::to_string(tid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("Tgid:", 0) == 0) return static_cast<pid_t>(std::atoi(line.c_str() + 5));
    return 0;
}

int32_t no_context(const char* what) {
    LITEIPC_LOG(warn, "%s: no open context (OpenLiteIpc first)", what);
    return LITEIPC_EBADF;
}

liteipc::Policy policy_of(uint32_t policy) { return static_cast<liteipc::Policy>(policy); }

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
            self->forget_if_dead(sid.handle, sent.error());
            return report(what, sent.error());
        }
        return LITEIPC_OK;
    }
    auto answer = (*connection)->call(code, request, timeout);
    if (!answer) {
        self->forget_if_dead(sid.handle, answer.error());
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

IpcContext* OpenLiteIpc(size_t mmapSize) {
    (void)mmapSize;  // pools are per connection
    std::lock_guard lock(g_context_mutex);
    forget_inherited_context();
    if (g_context) {
        ++g_context_users;
        return g_context.get();
    }
    auto opened = liteipc::Context::open(liteipc::detail::options_from_environment());
    if (!opened) {
        report("OpenLiteIpc", opened.error());
        return nullptr;
    }
    g_context = std::make_shared<IpcContext>(std::move(*opened));
    g_context_users = 1;
    g_context_pid = ::getpid();
    return g_context.get();
}

void CloseLiteIpc(IpcContext* context) {
    std::shared_ptr<IpcContext> closing;
    {
        std::lock_guard lock(g_context_mutex);
        forget_inherited_context();
        if (!g_context || (context != nullptr && context != g_context.get())) return;
        if (--g_context_users > 0) return;
        closing = std::move(g_context);
    }
    closing->shutdown();
}

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
