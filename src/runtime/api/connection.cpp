// The client side of a service: connect through the kernel, set the channel up through the
// loader, call over shared memory; the kernel's death record fails pending calls at once.

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "transport/carried_objects.h"
#include "transport/channel.h"
#include "transport/fd_channel.h"
#include "api/context_impl.h"
#include "liteipc/ipc.h"
#include "common/log.h"

namespace liteipc {
using detail::ControlOp;
using detail::ControlRequest;

struct Connection::Impl {
    std::shared_ptr<Context::Impl> context;
    std::string name;
    uint32_t handle = 0;
    uint64_t conn_id = 0;
    PeerId service;
    detail::ChannelClient channel;
    detail::FdChannel fds;
    detail::UniqueFd sample_stamps;  // a mediated topic's: the kernel's stamp of each publish to us
    std::atomic<uint64_t> next_fd_batch{1};
    DeathSubscription death;

    pid_t owner = ::getpid();

    ~Impl() {
        death.reset();
        // The service hears the close at once, as a hangup on the connection's socket, even while a
        // forked child still holds a copy of it. A forked child's copy of this object says nothing.
        // Our own shutdown is no hangup of the service's: stop watching first.
        if (owner == ::getpid() && fds.valid()) {
            context->unwatch_hangup(conn_id, fds.socket());
            ::shutdown(fds.socket(), SHUT_RDWR);
        }
        ControlRequest request{};
        request.op = ControlOp::close_channel;
        request.conn_id = conn_id;
        if (context->alive(context->self)) (void)context->control(request, std::chrono::milliseconds(1000));
    }

    detail::Deadline deadline(std::chrono::milliseconds timeout) const {
        return detail::Deadline::after(timeout.count() > 0 ? timeout : context->options.default_timeout);
    }

    // A call to a service whose death the process table already shows fails at once.
    Result<> check_alive() {
        if (channel.dead() || !context->alive(service)) {
            channel.mark_dead();
            LITEIPC_LOG(info, "call to '%s' (pid %u): the service is dead", name.c_str(), service.pid);
            return fail(Errc::dead_object, "service '" + name + "' (pid " + std::to_string(service.pid) + ") is dead");
        }
        return {};
    }

    Result<Reply> finish_call(Result<detail::ReceivedReply> outcome, const std::shared_ptr<Impl>& self, uint32_t code,
                              detail::Deadline deadline);
    // Passes the message's service references and sends its fds ahead of it; fills the options
    // that announce the fds.
    Result<> pass_objects(std::span<const std::byte> message, detail::CallOptions& options);
};

struct Reply::Impl {
    detail::ReceivedReply reply;
    std::shared_ptr<Connection::Impl> connection;
    std::vector<int> fds;  // delivered with the reply; the reply owns those not taken
    ~Impl() { detail::close_untaken(fds); }
};


namespace {

Error connect_refused(int result, const std::string& name, uint32_t handle) {
    switch (-result) {
        case EPERM: return {Errc::permission_denied, EPERM, "the policy of service '" + name + "' refuses this process"};
        case ENOENT: return {Errc::not_found, ENOENT, "service '" + name + "' (handle " + std::to_string(handle) + ") is gone"};
        case EOWNERDEAD: return {Errc::dead_object, EOWNERDEAD, "the process serving '" + name + "' is dead"};
        case ENOSPC: return {Errc::no_memory, ENOSPC, "connection table or the service's inbox is full"};
        case EDQUOT: return {Errc::quota_exceeded, EDQUOT, "this uid holds its quota of connections"};
        case EACCES:
            return {Errc::permission_denied, EACCES,
                    "the publisher policy of topic '" + name + "' does not admit the process that holds its name"};
        case EPROTO:
            return {Errc::interface_mismatch, EPROTO,
                    "service '" + name + "' serves another interface than this client speaks (see liteipc list)"};
        default: return {Errc::kernel, -result, "connect to '" + name + "' refused"};
    }
}

}  // namespace

Connection::Connection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

Result<Connection> Connection::open(Context& context, std::string_view service_name, ConnectOptions options) {
    if (service_name.empty() || service_name.size() >= LITEIPC_NAME_MAX)
        return fail(Errc::invalid_argument, "service name must be 1..255 bytes");
    // The service manager names the handle.
    ControlRequest lookup{};
    lookup.op = ControlOp::lookup;
    std::memcpy(lookup.name, service_name.data(), service_name.size());
    auto found = context.impl().control(lookup);
    if (!found) return std::unexpected(found.error());
    return open_handle(context, found->reply.handle, std::string(service_name), options);
}

Result<Connection> Connection::open(Context& context, uint32_t handle, ConnectOptions options) {
    return open_handle(context, handle, "handle " + std::to_string(handle), options);
}

Result<Connection> Connection::open_handle(Context& context, uint32_t handle, std::string name,
                                           ConnectOptions options) {
    auto impl = std::make_shared<Impl>();
    impl->context = context.impl().shared_from_this();
    impl->name = std::move(name);
    impl->handle = handle;
    Context::Impl& ctx = *impl->context;
    auto timeout = options.timeout.count() > 0 ? options.timeout : ctx.options.default_timeout;

    // ...the kernel decides whether this process may connect and tells the service.
    auto granted = ctx.kernel().connect(impl->handle, options.contract_hash);
    if (!granted) return std::unexpected(granted.error());
    const liteipc_connect_ctl& connect = *granted;
    if (connect.result != 0) {
        Error refused = connect_refused(connect.result, impl->name, impl->handle);
        LITEIPC_LOG(info, "connect: %s", refused.message.c_str());
        return std::unexpected(refused);
    }
    impl->conn_id = connect.conn_id;
    const liteipc_proc* owner = ctx.proc(connect.service_slot);
    impl->service = PeerId{connect.service_slot, connect.service_generation, owner ? owner->tgid : 0};

    // Our half of the channel, mapped and sealed before anyone else sees it.
    auto ctrl = detail::create_ctrl_region(options.slots);
    if (!ctrl) return std::unexpected(ctrl.error());
    auto pool = detail::create_pool("liteipc-request", options.request_pool_bytes);
    if (!pool) return std::unexpected(pool.error());
    auto request_pool = detail::map_writer_pool(pool->fd.get());
    if (!request_pool) return std::unexpected(request_pool.error());
    ControlRequest open{};
    open.op = ControlOp::open_channel;
    open.conn_id = impl->conn_id;
    const int half[] = {ctrl->get(), pool->fd.get()};
    auto opened = ctx.control_once(open, half, timeout);
    if (!opened) return std::unexpected(opened.error());
    const std::size_t expected_fds = opened->reply.mode == LITEIPC_SVC_MODE_MEDIATED_TOPIC ? 3 : 2;
    if (opened->fds.size() != expected_fds) return fail(Errc::malformed, "liteipc-loader sent an incomplete channel");
    if (expected_fds == 3) impl->sample_stamps = std::move(opened->fds[2]);
    impl->fds.attach(std::move(opened->fds[1]));
    // The service sends the connection's doorbell over the socket once it serves the connection. A
    // service that cannot (out of fds or memory) closes the socket: we hear it at once.
    auto doorbell = impl->fds.receive(detail::kDoorbellBatch, 1, detail::Deadline::after(timeout));
    if (!doorbell) {
        Error refused = doorbell.error();
        if (refused.code == Errc::dead_object) {
            refused = Error{Errc::no_memory, 0,
                            "service '" + impl->name + "' (pid " + std::to_string(impl->service.pid) +
                                ") could not take the connection (out of fds or memory: see its log)"};
        } else {
            refused.message = "connection to '" + impl->name + "' not set up: " + refused.message;
        }
        LITEIPC_LOG(info, "connect: %s", refused.describe().c_str());
        return std::unexpected(refused);
    }
    detail::ClientOptions client_options;
    client_options.spin = options.spin;
    // A mediated service: every request of ours goes through the kernel's send program.
    if (opened->reply.mode == LITEIPC_SVC_MODE_MEDIATED) client_options.mediated.emplace(ctx.kernel(), impl->conn_id);
    auto channel = detail::ChannelClient::attach(ctrl->get(), std::move(*request_pool), opened->fds[0].get(),
                                                 std::move((*doorbell)[0]), std::move(client_options));
    if (!channel) return std::unexpected(channel.error());
    impl->channel = std::move(*channel);

    // The kernel tells us when the service dies, and the hangup of the connection's socket when the
    // service withdraws while it lives: pending calls fail then, not at their timeout.
    if (auto watched = ctx.watch_hangup(impl->conn_id, impl->service, impl->fds.socket()); !watched)
        return std::unexpected(watched.error());
    auto death = ctx.on_death(impl->service, [mark = impl->channel.death_mark()](const DeathNotice&) { mark(); },
                              impl->conn_id);
    if (!death) return std::unexpected(death.error());
    impl->death = std::move(*death);
    return Connection(std::move(impl));
}

uint32_t Connection::handle() const { return impl_->handle; }
int Connection::sample_stamps_fd() const { return impl_->sample_stamps.get(); }
PeerId Connection::service() const { return impl_->service; }
bool Connection::alive() const { return !impl_->channel.dead() && impl_->context->alive(impl_->service); }

Result<DeathSubscription> Connection::on_death(DeathCallback callback) {
    return impl_->context->on_death(impl_->service, std::move(callback), impl_->conn_id);
}

Result<> Connection::Impl::pass_objects(std::span<const std::byte> message, detail::CallOptions& options) {
    detail::CarriedObjects carried = detail::carried_objects(message);
    if (auto granted = detail::grant_references(*context, carried.services, service.pid); !granted) return granted;
    if (carried.fds.empty()) return {};
    options.fd_count = static_cast<uint32_t>(carried.fds.size());
    options.fd_batch = next_fd_batch.fetch_add(1, std::memory_order_relaxed);
    return fds.send(options.fd_batch, carried.fds);
}

Result<Reply> Connection::Impl::finish_call(Result<detail::ReceivedReply> outcome, const std::shared_ptr<Impl>& self,
                                            uint32_t code, detail::Deadline deadline) {
    if (!outcome) {
        LITEIPC_LOG(info, "call %u to '%s': %s", code, name.c_str(), outcome.error().describe().c_str());
        return std::unexpected(outcome.error());
    }
    Reply reply;
    reply.impl_ = std::make_unique<Reply::Impl>();
    reply.impl_->connection = self;
    if (outcome->fd_count() > 0) {
        auto received = fds.receive(outcome->fd_batch(), outcome->fd_count(), deadline);
        if (!received) {
            LITEIPC_LOG(warn, "call %u to '%s': reply fds: %s", code, name.c_str(), received.error().describe().c_str());
            return std::unexpected(received.error());
        }
        for (auto& fd : *received) reply.impl_->fds.push_back(fd.release());
    }
    reply.impl_->reply = std::move(*outcome);
    return reply;
}

Result<Reply> Connection::call(uint32_t code, Request& request, std::chrono::milliseconds timeout) {
    if (request.connection_ != impl_) return fail(Errc::invalid_argument, "request built for another connection");
    if (auto ok = impl_->check_alive(); !ok) return std::unexpected(ok.error());
    auto message = request.message();
    if (!message) return std::unexpected(message.error());
    detail::CallOptions options{.deadline = impl_->deadline(timeout), .token = request.token_};
    if (auto sent = impl_->pass_objects(*message, options); !sent) return std::unexpected(sent.error());
    std::span<const uint64_t> attachments(request.attachments_.data(), request.attachment_count_);
    request.attachment_count_ = 0;  // the call owns them now
    return impl_->finish_call(impl_->channel.call(code, *message, options, attachments), impl_, code,
                              options.deadline);
}

Result<> Connection::send(uint32_t code, Request& request, std::chrono::milliseconds timeout) {
    if (request.connection_ != impl_) return fail(Errc::invalid_argument, "request built for another connection");
    if (auto ok = impl_->check_alive(); !ok) return std::unexpected(ok.error());
    auto message = request.message();
    if (!message) return std::unexpected(message.error());
    detail::CallOptions options{.flags = detail::kFlagOneway, .deadline = impl_->deadline(timeout), .token = request.token_};
    if (auto fds_sent = impl_->pass_objects(*message, options); !fds_sent) return std::unexpected(fds_sent.error());
    std::span<const uint64_t> attachments(request.attachments_.data(), request.attachment_count_);
    request.attachment_count_ = 0;
    auto sent = impl_->channel.call(code, *message, options, attachments);
    if (!sent) return std::unexpected(sent.error());
    return {};
}

// ---- PendingReply ----

struct PendingReply::Impl {
    std::shared_ptr<Connection::Impl> connection;
    detail::AsyncCall call;
    ~Impl() { connection->channel.abandon_async(call); }
};

PendingReply::PendingReply() = default;
PendingReply::PendingReply(PendingReply&&) noexcept = default;
PendingReply& PendingReply::operator=(PendingReply&&) noexcept = default;
PendingReply::~PendingReply() = default;

bool PendingReply::ready() const { return !impl_ || impl_->connection->channel.async_ready(impl_->call); }

Result<Reply> PendingReply::wait(std::chrono::milliseconds timeout) {
    if (!impl_) return fail(Errc::invalid_argument, "wait on an empty or collected PendingReply");
    Connection::Impl& connection = *impl_->connection;
    const detail::Deadline deadline = connection.deadline(timeout);
    const uint32_t code = impl_->call.code;
    auto outcome = connection.channel.finish_async(impl_->call, deadline);
    if (!outcome && outcome.error().code == Errc::timed_out) return std::unexpected(outcome.error());
    std::unique_ptr<Impl> done = std::move(impl_);
    return connection.finish_call(std::move(outcome), done->connection, code, deadline);
}

Result<PendingReply> Connection::call_async(uint32_t code, Request& request, std::chrono::milliseconds timeout) {
    if (request.connection_ != impl_) return fail(Errc::invalid_argument, "request built for another connection");
    if (auto ok = impl_->check_alive(); !ok) return std::unexpected(ok.error());
    auto message = request.message();
    if (!message) return std::unexpected(message.error());
    auto pending = std::make_unique<PendingReply::Impl>();
    pending->connection = impl_;
    detail::CallOptions options{.deadline = impl_->deadline(timeout), .token = request.token_, .async = &pending->call};
    if (auto sent = impl_->pass_objects(*message, options); !sent) return std::unexpected(sent.error());
    std::span<const uint64_t> attachments(request.attachments_.data(), request.attachment_count_);
    request.attachment_count_ = 0;  // the call owns them now
    auto published = impl_->channel.call(code, *message, options, attachments);
    if (!published) {
        LITEIPC_LOG(info, "async call %u to '%s': %s", code, impl_->name.c_str(), published.error().describe().c_str());
        return std::unexpected(published.error());
    }
    PendingReply reply;
    reply.impl_ = std::move(pending);
    return reply;
}

Result<PendingReply> Connection::call_async_raw(uint32_t code, std::span<const std::byte> payload,
                                                std::chrono::milliseconds timeout) {
    if (auto ok = impl_->check_alive(); !ok) return std::unexpected(ok.error());
    auto pending = std::make_unique<PendingReply::Impl>();
    pending->connection = impl_;
    auto published = impl_->channel.call(code, payload, {.deadline = impl_->deadline(timeout), .async = &pending->call});
    if (!published) return std::unexpected(published.error());
    PendingReply reply;
    reply.impl_ = std::move(pending);
    return reply;
}

Result<int> Connection::completion_fd() { return impl_->channel.completion_fd(); }

// ---- OnewayBatch ----

struct OnewayBatch::Impl {
    std::shared_ptr<Connection::Impl> connection;
    detail::PayloadBuffer block;
    uint64_t used = 0;
    std::size_t count = 0;
};

OnewayBatch::OnewayBatch() = default;
OnewayBatch::OnewayBatch(OnewayBatch&&) noexcept = default;
OnewayBatch& OnewayBatch::operator=(OnewayBatch&&) noexcept = default;
OnewayBatch::~OnewayBatch() = default;

std::span<std::byte> OnewayBatch::append(uint64_t size) {
    if (!impl_ || size > room() || size > UINT32_MAX) return {};
    std::byte* frame = impl_->block.bytes().data() + impl_->used;
    const detail::BatchFrameHeader header{static_cast<uint32_t>(size), 0};
    std::memcpy(frame, &header, sizeof header);
    const uint64_t padded = (size + detail::kBatchFrameAlignment - 1) & ~(detail::kBatchFrameAlignment - 1);
    impl_->used = std::min<uint64_t>(impl_->used + sizeof header + padded, impl_->block.size());
    ++impl_->count;
    return {frame + sizeof header, static_cast<std::size_t>(size)};
}

std::size_t OnewayBatch::count() const { return impl_ ? impl_->count : 0; }

uint64_t OnewayBatch::room() const {
    if (!impl_) return 0;
    const uint64_t left = impl_->block.size() - impl_->used;
    return left > sizeof(detail::BatchFrameHeader) ? left - sizeof(detail::BatchFrameHeader) : 0;
}

Result<OnewayBatch> Connection::begin_batch(uint64_t capacity_bytes, std::chrono::milliseconds timeout) {
    if (capacity_bytes == 0) return fail(Errc::invalid_argument, "oneway batch of 0 bytes");
    if (auto ok = impl_->check_alive(); !ok) return std::unexpected(ok.error());
    auto block = impl_->channel.allocate_payload(capacity_bytes, impl_->deadline(timeout));
    if (!block) return std::unexpected(block.error());
    OnewayBatch batch;
    batch.impl_ = std::make_unique<OnewayBatch::Impl>();
    batch.impl_->connection = impl_;
    batch.impl_->block = std::move(*block);
    return batch;
}

Result<> Connection::send_batch(uint32_t code, OnewayBatch& batch, std::chrono::milliseconds timeout) {
    if (!batch.impl_ || batch.impl_->count == 0) return {};
    if (batch.impl_->connection != impl_) return fail(Errc::invalid_argument, "oneway batch begun on another connection");
    if (auto ok = impl_->check_alive(); !ok) return std::unexpected(ok.error());
    std::unique_ptr<OnewayBatch::Impl> impl = std::move(batch.impl_);
    impl->block.shrink(impl->used);
    detail::CallOptions options{.flags = detail::kFlagOneway | detail::kFlagBatch, .deadline = impl_->deadline(timeout)};
    auto sent = impl_->channel.call_in_place(code, std::move(impl->block), options);
    if (!sent) {
        LITEIPC_LOG(info, "batch of %zu oneway messages, code %u, to '%s': %s", impl->count, code,
                    impl_->name.c_str(), sent.error().describe().c_str());
        return std::unexpected(sent.error());
    }
    return {};
}

Result<Reply> Connection::call_raw(uint32_t code, uint64_t size, const std::function<void(std::span<std::byte>)>& fill,
                                   std::chrono::milliseconds timeout) {
    if (auto ok = impl_->check_alive(); !ok) return std::unexpected(ok.error());
    auto deadline = impl_->deadline(timeout);
    if (size <= detail::kInlinePayloadCapacity) {
        std::array<std::byte, detail::kInlinePayloadCapacity> small;
        fill(std::span(small.data(), size));
        return impl_->finish_call(impl_->channel.call(code, std::span(small.data(), size), {.deadline = deadline}),
                                  impl_, code, deadline);
    }
    auto buffer = impl_->channel.allocate_payload(size, deadline);
    if (!buffer) return std::unexpected(buffer.error());
    fill(buffer->bytes());
    return impl_->finish_call(impl_->channel.call_in_place(code, std::move(*buffer), {.deadline = deadline}), impl_,
                              code, deadline);
}

// ---- Request ----

Request::Request(Connection& connection)
    : connection_(connection.impl_), writer_(std::span<std::byte>(buffer_), this) {}

Request::~Request() { release_attachments(); }

Result<> Request::adopt(std::span<const std::byte> sealed) {
    if (sealed.size() > buffer_.size()) return fail(Errc::invalid_argument, "message larger than a request holds");
    if (auto layout = MessageLayout::parse(sealed); !layout) return std::unexpected(layout.error());
    std::memcpy(buffer_.data(), sealed.data(), sealed.size());
    adopted_size_ = sealed.size();
    return {};
}

Result<std::span<const std::byte>> Request::message() {
    if (adopted_size_ > 0) return std::span<const std::byte>(buffer_.data(), adopted_size_);
    return writer_.finish();
}

void Request::release_attachments() {
    for (size_t i = 0; i < attachment_count_; ++i) connection_->channel.free_attachment(attachments_[i]);
    attachment_count_ = 0;
}

std::optional<PoolSpan> Request::allocate(size_t size) {
    if (attachment_count_ == attachments_.size()) return std::nullopt;
    auto block = connection_->channel.allocate_attachment(size, detail::Deadline::now());
    if (!block) return std::nullopt;
    attachments_[attachment_count_++] = block->first;
    return PoolSpan{block->first, block->second};
}

// ---- Reply ----

Reply::Reply() = default;
Reply::Reply(Reply&&) noexcept = default;
Reply& Reply::operator=(Reply&&) noexcept = default;
Reply::~Reply() = default;

int32_t Reply::status() const { return impl_ ? impl_->reply.status() : 0; }
std::span<const std::byte> Reply::payload() const { return impl_ ? impl_->reply.payload() : std::span<const std::byte>{}; }
Reader Reply::reader() const {
    if (!impl_) return Reader();
    ReaderOptions options;
    options.peer_pool = impl_->connection->channel.reply_pool();
    options.fds = impl_->fds;
    return Reader(impl_->reply.payload(), options);
}

}  // namespace liteipc
