// The newer LiteIPC C API (liteipc/rpc/ipc_skeleton.h) over the C++ API: one wire with the older C
// API, so a service of any of the three answers a client of any other.
//
// Local objects (IpcObjectStub) are served by a service of their process per interface contract
// they declare (and one for those that declare none), reachable by the processes a reference was
// sent to; the token of their SvcIdentity picks the object. The
// context object (handle 0) is a service under a well-known name (context_object.h).
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_set>

#include "api/callback_thread.h"
#include "capi/context_object.h"
#include "capi/ipcio_message.h"
#include "death_recipients.h"
#include "liteipc/ipc.h"
#include "common/log.h"

// The newer API's declarations, kept apart from the older API's SvcIdentity.
#undef MIN_BINDER_HANDLE
namespace rpc {
#include "liteipc/rpc/ipc_skeleton.h"
#include "liteipc/rpc/rpc_errno.h"
}

namespace {
// Runs the release callbacks of an IpcIo's data buffers (LiteIpcWriteDataBuffer's) once the
// message is sent, or not.
struct FreeDataBuffers {
    IpcIo* io;
    ~FreeDataBuffers() {
        if (io != nullptr) IpcIoFreeDataBuff(io);
    }
};
}  // namespace

using liteipc::Call;
using liteipc::Connection;
using liteipc::Errc;
using liteipc::Error;

namespace {

constexpr uint32_t kDefaultWaitSeconds = 4;  // upstream's MessageOptionInit
constexpr size_t kReplyBytes = MAX_IO_SIZE;
constexpr size_t kReplyObjects = MAX_OBJ_NUM;
// The services this API registers (the context object, a process's local objects) are mediated
// when LITEIPC_MEDIATED=1 is in the environment: the API has no registration options of its own.
liteipc::Mode mode_from_environment() {
    const char* value = std::getenv("LITEIPC_MEDIATED");
    return value != nullptr && std::strcmp(value, "1") == 0 ? liteipc::Mode::mediated : liteipc::Mode::direct;
}

int32_t report(const char* what, const Error& error) {
    LITEIPC_LOG(info, "%s: %s", what, error.describe().c_str());
    switch (error.code) {
        case Errc::dead_object: return rpc::ERR_DEAD_OBJECT;
        case Errc::invalid_argument: return rpc::ERR_INVALID_PARAM;
        case Errc::loader_unavailable:
        case Errc::closed: return rpc::ERR_IPC_SKELETON_NOT_INIT;
        case Errc::not_found:
        case Errc::permission_denied:
        case Errc::timed_out: return rpc::IPC_INVOKER_IOCTL_FAILED;
        // liteipc's own (LiteIpcGetService): as a C stub reports it, liteipc_idl.h.
        case Errc::interface_mismatch: return -static_cast<int32_t>(Errc::interface_mismatch);
        default: return rpc::ERR_FAILED;
    }
}

int32_t invalid(const char* what, const char* why) {
    LITEIPC_LOG(warn, "%s: %s", what, why);
    return rpc::ERR_INVALID_PARAM;
}

// The caller of the request whose handler runs on this thread.
thread_local const liteipc::Caller* t_caller = nullptr;
// LiteIpcSetReplyStatus's status for that request's reply (0: the reply the handler wrote).
thread_local int32_t t_reply_status = 0;

// A reply the newer C API hands its caller, kept until FreeBuffer.
struct KeptRpcReply {
    liteipc::Reply reply;
};

// Everything the API keeps per process. Never destroyed: handlers and recipients may run until exit.
class Skeleton {
public:
    static Skeleton* get() {
        // Deliberately never freed. A child of fork() leaves its parent's behind (its threads
        // are not in the child) and makes its own.
        static std::mutex instance_mutex;
        static Skeleton* instance = nullptr;
        std::lock_guard instance_lock(instance_mutex);
        if (instance == nullptr || instance->owner_ != ::getpid()) instance = new Skeleton();
        std::lock_guard lock(instance->mutex_);
        if (!instance->context_) {
            auto opened = liteipc::Context::open(liteipc::ContextOptions{});
            if (!opened) {
                report("liteipc skeleton", opened.error());
                return nullptr;
            }
            instance->context_.emplace(std::move(*opened));
        }
        return instance;
    }

    liteipc::Context& context() { return *context_; }
    std::atomic<unsigned> workers{4};

    // The connection to `handle` (0: the context object), opened on first use and kept.
    liteipc::Result<std::shared_ptr<Connection>> remote(uint32_t handle) {
        std::lock_guard lock(mutex_);
        const auto it = remotes_.find(handle);
        if (it != remotes_.end() && it->second->alive()) return it->second;
        auto opened = handle == 0 ? Connection::open(*context_, liteipc::detail::kContextObjectName)
                                  : Connection::open(*context_, handle);
        if (!opened) {
            // What this handle named died or withdrew: it stays dead, as its pending calls were
            // told (a handle is never given out again; a new process may take the context
            // object's role, and then it is opened again).
            if (it != remotes_.end() && opened.error().code == Errc::not_found)
                return liteipc::fail(Errc::dead_object, "handle " + std::to_string(handle) + ": its service is gone");
            return std::unexpected(opened.error());
        }
        auto connection = std::make_shared<Connection>(std::move(*opened));
        remotes_[handle] = connection;
        return connection;
    }

    // Declares the interface local object `stub` serves: it is exported from then on through the
    // object service of that contract, which declares it, so the kernel refuses a receiver whose
    // proxy names another (connect_checked), as at a connect by name.
    void declare_interface(const rpc::IpcObjectStub* stub, liteipc::ServiceInterface interface) {
        std::lock_guard lock(mutex_);
        interfaces_[stub] = std::move(interface);
    }

    // The handle and token of local object `stub`, its service started on first use: one per
    // declared contract, and one (contract 0) for objects that declare none.
    std::optional<std::pair<uint32_t, uint32_t>> export_object(const rpc::IpcObjectStub* stub) {
        std::lock_guard lock(mutex_);
        const auto declared = interfaces_.find(stub);
        const uint64_t contract = declared != interfaces_.end() ? declared->second.contract_hash : 0;
        auto service = objects_services_.find(contract);
        if (service == objects_services_.end()) {
            liteipc::ServiceOptions options;
            options.name = "liteipc.objects." + std::to_string(::getpid());
            if (contract != 0) {
                char suffix[20];
                std::snprintf(suffix, sizeof suffix, ".%016llx", static_cast<unsigned long long>(contract));
                options.name += suffix;
                options.interface = declared->second;
            }
            options.policy = liteipc::Policy::pids;  // those a reference was sent to
            options.workers = workers.load();
            options.mode = mode_from_environment();
            auto started = liteipc::Service::start(*context_, options,
                                                   [this, contract](Call& call) { return serve(call, contract); });
            if (!started) {
                report("WriteRemoteObject", started.error());
                return std::nullopt;
            }
            service = objects_services_.emplace(contract, std::move(*started)).first;
        }
        auto [it, added] = tokens_.try_emplace(stub, 0);
        if (added) {
            uint32_t token;
            do token = static_cast<uint32_t>(random_()); while (token == 0 || objects_.contains(token));
            it->second = token;
            objects_[token] = {stub, contract};
        }
        return std::pair{service->second.handle(), it->second};
    }

    // Connects to the service behind a received reference naming `contract` (0: any): the kernel
    // refuses a service that declared another. Kept as remote() keeps a handle's.
    liteipc::Result<> connect_checked(uint32_t handle, uint64_t contract) {
        {
            // A handle names one service, whose interface is fixed at its start: checked once.
            std::lock_guard lock(mutex_);
            const auto it = remotes_.find(handle);
            const auto checked = checked_.find(handle);
            const bool known = checked != checked_.end() && checked->second == contract;
            if (it != remotes_.end() && it->second->alive() && (contract == 0 || known)) return {};
        }
        liteipc::ConnectOptions options;
        options.contract_hash = contract;
        auto opened = handle == 0 ? Connection::open(*context_, liteipc::detail::kContextObjectName, options)
                                  : Connection::open(*context_, handle, options);
        if (!opened) return std::unexpected(opened.error());
        std::lock_guard lock(mutex_);
        checked_[handle] = contract;
        auto& kept = remotes_[handle];
        if (!kept || !kept->alive()) kept = std::make_shared<Connection>(std::move(*opened));
        return {};
    }

    int32_t set_context_object(const rpc::IpcObjectStub* stub) {
        std::lock_guard lock(mutex_);
        if (context_service_) return invalid("SetContextObject", "this process set one already");
        liteipc::ServiceOptions options;
        options.name = liteipc::detail::kContextObjectName;
        options.policy = liteipc::Policy::anyone;
        options.workers = workers.load();
        options.mode = mode_from_environment();
        auto started =
            liteipc::Service::start(*context_, options, [stub](Call& call) { return serve_with(stub, call); });
        if (!started) {
            report("SetContextObject", started.error());
            return rpc::ERR_FAILED;
        }
        context_service_.emplace(std::move(*started));
        return rpc::ERR_NONE;
    }

    // Serves `stub` under `name` too (LiteIpcAddService).
    int32_t add_service(const std::string& name, const rpc::IpcObjectStub* stub, liteipc::ServiceInterface interface) {
        std::lock_guard lock(mutex_);
        if (named_services_.contains(name)) return invalid("LiteIpcAddService", "this process serves that name already");
        liteipc::ServiceOptions options;
        options.name = name;
        options.workers = workers.load();
        options.mode = mode_from_environment();
        options.interface = std::move(interface);
        auto started =
            liteipc::Service::start(*context_, options, [stub](Call& call) { return serve_with(stub, call); });
        if (!started) return report("LiteIpcAddService", started.error());
        named_services_.emplace(name, std::move(*started));
        return rpc::ERR_NONE;
    }

    // Connects to the service `name`, kept under its handle as remote() keeps a handle's.
    liteipc::Result<uint32_t> connect_by_name(const std::string& name, uint64_t contract) {
        liteipc::ConnectOptions options;
        options.contract_hash = contract;
        auto opened = Connection::open(*context_, name, options);
        if (!opened) return std::unexpected(opened.error());
        const uint32_t handle = opened->handle();
        std::lock_guard lock(mutex_);
        remotes_[handle] = std::make_shared<Connection>(std::move(*opened));
        return handle;
    }

    liteipc::skeleton::DeathRecipients recipients;

    // Forgets the connection to `handle`; false when there was none.
    bool release(uint32_t handle) {
        std::shared_ptr<Connection> gone;  // closed outside the lock
        std::lock_guard lock(mutex_);
        auto it = remotes_.find(handle);
        if (it == remotes_.end()) return false;
        gone = std::move(it->second);
        remotes_.erase(it);
        return true;
    }

private:
    Skeleton() = default;
    pid_t owner_ = ::getpid();

    // A call to an object service of `contract` reaches only the objects exported through it.
    int32_t serve(Call& call, uint64_t contract) {
        const rpc::IpcObjectStub* stub = nullptr;
        {
            std::lock_guard lock(mutex_);
            const auto it = objects_.find(call.token());
            if (it != objects_.end() && it->second.second == contract) stub = it->second.first;
        }
        if (stub == nullptr) return rpc::IPC_INVOKER_UNKNOWN_CODE;
        return serve_with(stub, call);
    }

    // Runs `stub` on `call` and sends what it wrote into its reply; its return value is logged
    // only, as upstream.
    static int32_t serve_with(const rpc::IpcObjectStub* stub, Call& call) {
        IpcIo data;
        thread_local std::array<std::byte, liteipc::kMaxMessageSize> copy;  // private, as the older API reads
        const size_t size = std::min(call.payload().size(), copy.size());
        std::memcpy(copy.data(), call.payload().data(), size);
        liteipc::ipcio_init_reader(&data, std::span<const std::byte>(copy.data(), size), call.request_options());
        alignas(8) std::array<std::byte, kReplyBytes> reply_bytes;
        IpcIo reply;
        IpcIoInit(&reply, reply_bytes.data(), reply_bytes.size(), kReplyObjects);
        const FreeDataBuffers free_data_buffers{&reply};
        rpc::MessageOption option{call.oneway() ? uint32_t{rpc::TF_OP_ASYNC} : uint32_t{rpc::TF_OP_SYNC}, 0,
                                  stub->args};
        const liteipc::Caller* outer = std::exchange(t_caller, &call.caller());
        const int32_t outer_status = std::exchange(t_reply_status, 0);
        const int32_t result = stub->func(call.code(), &data, &reply, option);
        const int32_t status = std::exchange(t_reply_status, outer_status);
        t_caller = outer;
        if (result != rpc::ERR_NONE) LITEIPC_LOG(info, "code %u: the handler returned %d", call.code(), result);
        if (call.oneway()) return 0;
        if (status != 0) return status;  // what it wrote is not sent
        std::array<std::byte, liteipc::kMaxMessageSize> staging;
        auto sealed = liteipc::detail::seal_ipcio(&reply, staging, [&](size_t n) { return call.attach(n); });
        if (!sealed) {
            report("reply", sealed.error());
            return liteipc::kFailedReplyStatus;
        }
        if (auto adopted = call.adopt_reply(*sealed); !adopted) {
            report("reply", adopted.error());
            return liteipc::kFailedReplyStatus;
        }
        return 0;
    }

    std::mutex mutex_;
    std::optional<liteipc::Context> context_;
    std::map<uint32_t, std::shared_ptr<Connection>> remotes_;
    std::map<uint32_t, uint64_t> checked_;  // handle -> the contract the kernel let it in for
    std::map<uint64_t, liteipc::Service> objects_services_;  // by contract
    std::map<const rpc::IpcObjectStub*, liteipc::ServiceInterface> interfaces_;
    std::optional<liteipc::Service> context_service_;
    std::map<std::string, liteipc::Service> named_services_;
    std::map<const rpc::IpcObjectStub*, uint32_t> tokens_;
    std::map<uint32_t, std::pair<const rpc::IpcObjectStub*, uint64_t>> objects_;  // token -> object, contract
    std::mt19937 random_{std::random_device{}()};
};

std::mutex g_replies_mutex;
std::unordered_set<const void*> g_replies;

// The handles this process was given (ReadRemoteObject) besides 0, as a Binder process's handle
// table: a death recipient on any other handle is refused, as upstream refuses it.
std::mutex g_given_mutex;
std::unordered_set<uint32_t> g_given;

void remember_given(uint32_t handle) {
    std::lock_guard lock(g_given_mutex);
    g_given.insert(handle);
}

bool was_given(uint32_t handle) {
    std::lock_guard lock(g_given_mutex);
    return handle == 0 || g_given.contains(handle);
}

}  // namespace

namespace rpc {

int32_t SetMaxWorkThreadNum(int32_t maxThreadNum) {
    if (maxThreadNum <= 0) return invalid("SetMaxWorkThreadNum", "not positive");
    Skeleton* self = Skeleton::get();
    if (self == nullptr) return ERR_IPC_SKELETON_NOT_INIT;
    self->workers = static_cast<unsigned>(maxThreadNum);
    return ERR_NONE;
}

void JoinWorkThread(void) {
    // Workers serve on their own threads; this one waits for good, as upstream's never returns.
    std::mutex mutex;
    std::condition_variable never;
    std::unique_lock lock(mutex);
    never.wait(lock, [] { return false; });
}

pid_t GetCallingPid(void) { return t_caller != nullptr ? static_cast<pid_t>(t_caller->pid) : ::getpid(); }
pid_t GetCallingUid(void) {
    return t_caller != nullptr ? static_cast<pid_t>(t_caller->uid) : static_cast<pid_t>(::getuid());
}

const SvcIdentity* GetContextObject(void) {
    static const SvcIdentity context_object{0, 0, 0};
    return &context_object;
}

int32_t SetContextObject(SvcIdentity target) {
    const auto* stub = reinterpret_cast<const IpcObjectStub*>(target.cookie);
    if (stub == nullptr || stub->func == nullptr) return invalid("SetContextObject", "not a local object (cookie)");
    Skeleton* self = Skeleton::get();
    if (self == nullptr) return ERR_IPC_SKELETON_NOT_INIT;
    return self->set_context_object(stub);
}

bool WriteRemoteObject(IpcIo* io, const SvcIdentity* svc) {
    if (svc == nullptr) {
        liteipc::detail::mark_failed(io);
        return false;
    }
    ::SvcIdentity wire{static_cast<uint32_t>(svc->handle), static_cast<uint32_t>(svc->token), 0};
    if (svc->handle == MIN_BINDER_HANDLE) {
        // A local object: served here from now on, reached through this process's object service.
        const auto* stub = reinterpret_cast<const IpcObjectStub*>(svc->cookie);
        Skeleton* self = Skeleton::get();
        auto exported = stub != nullptr && stub->func != nullptr && self != nullptr ? self->export_object(stub)
                                                                                     : std::nullopt;
        if (!exported) {
            LITEIPC_LOG(warn, "WriteRemoteObject: a local object without an IpcObjectStub, or no liteipc-loader");
            liteipc::detail::mark_failed(io);
            return false;
        }
        wire = {exported->first, exported->second, 0};
    }
    liteipc::detail::push(io, [&](liteipc::Writer& w) { w.write_service(wire); });
    return IpcIoAvailable(io);
}

bool ReadRemoteObject(IpcIo* io, SvcIdentity* svc) {
    if (svc == nullptr) {
        liteipc::detail::mark_failed(io);
        return false;
    }
    const ::SvcIdentity wire =
        liteipc::detail::pop(io, ::SvcIdentity{}, [](liteipc::Reader& r) { return r.read_service(); });
    if (!IpcIoAvailable(io)) {
        svc->handle = IPC_INVALID_HANDLE;
        return false;
    }
    remember_given(wire.handle);
    *svc = SvcIdentity{static_cast<int32_t>(wire.handle), wire.token, 0};
    return true;
}

int32_t SendRequest(SvcIdentity target, uint32_t code, IpcIo* data, IpcIo* reply, MessageOption option,
                    uintptr_t* buffer) {
    constexpr const char* what = "SendRequest";
    if (option.flags > TF_OP_ASYNC) return invalid(what, "flags are neither TF_OP_SYNC nor TF_OP_ASYNC");
    const bool oneway = option.flags == TF_OP_ASYNC;
    const FreeDataBuffers free_data_buffers{data};
    if (!oneway && buffer == nullptr) return invalid(what, "a synchronous request needs `buffer`");
    if (buffer != nullptr) *buffer = 0;
    if (target.handle < 0) return invalid(what, "a local object is called directly, not through SendRequest");
    if (data != nullptr && !IpcIoAvailable(data)) return IPC_INVOKER_INVALID_DATA;
    Skeleton* self = Skeleton::get();
    if (self == nullptr) return ERR_IPC_SKELETON_NOT_INIT;
    auto connection = self->remote(static_cast<uint32_t>(target.handle));
    if (!connection) return report(what, connection.error());
    liteipc::Request request(**connection);
    request.set_token(static_cast<uint32_t>(target.token));
    if (data != nullptr) {
        std::array<std::byte, liteipc::kMaxMessageSize> staging;
        auto sealed = liteipc::detail::seal_ipcio(data, staging, [&](size_t n) { return request.attach(n); });
        if (!sealed) return report(what, sealed.error());
        if (auto adopted = request.adopt(*sealed); !adopted) return report(what, adopted.error());
    } else {
        liteipc::InlineWriter<64> empty;
        if (auto adopted = request.adopt(empty.seal()); !adopted) return report(what, adopted.error());
    }
    const auto wait = std::chrono::seconds(option.waitTime != 0 ? option.waitTime : kDefaultWaitSeconds);
    if (oneway) {
        auto sent = (*connection)->send(code, request, std::chrono::duration_cast<std::chrono::milliseconds>(wait));
        return sent ? ERR_NONE : report(what, sent.error());
    }
    auto answer = (*connection)->call(code, request, std::chrono::duration_cast<std::chrono::milliseconds>(wait));
    if (!answer) return report(what, answer.error());
    if (answer->status() == liteipc::kFailedReplyStatus) return IPC_INVOKER_FAILED_REPLY;
    if (answer->status() != 0) {
        LITEIPC_LOG(info, "%s: code %u to handle %d answered status %d", what, code, target.handle, answer->status());
        return answer->status() < 0 ? answer->status() : ERR_FAILED;
    }
    auto* kept = new KeptRpcReply{std::move(*answer)};
    {
        std::lock_guard lock(g_replies_mutex);
        g_replies.insert(kept);
    }
    if (reply != nullptr) {
        liteipc::ipcio_init_reader(reply, {}, {});
        if (liteipc::Reader* reader = liteipc::ipcio_reader(reply)) *reader = kept->reply.reader();
        reply->flag = IPC_IO_INITIALIZED | (liteipc::ipcio_reader(reply)->ok() ? 0 : IPC_IO_OVERFLOW);
        liteipc::ipcio_sync_view(reply);
    }
    *buffer = reinterpret_cast<uintptr_t>(kept);
    return ERR_NONE;
}

int32_t FreeBuffer(void* ptr) {
    if (ptr == nullptr) return invalid("FreeBuffer", "null buffer");
    {
        std::lock_guard lock(g_replies_mutex);
        if (g_replies.erase(ptr) == 0) return invalid("FreeBuffer", "not a reply buffer, or freed already");
    }
    delete static_cast<KeptRpcReply*>(ptr);
    return ERR_NONE;
}

int32_t AddDeathRecipient(SvcIdentity target, OnRemoteDead deathFunc, void* args, uint32_t* cbId) {
    constexpr const char* what = "AddDeathRecipient";
    if (deathFunc == nullptr || cbId == nullptr) return invalid(what, "null deathFunc or cbId");
    if (target.handle < 0) return invalid(what, "a local object does not die apart from this process");
    Skeleton* self = Skeleton::get();
    if (self == nullptr) return ERR_IPC_SKELETON_NOT_INIT;
    const auto handle = static_cast<uint32_t>(target.handle);
    if (!was_given(handle)) return invalid(what, "a handle this process was not given");
    auto connection = self->remote(handle);
    if (!connection) {
        if (connection.error().code == Errc::dead_object || connection.error().code == Errc::not_found) {
            deathFunc(args);  // dead already
            *cbId = 0;
            return ERR_NONE;
        }
        return report(what, connection.error());
    }
    liteipc::Result<liteipc::DeathSubscription> outcome{};
    const uint32_t id = self->recipients.add(self->context(), handle, **connection, deathFunc, args, &outcome);
    if (id == 0) return report(what, outcome.error());
    *cbId = id;
    return ERR_NONE;
}

int32_t RemoveDeathRecipient(SvcIdentity target, uint32_t cbId) {
    if (target.handle < 0) return invalid("RemoveDeathRecipient", "a local object has no death recipients");
    Skeleton* self = Skeleton::get();
    if (self == nullptr) return ERR_IPC_SKELETON_NOT_INIT;
    if (!self->recipients.remove(static_cast<uint32_t>(target.handle), cbId))
        return invalid("RemoveDeathRecipient", "no such recipient on this target");
    return ERR_NONE;
}

int32_t ReleaseSvc(SvcIdentity target) {
    if (target.handle <= 0) return invalid("ReleaseSvc", "not a remote object's handle");
    Skeleton* self = Skeleton::get();
    if (self == nullptr) return ERR_IPC_SKELETON_NOT_INIT;
    if (!self->release(static_cast<uint32_t>(target.handle))) return invalid("ReleaseSvc", "a handle this process has not reached");
    return ERR_NONE;
}

int32_t LiteIpcSetMaxDeathRecipients(uint32_t perTarget) {
    Skeleton* self = Skeleton::get();
    if (self == nullptr) return ERR_IPC_SKELETON_NOT_INIT;
    self->recipients.max_per_target = perTarget;
    return ERR_NONE;
}

int32_t LiteIpcAddService(const char* name, const SvcIdentity* object, const LiteIpcInterface* interface) {
    if (name == nullptr || object == nullptr) return invalid("LiteIpcAddService", "null name or object");
    const auto* stub = reinterpret_cast<const IpcObjectStub*>(object->cookie);
    if (object->handle != MIN_BINDER_HANDLE || stub == nullptr || stub->func == nullptr)
        return invalid("LiteIpcAddService", "not a local object (handle MIN_BINDER_HANDLE, cookie its IpcObjectStub)");
    Skeleton* self = Skeleton::get();
    if (self == nullptr) return ERR_IPC_SKELETON_NOT_INIT;
    liteipc::ServiceInterface declared;
    if (interface != nullptr) {
        declared = {interface->name != nullptr ? interface->name : "", interface->hash, interface->contract,
                    interface->version};
    }
    return self->add_service(name, stub, std::move(declared));
}

int32_t LiteIpcGetService(const char* name, uint64_t contract, SvcIdentity* svc) {
    if (name == nullptr || svc == nullptr) return invalid("LiteIpcGetService", "null name or svc");
    Skeleton* self = Skeleton::get();
    if (self == nullptr) return ERR_IPC_SKELETON_NOT_INIT;
    auto handle = self->connect_by_name(name, contract);
    if (!handle) return report("LiteIpcGetService", handle.error());
    remember_given(*handle);
    *svc = SvcIdentity{static_cast<int32_t>(*handle), 0, 0};
    return ERR_NONE;
}

int32_t LiteIpcSetObjectInterface(const SvcIdentity* object, const LiteIpcInterface* interface) {
    constexpr const char* what = "LiteIpcSetObjectInterface";
    if (object == nullptr || interface == nullptr || interface->name == nullptr)
        return invalid(what, "null object, interface or interface name");
    const auto* stub = reinterpret_cast<const IpcObjectStub*>(object->cookie);
    if (object->handle != MIN_BINDER_HANDLE || stub == nullptr || stub->func == nullptr)
        return invalid(what, "not a local object (handle MIN_BINDER_HANDLE, cookie its IpcObjectStub)");
    Skeleton* self = Skeleton::get();
    if (self == nullptr) return ERR_IPC_SKELETON_NOT_INIT;
    self->declare_interface(stub, {interface->name, interface->hash, interface->contract, interface->version});
    return ERR_NONE;
}

int32_t LiteIpcConnectRemote(const SvcIdentity* remote, uint64_t contract) {
    constexpr const char* what = "LiteIpcConnectRemote";
    if (remote == nullptr || remote->handle < 0) return invalid(what, "null, or a local object (called directly)");
    Skeleton* self = Skeleton::get();
    if (self == nullptr) return ERR_IPC_SKELETON_NOT_INIT;
    auto connected = self->connect_checked(static_cast<uint32_t>(remote->handle), contract);
    return connected ? ERR_NONE : report(what, connected.error());
}

int32_t LiteIpcSetReplyStatus(int32_t status) {
    if (t_caller == nullptr) return invalid("LiteIpcSetReplyStatus", "not in a handler");
    t_reply_status = status;
    return ERR_NONE;
}

int32_t MessageOptionInit(MessageOption* option) {
    if (option == nullptr) return invalid("MessageOptionInit", "null option");
    *option = MessageOption{TF_OP_SYNC, kDefaultWaitSeconds, nullptr};
    return ERR_NONE;
}

}  // namespace rpc
