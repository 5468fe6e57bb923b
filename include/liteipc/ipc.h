// Calls between processes: services registered with the service manager, connections checked by
// the kernel, zero-copy request/reply and oneway calls over shared memory.
//
//   auto service = liteipc::Service::start(context, {.name = "demo.echo"}, [](liteipc::Call& call) {
//       call.reply().write_string(call.request().read_string_view());
//       return 0;
//   });
//   auto echo = liteipc::Connection::open(context, "demo.echo");
//   liteipc::Request request(*echo);
//   request.writer().write_string("hello");
//   auto reply = echo->call(1, request);        // reply->reader().read_string_view() == "hello"
//
// Identity: Call::caller() pid, uid and gid were stamped by the kernel when the client connected;
// tid is the client's own claim about its thread. A mediated service (ServiceOptions::mode) gets
// all four stamped by the kernel for each message. Timeouts: every blocking call takes one (0 means
// the context's default); a dead peer ends a pending call with Errc::dead_object, not a timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "liteipc/context.h"
#include "liteipc/export.h"
#include "liteipc/parcel.h"

namespace liteipc {

// Who may connect to a service. Pids granted with Service::allow_pid() may connect whatever the policy.
enum class Policy : uint32_t {
    same_uid = 0,   // the owner's uid (default)
    anyone = 1,
    uid_list = 2,   // uids added with Service::allow_uid()
    uid_range = 3,  // ServiceOptions::uid_min..uid_max
    pids = 4,       // only granted pids
};

struct Caller {
    uint32_t pid = 0;  // kernel-verified
    uint32_t uid = 0;  // kernel-verified: at connect, or at this message when `mediated`
    uint32_t gid = 0;  // kernel-verified: at connect, or at this message when `mediated`
    uint32_t tid = 0;  // the caller's claim about its own thread, kernel-verified when `mediated`
    PeerId peer;
    bool mediated = false;  // the kernel stamped pid, tid, uid and gid for this very message
    uint64_t connection = 0;  // the connection it came over: the kernel's id (CONN in liteipc status)
};

// How messages reach a service.
enum class Mode : uint32_t {
    // Peer to peer over shared memory: the kernel checks the policy and stamps the caller once, at
    // connect. The fastest path.
    direct = 0,
    // Each message passes a BPF program that stamps the sender (pid, tid, uid, gid) and re-checks
    // the policy: a withdrawn grant refuses the very next message. Visible to `liteipc monitor`.
    // Costs one BPF_PROG_RUN per message on the sender (about 1 us).
    mediated = 1,
    // A topic's service (Publisher, liteipc/topic.h): its clients are subscribers; samples go
    // through shared memory, the service answers only subscribe and unsubscribe.
    topic = 2,
    // A topic whose every publish passes the kernel's send program, which stamps the publisher's
    // pid and uid for each subscriber (TopicOptions::mediated).
    mediated_topic = 3,
};

class Call;
using CallHandler = std::function<int32_t(Call&)>;  // the status the caller sees in Reply::status()

// The interface a service of generated code serves (liteipc-idl, docs/IDL.md).
struct ServiceInterface {
    std::string name;            // "OHOS.IFoo"
    uint64_t hash = 0;           // this version's canonical form (kInterfaceHash)
    uint64_t contract_hash = 0;  // its frozen line's first version, which clients name (kContractHash)
    uint32_t version = 0;        // its frozen version number; 0: not frozen
};

struct ServiceOptions {
    std::string name;  // 1..255 printable bytes, no '/', '"' or backslash
    Policy policy = Policy::same_uid;
    uint32_t uid_min = 0, uid_max = 0;  // Policy::uid_range
    unsigned workers = 2;               // LiteIPC's SetMaxWorkThreadNum
    uint64_t reply_pool_bytes = 4u << 20;  // per connection: the largest reply it can hold at once
    std::chrono::nanoseconds spin = std::chrono::microseconds(20);  // idle workers poll this long, then sleep
    Mode mode = Mode::direct;
    // The interface it serves (a generated stub fills it in): what `liteipc list` shows and the
    // kernel holds clients to at connect. Empty: none declared, any client may connect.
    ServiceInterface interface{};
};

// Thread safety: the handler runs on the service's worker threads, several at once when
// workers > 1, so it must be thread-safe; start and stop a Service from one thread.
class LITEIPC_API Service {
public:
    // Registers the service and starts its workers. Connections are accepted as clients come.
    static Result<Service> start(Context& context, ServiceOptions options, CallHandler handler);

    Service(Service&&) noexcept;
    Service& operator=(Service&&) noexcept;
    ~Service();  // unregisters, stops the workers, drops every connection

    uint32_t handle() const;
    const std::string& name() const;
    Result<> allow_pid(uint32_t pid);  // LiteIPC's AddServiceAccess
    Result<> allow_uid(uint32_t uid);  // for Policy::uid_list
    // Withdraw what allow_pid / allow_uid gave. Connections stay open; a mediated service's kernel
    // refuses their next message (Errc::permission_denied), a direct service only their next connect.
    Result<> revoke_pid(uint32_t pid);
    Result<> revoke_uid(uint32_t uid);
    std::size_t connection_count() const;

    struct LITEIPC_HIDDEN Impl;

private:
    friend class Publisher;
    // Who may publish on a topic, registered with it (Publisher::create), and what ends a
    // subscription made over a connection when the connection ends (closed, or its client gone).
    struct LITEIPC_HIDDEN TopicRegistration {
        Policy policy;
        uint32_t uid_min, uid_max;
        std::function<void(uint64_t)> connection_ended;
        uint64_t slot_bytes = 0;  // the pool, for the kernel's bounds check of a mediated topic's stamps
        uint32_t samples = 0;
    };
    LITEIPC_HIDDEN static Result<Service> start(Context& context, ServiceOptions options, CallHandler handler,
                                                const TopicRegistration* topic);
    LITEIPC_HIDDEN Result<> allow_publisher(bool by_pid, uint32_t id);
    LITEIPC_HIDDEN explicit Service(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

struct ConnectOptions {
    uint64_t request_pool_bytes = 4u << 20;  // this client's payload pool for the connection
    uint32_t slots = 64;                     // calls in flight at once
    std::chrono::nanoseconds spin = std::chrono::microseconds(5);  // a caller polls this long, then sleeps
    std::chrono::milliseconds timeout{0};    // for connecting; 0: the context's default
    // The interface contract this client speaks (a generated proxy's kContractHash): the kernel
    // refuses the connect with Errc::interface_mismatch when the service declared another. 0: any.
    uint64_t contract_hash = 0;
};

class Reply;
class OnewayBatch;
class PendingReply;

// Thread safety: call and call_async may run on any number of threads at once, each getting its
// own reply; open, close and move a Connection from one thread. What a call returns (Reply,
// PendingReply, OnewayBatch) belongs to one thread at a time.
class LITEIPC_API Connection {
public:
    static Result<Connection> open(Context& context, std::string_view service_name, ConnectOptions options = {});
    // By handle, as a LiteIPC SvcIdentity names a service.
    static Result<Connection> open(Context& context, uint32_t handle, ConnectOptions options = {});

    Connection(Connection&&) noexcept;
    Connection& operator=(Connection&&) noexcept;
    ~Connection();

    // A request and its reply. `timeout` 0: the context's default.
    Result<Reply> call(uint32_t code, class Request& request, std::chrono::milliseconds timeout = {});
    // LITEIPC_FLAG_ONEWAY: returns once the request is queued.
    Result<> send(uint32_t code, class Request& request, std::chrono::milliseconds timeout = {});

    // A request published without waiting: many may be in flight from one thread (up to
    // ConnectOptions::slots), and the service may answer them in any order. Collect each reply
    // with PendingReply::wait, or learn that some are in from completion_fd(). `timeout` bounds the
    // wait for a free slot and is the deadline the service sees.
    Result<PendingReply> call_async(uint32_t code, class Request& request, std::chrono::milliseconds timeout = {});
    // An eventfd (owned by the connection) that becomes readable once a reply of an async call is in
    // or the service died: watch it with poll/epoll (or asio, libuv), read its 8 bytes to rearm it,
    // then collect the PendingReplys that are ready(). The first use starts a thread that sleeps on
    // the pending calls for it.
    Result<int> completion_fd();
    // call_async with a raw payload (the service reads Call::payload(), answers with reply_raw()).
    Result<PendingReply> call_async_raw(uint32_t code, std::span<const std::byte> payload,
                                        std::chrono::milliseconds timeout = {});

    // Oneway messages in batches: each written in place into one block of the request pool
    // (OnewayBatch::append), then published together with one ring update and at most one doorbell.
    // The service runs its handler once per message (a oneway Call of `code`, payload() the message),
    // in the order appended, and batches in the order sent, whatever its worker count. Waits for
    // pool space until the timeout, then Errc::no_memory.
    Result<OnewayBatch> begin_batch(uint64_t capacity_bytes, std::chrono::milliseconds timeout = {});
    // Waits for a free call slot until the timeout (the service is behind: backpressure), then
    // Errc::timed_out and the batch is dropped. Empty batches send nothing.
    Result<> send_batch(uint32_t code, OnewayBatch& batch, std::chrono::milliseconds timeout = {});

    // Raw zero-copy calls: `fill` writes the payload in place in the request pool; the reply's
    // payload is read in place too (Reply::payload()).
    Result<Reply> call_raw(uint32_t code, uint64_t size, const std::function<void(std::span<std::byte>)>& fill,
                           std::chrono::milliseconds timeout = {});

    uint32_t handle() const;
    PeerId service() const;
    bool alive() const;

    // Calls `callback` once, on the context's inbox thread, when this connection's service ends:
    // its process dies or closes its context, or it withdraws the service (destroys its Service)
    // while it lives on (DeathNotice::withdrawn). Pending and later calls then fail with
    // Errc::dead_object. If the connection has ended already, calls it at once on this thread.
    Result<DeathSubscription> on_death(DeathCallback callback);

    struct LITEIPC_HIDDEN Impl;
    // A mediated topic's subscription: the ring the kernel writes each publish's stamp into (read
    // by this process alone), owned by the connection; -1 for any other service.
    LITEIPC_HIDDEN int sample_stamps_fd() const;

private:
    friend class Request;
    LITEIPC_HIDDEN explicit Connection(std::shared_ptr<Impl> impl);
    static Result<Connection> open_handle(Context& context, uint32_t handle, std::string name, ConnectOptions options);
    std::shared_ptr<Impl> impl_;
};

// The reply to come of Connection::call_async.
// Thread safety: one thread at a time (hand it over, do not share it).
class LITEIPC_API PendingReply {
public:
    PendingReply();
    PendingReply(PendingReply&&) noexcept;
    PendingReply& operator=(PendingReply&&) noexcept;
    ~PendingReply();  // a reply never collected is given up: its slot returns once the service answers

    // The reply is in, or the service died: wait() returns at once.
    bool ready() const;
    // Waits up to `timeout` (0: the context's default). Errc::timed_out leaves the call pending (wait
    // again); Errc::dead_object when the service died; any other outcome ends the call.
    Result<Reply> wait(std::chrono::milliseconds timeout = {});
    explicit operator bool() const { return impl_ != nullptr; }

    struct LITEIPC_HIDDEN Impl;

private:
    friend class Connection;
    std::unique_ptr<Impl> impl_;
};

// Oneway messages being written in place into the request pool, sent with Connection::send_batch.
// Thread safety: one thread at a time.
class LITEIPC_API OnewayBatch {
public:
    OnewayBatch();
    OnewayBatch(OnewayBatch&&) noexcept;
    OnewayBatch& operator=(OnewayBatch&&) noexcept;
    ~OnewayBatch();  // an unsent batch gives its block back

    // Room for the next message of `size` bytes, to be filled before send_batch; an empty span
    // when the batch has no room left for it (send it and begin another).
    std::span<std::byte> append(uint64_t size);
    std::size_t count() const;
    // Room left for one more message's bytes.
    uint64_t room() const;

    struct LITEIPC_HIDDEN Impl;

private:
    friend class Connection;
    std::unique_ptr<Impl> impl_;
};

// A request being written: a Parcel writer whose large data buffers go straight into the
// connection's request pool (zero-copy), freed when the call no longer needs them.
// Thread safety: one thread at a time.
class LITEIPC_API Request : private PoolAllocator {
public:
    explicit Request(Connection& connection);
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;
    ~Request();  // gives back the buffers of a request that was never sent

    Writer& writer() { return writer_; }
    // Sends `sealed`, a message finished elsewhere (a LiteIPC IpcIo), instead of the writer's.
    Result<> adopt(std::span<const std::byte> sealed);
    // A token the service reads with Call::token() (LiteIPC's SvcIdentity.token).
    void set_token(uint32_t token) { token_ = token; }
    // A block of the request pool for a data buffer an adopted message refers to (written here,
    // read in place by the service), freed with the call; nullopt when the pool is full.
    std::optional<PoolSpan> attach(size_t size) { return allocate(size); }

private:
    friend class Connection;
    Result<std::span<const std::byte>> message();
    std::optional<PoolSpan> allocate(size_t size) override;
    void release_attachments();

    std::shared_ptr<Connection::Impl> connection_;
    std::array<uint64_t, kMaxObjects> attachments_{};
    size_t attachment_count_ = 0;
    uint32_t token_ = 0;
    size_t adopted_size_ = 0;  // > 0: buffer_ holds an adopted message
    alignas(8) std::array<std::byte, 16 * 1024> buffer_;
    Writer writer_;
};

// A reply, read in place; gives its buffers back to the service when destroyed.
// Thread safety: one thread at a time; its payload stays valid and unchanged until it is destroyed.
class LITEIPC_API Reply {
public:
    Reply();
    Reply(Reply&&) noexcept;
    Reply& operator=(Reply&&) noexcept;
    ~Reply();

    int32_t status() const;
    // The reply as a Parcel; large buffers resolve into the service's reply pool.
    Reader reader() const;
    // The raw payload (call_raw).
    std::span<const std::byte> payload() const;

    struct LITEIPC_HIDDEN Impl;

private:
    friend class Connection;
    std::unique_ptr<Impl> impl_;
};

// The reply status a caller sees when the service dropped its request without answering it
// (LiteIPC's failed reply; IPC_INVOKER_FAILED_REPLY in the newer C API).
inline constexpr int32_t kFailedReplyStatus = -34;

// A call kept past its handler (Call::defer): the caller keeps waiting, the request stays
// readable, and any thread answers it later. Destroyed unanswered, it fails the call
// (kFailedReplyStatus). The service's worker that took the call waits for it, so a service
// stops only once its kept calls are answered or dropped.
// Thread safety: one thread at a time; it may be handed to any thread and answered there.
class LITEIPC_API PendingCall {
public:
    PendingCall() = default;
    PendingCall(PendingCall&&) noexcept = default;
    PendingCall& operator=(PendingCall&& other) noexcept;
    ~PendingCall() { fail(); }

    explicit operator bool() const { return state_ != nullptr; }
    // The call: request(), reply(), reply_raw() as in its handler. Valid until answered.
    Call& call() const;
    // Sends call().reply() (or its raw reply) with `status`; the call is over.
    void reply(int32_t status = 0);
    // The caller gets kFailedReplyStatus now; the call is over. Nothing when answered already.
    void fail();

    struct LITEIPC_HIDDEN State;

private:
    friend class Call;
    explicit PendingCall(std::shared_ptr<State> state) : state_(std::move(state)) {}
    void finish(bool failed, int32_t status);
    std::shared_ptr<State> state_;
};

// One incoming call, as a service handler sees it.
// Thread safety: the handler's thread only, unless kept with defer() as a PendingCall.
class LITEIPC_API Call {
public:
    uint32_t code() const { return code_; }
    uint32_t flags() const { return flags_; }
    uint32_t token() const { return token_; }
    bool oneway() const;
    const Caller& caller() const { return caller_; }
    Reader& request() { return request_; }
    // How request() resolves buffers and fds, for a reader over a private copy of payload().
    const ReaderOptions& request_options() const { return request_options_; }
    std::span<const std::byte> payload() const { return payload_; }  // the raw request payload
    Writer& reply() { return reply_; }
    // When the caller gives up, on std::chrono::steady_clock (CLOCK_MONOTONIC), as the caller stated
    // it: nullopt when it waits without a deadline. A service that forwards the call elsewhere passes
    // it on; it is the caller's word, so it bounds nothing the service must enforce.
    std::optional<std::chrono::steady_clock::time_point> deadline() const {
        if (deadline_ns_ == 0) return std::nullopt;
        return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns_));
    }

    // A raw reply payload written in place in the reply pool, sent instead of reply().
    Result<std::span<std::byte>> reply_raw(uint64_t size);
    // Sends `sealed`, a message finished elsewhere (a LiteIPC IpcIo), instead of reply(); its fds
    // and service references travel as reply()'s do. With `duplicate_fds` its fds are duplicated
    // now (closed once the reply went), so the caller may close its own at once, as after
    // LiteIPC's SendReply.
    Result<> adopt_reply(std::span<const std::byte> sealed, bool duplicate_fds = false);
    // A block of the reply pool for a data buffer a raw reply refers to, freed with the reply;
    // nullopt when the pool is full or the call is oneway.
    std::optional<PoolSpan> attach(size_t size) { return reply_pool_ ? reply_pool_->allocate(size) : std::nullopt; }
    // Keeps the call past the handler's return (see PendingCall). Once per call.
    PendingCall defer();

    // What the service's worker gives a call and reads back of it once the handler returned.
    struct LITEIPC_HIDDEN Worker;

private:
    friend struct Worker;
    LITEIPC_HIDDEN explicit Call(const Worker& worker);
    LITEIPC_HIDDEN void close_reply_fd_copies();

    uint32_t code_;
    uint32_t flags_;
    uint32_t token_;
    Caller caller_;
    std::span<const std::byte> payload_;
    ReaderOptions request_options_;
    Reader request_;
    Writer reply_;
    const Worker* worker_;  // outlives the call: the worker waits for a kept call to be answered
    PoolAllocator* reply_pool_;
    std::span<std::byte> reply_buffer_;  // reply()'s buffer, which adopt_reply() fills instead
    size_t adopted_reply_size_ = 0;
    std::vector<int> reply_fd_copies_;  // adopt_reply(..., true): closed once the reply went
    bool replied_raw_ = false;
    uint64_t deadline_ns_ = 0;  // CLOCK_MONOTONIC ns, 0: none
    std::shared_ptr<PendingCall::State> pending_;  // set by defer()
};

}  // namespace liteipc
