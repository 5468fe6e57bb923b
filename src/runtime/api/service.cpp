// The service side: registration with the service manager, accepting kernel-approved
// connections, dispatching calls on worker threads, dropping a client when the kernel says it died.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "transport/carried_objects.h"
#include "transport/channel.h"
#include "transport/fd_channel.h"
#include "api/call_worker.h"
#include "api/context_impl.h"
#include "liteipc/ipc.h"
#include "common/log.h"
#include "api/service_stats.h"

namespace liteipc {
using detail::ControlOp;
using detail::ControlRequest;

// What a kept call and the worker waiting for it share.
struct PendingCall::State {
    Call* call = nullptr;
    std::mutex mutex;
    std::condition_variable answered;
    bool done = false;
    bool failed = false;
    int32_t status = 0;
};

namespace detail {
// What a worker needs of the connection a request came on; lives as long as the channel.
struct ConnectionData {
    Caller caller;
    std::shared_ptr<FdChannel> fds = std::make_shared<FdChannel>();  // also the doorbell
};
}  // namespace detail

namespace {

// Large reply buffers go into the connection's reply pool, freed with the reply.
class ReplyPool final : public PoolAllocator {
public:
    explicit ReplyPool(detail::ReplyWriter& out) : out_(out) {}
    std::optional<PoolSpan> allocate(size_t size) override {
        auto block = out_.allocate_attachment(size);
        if (!block) return std::nullopt;
        return PoolSpan{block->first, block->second};
    }

private:
    detail::ReplyWriter& out_;
};

}  // namespace

struct Service::Impl : std::enable_shared_from_this<Service::Impl> {
    std::shared_ptr<Context::Impl> context;
    ServiceOptions options;
    CallHandler handler;
    uint32_t handle = 0;
    std::unique_ptr<detail::Dispatcher> dispatcher;
    detail::ServiceTraffic traffic;  // the data-plane counters the loader gave us

    // A client's connection, from its accept until the client goes or the service stops.
    struct AcceptedConnection {
        std::shared_ptr<detail::ChannelServer> channel;
        std::shared_ptr<detail::FdChannel> fds;  // its socket: our hangup ends the connection for the client
        DeathSubscription death;
    };
    mutable std::mutex mutex;
    std::map<uint64_t, AcceptedConnection> connections;  // by conn_id

    // Connects arrive on the inbox thread; accepting waits for the client's half, so it runs here.
    std::thread acceptor;
    std::condition_variable queued;
    std::deque<liteipc_connect_record> pending;
    bool stopping = false;
    std::function<void(uint64_t)> connection_ended;  // a topic's: set before the first connect

    ~Impl() { stop(); }

    void stop() {
        if (handle != 0) context->remove_connect_listener(handle);
        {
            std::lock_guard lock(mutex);
            stopping = true;
        }
        queued.notify_all();
        if (acceptor.joinable()) acceptor.join();
        hang_up_all();
        if (dispatcher) dispatcher->stop();
        std::map<uint64_t, AcceptedConnection> gone;
        {
            std::lock_guard lock(mutex);
            gone.swap(connections);
        }
        gone.clear();  // death subscriptions end outside the lock
        if (handle != 0 && context->alive(context->self)) {
            ControlRequest request{};
            request.op = ControlOp::unregister_service;
            request.handle = handle;
            (void)context->control(request, std::chrono::milliseconds(1000));
        }
        handle = 0;
    }

    // Withdrawing the service is its death to its clients: each hears the hangup of its connection's
    // socket at once (its pending calls end with dead_object), before we wait for running handlers.
    // Nothing more is taken from the rings.
    void hang_up_all() {
        std::lock_guard lock(mutex);
        for (auto& [conn_id, connection] : connections) {
            connection.channel->mark_dead();
            if (connection.fds->valid()) ::shutdown(connection.fds->socket(), SHUT_RDWR);
        }
    }

    void accept_loop() {
        for (;;) {
            liteipc_connect_record record;
            {
                std::unique_lock lock(mutex);
                queued.wait(lock, [&] { return stopping || !pending.empty(); });
                if (stopping) return;
                record = pending.front();
                pending.pop_front();
            }
            if (auto ok = accept(record); !ok) {
                LITEIPC_LOG(warn, "service '%s': connection %llu from pid %u not set up: %s", options.name.c_str(),
                            static_cast<unsigned long long>(record.conn_id), record.client_pid,
                            ok.error().describe().c_str());
                // The client may still wait for our half: give the connection up, so that it hears at once.
                ControlRequest give_up{};
                give_up.op = ControlOp::close_channel;
                give_up.conn_id = record.conn_id;
                (void)context->control(give_up, std::chrono::milliseconds(1000));
            }
        }
    }

    Result<> accept(const liteipc_connect_record& record) {
        auto pool = detail::create_pool("liteipc-reply", options.reply_pool_bytes);
        if (!pool) return std::unexpected(pool.error());
        auto reply_pool = detail::map_writer_pool(pool->fd.get());
        if (!reply_pool) return std::unexpected(reply_pool.error());
        ControlRequest request{};
        request.op = ControlOp::accept_channel;
        request.conn_id = record.conn_id;
        const int half[] = {pool->fd.get()};
        auto accepted = context->control_once(request, half, context->options.default_timeout);
        if (!accepted) return std::unexpected(accepted.error());
        // A mediated connection comes with its message ring: the kernel's record of each request.
        const bool mediated = accepted->reply.mode == LITEIPC_SVC_MODE_MEDIATED;
        if (mediated != (options.mode == Mode::mediated))
            return fail(Errc::malformed, "liteipc-loader set up the connection in another mode than registered");
        if (accepted->fds.size() != (mediated ? 4u : 3u))
            return fail(Errc::malformed, "liteipc-loader sent an incomplete channel");
        auto channel =
            detail::ChannelServer::attach(accepted->fds[0].get(), accepted->fds[1].get(), std::move(*reply_pool));
        if (!channel) return std::unexpected(channel.error());
        if (mediated) {
            auto ring = detail::MessageRing::map(accepted->fds[3].get());
            if (!ring) return std::unexpected(ring.error());
            (*channel)->set_message_ring(std::move(*ring));
        }

        // Identity from the kernel's connect record, never from the client.
        auto data = std::make_shared<detail::ConnectionData>();
        Caller* caller = &data->caller;
        caller->pid = record.client_pid;
        caller->uid = record.client_uid;
        caller->gid = record.client_gid;
        caller->peer = PeerId{record.client_slot, record.client_generation, record.client_pid};
        caller->connection = record.conn_id;
        data->fds->attach(std::move(accepted->fds[2]));
        (*channel)->set_data(data);

        std::weak_ptr<Impl> weak = weak_from_this();
        const uint64_t conn_id = record.conn_id;
        auto death = context->on_death(caller->peer, [weak, conn_id](const DeathNotice&) {
            if (auto self = weak.lock()) self->client_gone(conn_id);
        });
        if (!death) return std::unexpected(death.error());
        {
            std::lock_guard lock(mutex);
            connections[conn_id] = AcceptedConnection{*channel, data->fds, std::move(*death)};
        }
        // The client wakes our workers through an eventfd of the connection's own, sent over the
        // connection's socket once we serve it; the socket's hangup is the client's close. The hangup runs
        // on a worker, which stop() joins before this object goes: `this` outlives the call, and the
        // worker never becomes the last owner (which would make it join itself).
        auto doorbell = detail::create_doorbell();
        if (!doorbell) {
            drop(conn_id);
            return std::unexpected(doorbell.error());
        }
        auto added = dispatcher->add(*channel, doorbell->get(), data->fds, [this, conn_id] { drop(conn_id); });
        if (!added) {
            drop(conn_id);
            return std::unexpected(added.error());
        }
        // Once sent, the client's copy keeps the eventfd (and its epoll entry) alive: ours goes.
        const int sent_fds[] = {doorbell->get()};
        if (auto sent = data->fds->send(detail::kDoorbellBatch, sent_fds); !sent) {
            drop(conn_id);
            return std::unexpected(sent.error());
        }
        return {};
    }

    // add_access / remove_access (a pid) or add_uid / remove_uid (a uid for Policy::uid_list),
    // through the service manager.
    Result<> grant(ControlOp op, uint32_t id) {
        ControlRequest request{};
        request.op = op;
        request.handle = handle;
        request.id = id;
        auto granted = context->control(request);
        if (!granted) return std::unexpected(granted.error());
        return {};
    }

    // The kernel says the client died: what it published before is served (its request pool stays
    // mapped here until then), then its connection goes, as after a hangup.
    void client_gone(uint64_t conn_id) {
        std::shared_ptr<detail::ChannelServer> channel;
        {
            std::lock_guard lock(mutex);
            auto it = connections.find(conn_id);
            if (it == connections.end()) return;
            channel = it->second.channel;
        }
        if (!dispatcher->close(channel.get())) drop(conn_id);  // not served yet: nothing to serve
    }

    // The client died or closed the connection: its connection and everything it held go.
    void drop(uint64_t conn_id) {
        AcceptedConnection gone;
        {
            std::lock_guard lock(mutex);
            auto it = connections.find(conn_id);
            if (it == connections.end()) return;
            gone = std::move(it->second);
            connections.erase(it);
        }
        gone.channel->mark_dead();
        dispatcher->remove(gone.channel.get());
        if (connection_ended) connection_ended(conn_id);
        LITEIPC_LOG(debug, "service '%s': connection %llu dropped", options.name.c_str(),
                    static_cast<unsigned long long>(conn_id));
    }

    // A kept call: this worker waits, the request mapped and the call alive, until it is answered
    // or dropped. Returns the status the caller gets.
    static int32_t await_answer(PendingCall::State& state) {
        std::unique_lock lock(state.mutex);
        state.answered.wait(lock, [&] { return state.done; });
        return state.failed ? kFailedReplyStatus : state.status;
    }

    int32_t dispatch(const detail::ActiveRequest& request, detail::ReplyWriter& out) {
        const detail::ConnectionData& connection = *request.connection_data;
        Caller caller = connection.caller;
        if (const liteipc_message_record* stamped = request.stamped) {
            // Mediated: the kernel stamped this very message (the connection was checked to be the
            // sender's, so the PeerId from the connect still names it).
            caller.pid = stamped->pid;
            caller.tid = stamped->tid;
            caller.uid = stamped->uid;
            caller.gid = stamped->gid;
            caller.mediated = true;
        } else {
            caller.tid = request.sender_tid;
        }
        // The fds the client sent ahead; the call owns those the handler does not take.
        std::vector<int> fds;
        if (request.fd_count > 0) {
            auto received = connection.fds->receive(request.fd_batch, request.fd_count,
                                                   detail::Deadline::after(std::chrono::seconds(1)));
            if (!received) {
                LITEIPC_LOG(warn, "service '%s', code %u from pid %u: %s", options.name.c_str(), request.code,
                            caller.pid, received.error().describe().c_str());
                return -EBADMSG;
            }
            for (auto& fd : *received) fds.push_back(fd.release());
        }
        // Replies are written here first; only their large buffers go to the pool directly.
        thread_local std::array<std::byte, kMaxMessageSize> reply_buffer;
        ReplyPool reply_pool(out);
        ReaderOptions reader_options;
        reader_options.peer_pool = request.peer_pool;
        reader_options.fds = fds;
        const Call::Worker worker{request.code, request.flags, request.token, caller, request.payload, reader_options,
                                  reply_buffer, request.oneway() ? nullptr : &reply_pool, &out, request.deadline_ns};
        Call call = worker.start();
        int32_t status = handler(call);
        if (const auto& kept = Call::Worker::pending(call)) status = await_answer(*kept);
        detail::close_untaken(fds);
        struct CloseCopies {
            Call& call;
            ~CloseCopies() { Call::Worker::close_reply_fd_copies(call); }
        } close_copies{call};  // once the reply went, or did not
        if (status == kFailedReplyStatus) return status;  // nothing of the reply goes
        if (call.oneway() || Call::Worker::replied_raw(call)) return status;
        const auto adopted = Call::Worker::adopted_reply(call);
        auto message = adopted ? Result<std::span<const std::byte>>(*adopted) : call.reply().finish();
        if (!message) {
            LITEIPC_LOG(warn, "service '%s', code %u: reply not sent: %s", options.name.c_str(), request.code,
                        message.error().describe().c_str());
            return -EMSGSIZE;
        }
        detail::CarriedObjects carried = detail::carried_objects(*message);
        if (auto granted = detail::grant_references(*context, carried.services, caller.pid); !granted) return -EPERM;
        if (!carried.fds.empty()) {
            if (auto sent = connection.fds->send(request.call_sequence, carried.fds); !sent) {
                LITEIPC_LOG(warn, "service '%s', code %u: reply fds not sent: %s", options.name.c_str(), request.code,
                            sent.error().describe().c_str());
                return -EBADF;
            }
            out.set_fds(static_cast<uint32_t>(carried.fds.size()), request.call_sequence);
        }
        if (auto written = out.write(*message); !written) {
            LITEIPC_LOG(warn, "service '%s', code %u: reply not sent: %s", options.name.c_str(), request.code,
                        written.error().describe().c_str());
            traffic.count_lost_reply(written.error().code, context->alive(caller.peer));
            return -ENOMEM;
        }
        traffic.count_reply_bytes(message->size());
        return status;
    }
};

Service::Service(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Service::Service(Service&&) noexcept = default;
Service& Service::operator=(Service&&) noexcept = default;
Service::~Service() = default;

Result<Service> Service::start(Context& context, ServiceOptions options, CallHandler handler) {
    if (options.mode == Mode::topic || options.mode == Mode::mediated_topic) return fail(Errc::invalid_argument, "a topic is registered by Publisher::create");
    return start(context, std::move(options), std::move(handler), nullptr);
}

Result<Service> Service::start(Context& context, ServiceOptions options, CallHandler handler,
                               const TopicRegistration* topic) {
    if (!handler) return fail(Errc::invalid_argument, "service without a handler");
    if (options.name.empty() || options.name.size() >= LITEIPC_NAME_MAX)
        return fail(Errc::invalid_argument, "service name must be 1..255 bytes");
    if (options.interface.name.size() >= LITEIPC_NAME_MAX)
        return fail(Errc::invalid_argument, "interface name must be 0..255 bytes");
    auto impl = std::make_shared<Impl>();
    impl->context = context.impl().shared_from_this();
    impl->options = std::move(options);
    impl->handler = std::move(handler);
    if (topic) impl->connection_ended = topic->connection_ended;
    Impl* raw = impl.get();
    impl->dispatcher = std::make_unique<detail::Dispatcher>(
        [raw](const detail::ActiveRequest& request, detail::ReplyWriter& out) {
            int32_t status = raw->dispatch(request, out);
            raw->traffic.count_message(request.oneway(), request.payload.size(), status);
            return status;
        },
        detail::DispatcherOptions{.workers = impl->options.workers, .spin = impl->options.spin});
    if (auto started = impl->dispatcher->start(); !started) return std::unexpected(started.error());
    // A connection holds one fd here (its socket): take every fd the hard limit allows.
    if (rlimit fds{}; ::getrlimit(RLIMIT_NOFILE, &fds) == 0 && fds.rlim_cur < fds.rlim_max) {
        fds.rlim_cur = fds.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &fds) != 0)
            LITEIPC_LOG(info, "service '%s': could not raise the fd limit to %llu", impl->options.name.c_str(),
                        static_cast<unsigned long long>(fds.rlim_max));
    }
    impl->acceptor = std::thread([raw] { raw->accept_loop(); });

    ControlRequest request{};
    request.op = ControlOp::register_service;
    std::memcpy(request.name, impl->options.name.data(), impl->options.name.size());
    request.policy = static_cast<uint32_t>(impl->options.policy);
    request.uid_min = impl->options.uid_min;
    request.uid_max = impl->options.uid_max;
    request.mode = static_cast<uint32_t>(impl->options.mode);
    if (topic) {
        request.publisher_policy = static_cast<uint32_t>(topic->policy);
        request.publisher_uid_min = topic->uid_min;
        request.publisher_uid_max = topic->uid_max;
        request.topic_slot_bytes = topic->slot_bytes;
        request.topic_samples = topic->samples;
    }
    const ServiceInterface& interface = impl->options.interface;
    request.contract_hash = interface.contract_hash;
    request.interface_hash = interface.hash;
    request.interface_version = interface.version;
    std::memcpy(request.interface_name, interface.name.data(), interface.name.size());
    // A client may connect the moment the name exists, before the loader's answer tells us our
    // handle: the context keeps such connect records until the listener below takes them.
    struct RegistrationUnderWay {
        Context::Impl& context;
        explicit RegistrationUnderWay(Context::Impl& c) : context(c) { context.begin_registration(); }
        ~RegistrationUnderWay() { context.end_registration(); }
    } under_way(*impl->context);
    auto registered = impl->context->control(request);
    if (!registered) return std::unexpected(registered.error());
    impl->handle = registered->reply.handle;
    // Before any connection is accepted (the listener below): workers count into it unlocked.
    if (registered->fds.size() == 1) {
        auto traffic = detail::ServiceTraffic::attach(registered->fds[0].get());
        if (traffic) impl->traffic = std::move(*traffic);
        else LITEIPC_LOG(warn, "service '%s': traffic counters not mapped: %s", impl->options.name.c_str(),
                         traffic.error().describe().c_str());
    }
    std::weak_ptr<Impl> weak = impl;
    impl->context->set_connect_listener(impl->handle, [weak](const liteipc_connect_record& record) {
        if (auto self = weak.lock()) {
            std::lock_guard lock(self->mutex);
            self->pending.push_back(record);
            self->queued.notify_one();
        }
    });
    return Service(std::move(impl));
}

uint32_t Service::handle() const { return impl_->handle; }
const std::string& Service::name() const { return impl_->options.name; }

std::size_t Service::connection_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->connections.size();
}

Result<> Service::allow_pid(uint32_t pid) { return impl_->grant(ControlOp::add_access, pid); }
Result<> Service::allow_uid(uint32_t uid) { return impl_->grant(ControlOp::add_uid, uid); }
Result<> Service::allow_publisher(bool by_pid, uint32_t id) {
    return impl_->grant(by_pid ? ControlOp::add_publisher_pid : ControlOp::add_publisher_uid, id);
}
Result<> Service::revoke_pid(uint32_t pid) { return impl_->grant(ControlOp::remove_access, pid); }
Result<> Service::revoke_uid(uint32_t uid) { return impl_->grant(ControlOp::remove_uid, uid); }

// ---- Call ----

Call::Call(const Worker& worker)
    : code_(worker.code), flags_(worker.flags), token_(worker.token), caller_(worker.caller), payload_(worker.payload),
      request_options_(worker.reader_options), request_(worker.payload, worker.reader_options),
      reply_(worker.reply_buffer, worker.reply_pool), worker_(&worker), reply_pool_(worker.reply_pool),
      reply_buffer_(worker.reply_buffer), deadline_ns_(worker.deadline_ns) {}

Result<> Call::adopt_reply(std::span<const std::byte> sealed, bool duplicate_fds) {
    if (sealed.size() > reply_buffer_.size()) return fail(Errc::invalid_argument, "reply larger than a message");
    auto layout = MessageLayout::parse(sealed);
    if (!layout) return std::unexpected(layout.error());
    close_reply_fd_copies();
    std::memcpy(reply_buffer_.data(), sealed.data(), sealed.size());
    adopted_reply_size_ = sealed.size();
    if (!duplicate_fds) return {};
    // Each fd object of the copy names a duplicate from now on.
    const std::span<const std::byte> copy(reply_buffer_.data(), sealed.size());
    for (size_t i = 0; i < layout->object_count; ++i) {
        const WireObject object = layout->object(copy, i);
        if (object.type != OBJ_FD) continue;
        WireFd fd = object.as<WireFd>();
        fd.fd = ::fcntl(fd.fd, F_DUPFD_CLOEXEC, 0);
        if (fd.fd < 0) {
            adopted_reply_size_ = 0;
            close_reply_fd_copies();
            return fail_errno("duplicating a reply fd", Errc::invalid_argument);
        }
        reply_fd_copies_.push_back(fd.fd);
        const size_t position = sizeof(MessageHeader) + layout->object_offsets[i] + offsetof(WireObject, body);
        std::memcpy(reply_buffer_.data() + position, &fd, sizeof fd);
    }
    return {};
}

void Call::close_reply_fd_copies() {
    for (int fd : reply_fd_copies_) ::close(fd);
    reply_fd_copies_.clear();
}

bool Call::oneway() const { return (flags_ & detail::kFlagOneway) != 0; }

PendingCall Call::defer() {
    if (pending_) {
        LITEIPC_LOG(warn, "call %u: kept twice; the second PendingCall is empty", code_);
        return PendingCall();
    }
    pending_ = std::make_shared<PendingCall::State>();
    pending_->call = this;
    return PendingCall(pending_);
}

// ---- PendingCall ----

PendingCall& PendingCall::operator=(PendingCall&& other) noexcept {
    if (this != &other) {
        fail();
        state_ = std::move(other.state_);
    }
    return *this;
}

Call& PendingCall::call() const { return *state_->call; }

void PendingCall::reply(int32_t status) { finish(false, status); }
void PendingCall::fail() { finish(true, kFailedReplyStatus); }

void PendingCall::finish(bool failed, int32_t status) {
    if (!state_) return;
    const std::shared_ptr<State> state = std::move(state_);
    {
        std::lock_guard lock(state->mutex);
        if (state->done) return;
        state->done = true;
        state->failed = failed;
        state->status = status;
    }
    state->answered.notify_one();
}

Result<std::span<std::byte>> Call::reply_raw(uint64_t size) {
    auto space = worker_->reply_writer->allocate(size);
    if (space) replied_raw_ = true;
    return space;
}

}  // namespace liteipc
