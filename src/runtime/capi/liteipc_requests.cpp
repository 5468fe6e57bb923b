// The requests a C API handler holds (its ipcMsg) and the replies a C API caller holds (its
// buffer), from arrival to SendReply / FreeBuffer.
//
// Request lifetime, as in LiteIPC: a request lives until SendReply or FreeBuffer releases it, from
// any thread. One still unreleased when its handler returns is kept (liteipc::PendingCall): the
// caller keeps waiting and IpcIoInitFromMsg reads it again. Freed without a reply, the caller gets
// LITEIPC_FAILED_REPLY at once.
#include "capi/liteipc_requests.h"

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "capi/ipcio_message.h"
#include "common/log.h"

using liteipc::Call;
using liteipc::Errc;
using liteipc::Error;
using liteipc::Reader;

namespace liteipc::capi {
namespace {

constexpr uint32_t kIncomingMagic = 0x4347534d;  // "MSGC"
enum MessageType : uint32_t { kRequest = 1, kDeath = 2 };

}  // namespace

// ---- errors ----

int32_t code_of(Errc code) {
    switch (code) {
        case Errc::invalid_argument: return LITEIPC_EINVAL;
        case Errc::not_found: return LITEIPC_ENOENT;
        case Errc::already_exists: return LITEIPC_EEXIST;
        case Errc::permission_denied: return LITEIPC_EPERM;
        case Errc::dead_object: return LITEIPC_DEAD_OBJECT;
        case Errc::timed_out: return LITEIPC_ETIMEDOUT;
        case Errc::no_memory: return LITEIPC_ENOMEM;
        case Errc::malformed: return LITEIPC_EINTNL;
        case Errc::loader_unavailable: return LITEIPC_EBADF;
        case Errc::kernel: return LITEIPC_EBADF;
        case Errc::system: return LITEIPC_EINTNL;
        case Errc::closed: return LITEIPC_EBADF;
        case Errc::quota_exceeded: return LITEIPC_EQUOTA;
        case Errc::identity_mismatch: return LITEIPC_EIDENTITY;
        case Errc::name_not_allowed: return LITEIPC_ENAMEPOLICY;
        case Errc::loader_busy: return LITEIPC_EBUSY;
        case Errc::unknown_method: return LITEIPC_EINVAL;
        case Errc::abi_mismatch: return LITEIPC_EBADF;
        case Errc::interface_mismatch: return LITEIPC_EPERM;
    }
    return LITEIPC_EINTNL;
}

// A reply status as SendRequest returns it.
int32_t status_code(int32_t status) {
    return status == liteipc::kFailedReplyStatus ? LITEIPC_FAILED_REPLY : status;
}

// Logs a failure of `what` and returns its LiteIPC code.
int32_t report(const char* what, const Error& error) {
    switch (error.code) {
        case Errc::not_found:
        case Errc::permission_denied:
        case Errc::dead_object:
        case Errc::timed_out:
            LITEIPC_LOG(info, "%s: %s", what, error.describe().c_str());
            break;
        default:
            LITEIPC_LOG(warn, "%s: %s", what, error.describe().c_str());
    }
    return code_of(error.code);
}

int32_t invalid(const char* what, const char* why) {
    LITEIPC_LOG(warn, "%s: %s", what, why);
    return LITEIPC_EINVAL;
}

// ---- what a handler's ipcMsg points to ----

namespace {

struct IncomingMessage {
    uint32_t magic = kIncomingMagic;
    uint32_t type = kRequest;
    uint32_t code = 0;
    uint32_t flag = LITEIPC_FLAG_DEFAULT;
    uint32_t token = 0;
    uint32_t service = 0;  // handle of the local service it came to
    liteipc::Caller caller{};

    std::mutex mutex;  // guards what follows
    Call* call = nullptr;  // until released; null for a death notification
    bool released = false;  // replied to or freed
    bool failed = false;    // freed without a reply
    liteipc::PendingCall kept;  // when it outlives its handler
    std::vector<std::byte> copy;  // IpcIoInitFromMsg's private copy of the request
};

const IncomingMessage* incoming(const void* ipcMsg) {
    auto* msg = static_cast<const IncomingMessage*>(ipcMsg);
    return msg != nullptr && msg->magic == kIncomingMagic ? msg : nullptr;
}

// Requests not released yet, by address: SendReply, FreeBuffer and IpcIoInitFromMsg from any
// thread find them here (an address not here is never dereferenced).
std::mutex g_messages_mutex;
std::unordered_map<const void*, std::shared_ptr<IncomingMessage>> g_messages;

std::shared_ptr<IncomingMessage> find_message(const void* ipcMsg) {
    std::lock_guard lock(g_messages_mutex);
    auto it = g_messages.find(ipcMsg);
    return it == g_messages.end() ? nullptr : it->second;
}

void forget_message(const IncomingMessage* msg) {
    std::shared_ptr<IncomingMessage> gone;  // destroyed outside the lock
    std::lock_guard lock(g_messages_mutex);
    if (auto it = g_messages.find(msg); it != g_messages.end()) {
        gone = std::move(it->second);
        g_messages.erase(it);
    }
}

// Releases `msg` (its mutex held): a kept call is answered (failed: LITEIPC_FAILED_REPLY).
void release_locked(IncomingMessage& msg, bool failed) {
    msg.released = true;
    msg.failed = failed;
    msg.call = nullptr;
    if (!msg.kept) return;
    if (failed) msg.kept.fail();
    else msg.kept.reply(0);
}

}  // namespace

// Fails every request kept for the local service `handle` (0: every one), so its workers let go.
void fail_kept_requests(uint32_t handle) {
    std::vector<std::shared_ptr<IncomingMessage>> kept;
    {
        std::lock_guard lock(g_messages_mutex);
        for (auto& [address, msg] : g_messages)
            if (handle == 0 || msg->service == handle) kept.push_back(msg);
    }
    for (auto& msg : kept) {
        {
            std::lock_guard lock(msg->mutex);
            if (!msg->released && msg->kept) release_locked(*msg, true);
        }
        forget_message(msg.get());
    }
}

namespace {

// Points `io` at `reader`'s message as a reading IpcIo (keeps the reader's pool and position).
void set_reader(IpcIo* io, const Reader& reader) {
    liteipc::ipcio_init_reader(io, {}, {});
    if (Reader* target = liteipc::ipcio_reader(io)) {
        *target = reader;
        io->flag = IPC_IO_INITIALIZED | (reader.ok() ? 0u : IPC_IO_OVERFLOW);
        liteipc::ipcio_sync_view(io);
    }
}

}  // namespace

// An empty sealed message: the request of SendRequest(data == NULL), the data of a death notice.
std::span<const std::byte> empty_message() {
    static const auto message = [] {
        liteipc::InlineWriter<64> writer;
        auto sealed = writer.seal();
        std::array<std::byte, 64> copy{};
        std::memcpy(copy.data(), sealed.data(), sealed.size());
        return std::pair{copy, sealed.size()};
    }();
    return {message.first.data(), message.second};
}

// Opens the request of `call` in `io`. The reader gets a private copy of the message: the peer
// can still write its pool, and C code trusts a string's terminator again after IpcIoPopString
// checked it (see parcel.h). Buffers and fds resolve as they do for the C++ reader.
void open_request(Call& call, IpcIo* io) {
    thread_local std::array<std::byte, liteipc::kMaxMessageSize> copy;
    const std::span<const std::byte> message = call.payload();
    const size_t size = std::min(message.size(), copy.size());
    std::memcpy(copy.data(), message.data(), size);
    liteipc::ipcio_init_reader(io, std::span<const std::byte>(copy.data(), size), call.request_options());
}

namespace {

// The request whose handler runs on this thread (FreeBuffer accepts it without reading it).
thread_local const IncomingMessage* t_current_message = nullptr;

}  // namespace

// Where an IpcIo is gathered into a message before it is sent.
std::span<std::byte> staging() {
    thread_local std::array<std::byte, liteipc::kMaxMessageSize> buffer;
    return buffer;
}

// Runs a C handler on `call` (to the local service `service`); the status the caller sees. A
// request the handler did not release is kept until SendReply or FreeBuffer releases it.
int32_t run_handler(Call& call, uint32_t service, uint32_t token, IpcIo& io, IpcMsgHandler handler, void* arg,
                    const IpcContext* context) {
    auto msg = std::make_shared<IncomingMessage>();
    msg->code = call.code();
    msg->flag = call.oneway() ? LITEIPC_FLAG_ONEWAY : LITEIPC_FLAG_DEFAULT;
    msg->token = token;
    msg->service = service;
    msg->caller = call.caller();
    msg->call = &call;
    {
        std::lock_guard lock(g_messages_mutex);
        g_messages.emplace(msg.get(), msg);
    }
    const IncomingMessage* outer = std::exchange(t_current_message, msg.get());
    (void)handler(context, msg.get(), &io, arg);
    t_current_message = outer;
    std::lock_guard lock(msg->mutex);
    if (!msg->released) {
        msg->kept = call.defer();  // this worker waits in the service until it is released
        return LITEIPC_OK;
    }
    forget_message(msg.get());
    return msg->failed ? liteipc::kFailedReplyStatus : LITEIPC_OK;
}

// ---- reply buffers handed to the caller until FreeBuffer ----

namespace {

struct KeptReply {
    Reply reply;
};

std::mutex g_replies_mutex;
std::unordered_set<const void*> g_replies;

}  // namespace

uintptr_t keep_reply(liteipc::Reply answer, IpcIo* reply) {
    auto* kept = new KeptReply{std::move(answer)};
    {
        std::lock_guard lock(g_replies_mutex);
        g_replies.insert(kept);
    }
    if (reply != nullptr) set_reader(reply, kept->reply.reader());
    return reinterpret_cast<uintptr_t>(kept);
}

void run_death_handler(const IpcContext* context, uint32_t handle, IpcMsgHandler func, void* arg) {
    IncomingMessage msg;
    msg.type = kDeath;
    msg.code = DEATH_CODE;
    msg.token = handle;
    IpcIo io;
    IpcIoInitFromBuffer(&io, empty_message().data(), empty_message().size());
    const IncomingMessage* outer = std::exchange(t_current_message, &msg);
    (void)func(context, &msg, &io, arg);
    t_current_message = outer;
}

}  // namespace liteipc::capi

using namespace liteipc::capi;

extern "C" {

int32_t SendReply(const IpcContext* context, void* ipcMsg, IpcIo* reply) {
    (void)context;
    constexpr const char* what = "SendReply";
    struct FreeDataBuffers {
        IpcIo* io;
        ~FreeDataBuffers() { IpcIoFreeDataBuff(io); }
    } free_data_buffers{reply};
    if (reply != nullptr && !IpcIoAvailable(reply))
        return invalid(what, "`reply` is not an intact IpcIo written with IpcIoInit");
    auto msg = find_message(ipcMsg);
    if (msg == nullptr) return invalid(what, "not a request, or one answered or freed already");
    std::lock_guard lock(msg->mutex);
    if (msg->released || msg->call == nullptr) return invalid(what, "the request was answered or freed already");
    if (msg->flag != LITEIPC_FLAG_ONEWAY) {
        Call& call = *msg->call;
        std::span<const std::byte> message = empty_message();
        if (reply != nullptr) {
            auto sealed = liteipc::detail::seal_ipcio(reply, staging(), [&](size_t size) { return call.attach(size); });
            if (!sealed) return report(what, sealed.error());
            message = *sealed;
        }
        // LiteIPC's SendReply sends at once: the replier may close its fds when it returns.
        if (auto adopted = call.adopt_reply(message, true); !adopted) return report(what, adopted.error());
    }
    // A oneway request has nobody waiting: replying releases it.
    release_locked(*msg, false);
    forget_message(msg.get());
    return LITEIPC_OK;
}

int32_t FreeBuffer(const IpcContext* context, void* ptr) {
    (void)context;
    if (ptr == nullptr) return invalid("FreeBuffer", "null buffer");
    {
        std::lock_guard lock(g_replies_mutex);
        if (g_replies.erase(ptr) != 0) {
            delete static_cast<KeptReply*>(ptr);
            return LITEIPC_OK;
        }
    }
    if (auto msg = find_message(ptr)) {
        // A request freed without a reply: its caller gets LITEIPC_FAILED_REPLY now.
        std::lock_guard lock(msg->mutex);
        if (!msg->released) {
            if (msg->flag != LITEIPC_FLAG_ONEWAY)
                LITEIPC_LOG(info, "FreeBuffer: request %u from pid %u freed without a reply", msg->code, msg->caller.pid);
            release_locked(*msg, msg->flag != LITEIPC_FLAG_ONEWAY);
        }
        forget_message(msg.get());
        return LITEIPC_OK;
    }
    // The request of the handler running on this thread, released already (SendReply), or a
    // death notification.
    if (ptr == t_current_message) return LITEIPC_OK;
    return invalid("FreeBuffer", "not a reply buffer from SendRequest nor a request");
}

void IpcIoInitFromMsg(IpcIo* io, const void* msg) {
    if (io == nullptr) return;
    auto kept = find_message(msg);
    std::unique_lock<std::mutex> lock;
    if (kept != nullptr) lock = std::unique_lock(kept->mutex);
    if (kept == nullptr || kept->call == nullptr) {
        LITEIPC_LOG(warn, "IpcIoInitFromMsg: not a request, or one answered or freed already");
        liteipc::ipcio_init_reader(io, {}, {});
        io->flag = IPC_IO_OVERFLOW;
        return;
    }
    // A private copy, as the handler's `data` reads (see open_request); kept with the request.
    if (kept->copy.empty()) kept->copy.assign(kept->call->payload().begin(), kept->call->payload().end());
    liteipc::ipcio_init_reader(io, kept->copy, kept->call->request_options());
}

int32_t GetCode(const void* ipcMsg, uint32_t* code) {
    const IncomingMessage* msg = incoming(ipcMsg);
    if (msg == nullptr || code == nullptr) return invalid("GetCode", "null or unknown message");
    *code = msg->code;
    return LITEIPC_OK;
}

int32_t GetFlag(const void* ipcMsg, uint32_t* flag) {
    const IncomingMessage* msg = incoming(ipcMsg);
    if (msg == nullptr || flag == nullptr) return invalid("GetFlag", "null or unknown message");
    *flag = msg->flag;
    return LITEIPC_OK;
}

int32_t GetToken(const void* ipcMsg, uint32_t* token) {
    const IncomingMessage* msg = incoming(ipcMsg);
    if (msg == nullptr || token == nullptr) return invalid("GetToken", "null or unknown message");
    *token = msg->token;
    return LITEIPC_OK;
}

pid_t GetCallingTid(const void* ipcMsg) {
    const IncomingMessage* msg = incoming(ipcMsg);
    return msg ? static_cast<pid_t>(msg->caller.tid) : invalid("GetCallingTid", "null or unknown message");
}

pid_t GetCallingPid(const void* ipcMsg) {
    const IncomingMessage* msg = incoming(ipcMsg);
    return msg ? static_cast<pid_t>(msg->caller.pid) : invalid("GetCallingPid", "null or unknown message");
}

pid_t GetCallingUid(const void* ipcMsg) {
    const IncomingMessage* msg = incoming(ipcMsg);
    return msg ? static_cast<pid_t>(msg->caller.uid) : invalid("GetCallingUid", "null or unknown message");
}

pid_t GetCallingGid(const void* ipcMsg) {
    const IncomingMessage* msg = incoming(ipcMsg);
    return msg ? static_cast<pid_t>(msg->caller.gid) : invalid("GetCallingGid", "null or unknown message");
}

}  // extern "C"
