#include <unistd.h>

#include <cstring>

#include "api/context_impl.h"
#include "common/log.h"

namespace liteipc {
using detail::ControlOp;
using detail::ControlRequest;
using detail::UniqueFd;

// ---- Context ----

Context::Context(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;
Context::~Context() = default;

namespace {
// liteipc registers processes, not contexts: every Context a process opens shares one
// registration. After fork the child's copy belongs to the parent and is never touched.
std::mutex g_process_mutex;
std::weak_ptr<Context::Impl> g_process_context;
pid_t g_process_pid = 0;
}  // namespace

Result<Context> Context::open(ContextOptions options) {
    std::lock_guard lock(g_process_mutex);
    if (g_process_pid == ::getpid()) {
        if (auto shared = g_process_context.lock()) {
            if (shared->options.socket_path != options.socket_path || shared->options.pin_root != options.pin_root)
                return fail(Errc::already_exists, "this process is registered through " +
                                                      shared->options.socket_path + "; one loader per process");
            return Context(std::move(shared));
        }
    }
    auto impl = std::make_shared<Impl>();
    if (auto ok = impl->start(std::move(options)); !ok) return std::unexpected(ok.error());
    g_process_context = impl;
    g_process_pid = ::getpid();
    return Context(std::move(impl));
}

PeerId Context::self() const { return impl_->self; }
const ContextOptions& Context::options() const { return impl_->options; }
bool Context::alive(const PeerId& peer) const { return impl_->alive(peer); }
Result<std::string> Context::loader_status() const {
    ControlRequest request{};
    request.op = ControlOp::status;
    auto response = impl_->control(request);
    if (!response) return std::unexpected(response.error());
    return std::move(response->text);
}

Result<DeathSubscription> Context::on_death(const PeerId& peer, DeathCallback callback) {
    return impl_->on_death(peer, std::move(callback));
}

// ---- DeathSubscription ----

DeathSubscription::DeathSubscription(DeathSubscription&& other) noexcept
    : owner_(std::move(other.owner_)), id_(std::exchange(other.id_, 0)) {}
DeathSubscription& DeathSubscription::operator=(DeathSubscription&& other) noexcept {
    if (this != &other) {
        reset();
        owner_ = std::move(other.owner_);
        id_ = std::exchange(other.id_, 0);
    }
    return *this;
}
DeathSubscription::~DeathSubscription() { reset(); }
void DeathSubscription::reset() {
    if (owner_ && id_ != 0)
        if (auto context = owner_->context.lock()) context->unsubscribe(id_);
    owner_.reset();
    id_ = 0;
}

// ---- Context::Impl ----

Result<> Context::Impl::start(ContextOptions opts) {
    options = std::move(opts);
    control_.emplace(options.socket_path, options.default_timeout);
    if (auto ok = control_->connect(); !ok) return ok;
    UniqueFd inbox;
    if (auto ok = hello(inbox); !ok) return ok;

    auto kernel = detail::KernelSeam::open(options.pin_root);
    if (!kernel) return std::unexpected(kernel.error());
    kernel_ = std::move(*kernel);

    return inbox_.start(
        inbox.get(), [this](std::span<const std::byte> record) { on_record(record); },
        [this](uint64_t connection) { deaths_.deliver_hangup(connection); },
        [weak = weak_from_this()] { return std::shared_ptr<void>(weak.lock()); });
}

// Closing the control socket tells the loader this process closed its context.
Context::Impl::~Impl() = default;

Result<> Context::Impl::hello(UniqueFd& inbox) {
    ControlRequest request{};
    request.op = ControlOp::hello;
    auto response = control(request);
    if (!response) return std::unexpected(response.error());
    if (response->fds.size() != 1) return fail(Errc::malformed, "liteipc-loader sent no inbox");
    inbox = std::move(response->fds[0]);
    self = PeerId{response->reply.slot, response->reply.generation, static_cast<uint32_t>(::getpid())};
    return {};
}

Result<> Context::Impl::grant_reference(uint32_t handle, uint32_t receiver_pid) {
    // Asked every time, never remembered here: a grant can end without this process being told
    // (the owner withdraws it, the receiver's pid is another process's by now); the loader
    // answers a grant that holds at once.
    ControlRequest request{};
    request.op = ControlOp::add_access;
    request.handle = handle;
    request.id = receiver_pid;
    auto granted = control(request);
    if (!granted) return std::unexpected(granted.error());
    return {};
}

const liteipc_proc* Context::Impl::proc(uint32_t slot) const { return kernel_.proc(slot); }

bool Context::Impl::alive(const PeerId& peer) const { return kernel_.alive(peer.slot, peer.generation); }

Result<DeathSubscription> Context::Impl::on_death(const PeerId& peer, DeathCallback callback, uint64_t connection) {
    auto id = deaths_.subscribe(peer, std::move(callback), connection);
    if (!id) return std::unexpected(id.error());
    if (*id == 0) return DeathSubscription{};  // the callback ran already
    auto owner = std::make_shared<DeathSubscription::Owner>();
    owner->context = weak_from_this();
    return DeathSubscription(std::move(owner), *id);
}

void Context::Impl::unsubscribe(uint64_t id) { deaths_.unsubscribe(id); }

uint64_t Context::Impl::add_death_listener(std::function<void(const DeathNotice&)> listener) {
    return deaths_.add_listener(std::move(listener));
}

void Context::Impl::remove_death_listener(uint64_t id) { deaths_.remove_listener(id); }

Result<> Context::Impl::watch_hangup(uint64_t connection, const PeerId& service, int socket) {
    // Registered before the socket is watched: a hangup reported at once finds its connection.
    deaths_.watch(connection, service);
    if (auto ok = inbox_.watch(connection, socket); !ok) {
        (void)deaths_.unwatch(connection);
        return ok;
    }
    return {};
}

void Context::Impl::unwatch_hangup(uint64_t connection, int socket) {
    // A forked child shares the parent's epoll instance: its copy of a connection unwatches nothing.
    if (!inbox_.in_owner_process()) return;
    if (deaths_.unwatch(connection)) inbox_.unwatch(socket);
}

void Context::Impl::set_connect_listener(uint32_t handle,
                                         std::function<void(const liteipc_connect_record&)> listener) {
    std::vector<liteipc_connect_record> early;
    {
        std::lock_guard lock(connects_mutex_);
        connect_listeners_[handle] = listener;
        std::erase_if(unclaimed_connects_, [&](const liteipc_connect_record& record) {
            if (record.handle != handle) return false;
            early.push_back(record);
            return true;
        });
    }
    for (const auto& record : early) listener(record);
}

void Context::Impl::begin_registration() {
    std::lock_guard lock(connects_mutex_);
    ++registrations_under_way_;
}

void Context::Impl::end_registration() {
    std::lock_guard lock(connects_mutex_);
    if (--registrations_under_way_ > 0) return;
    for (const auto& record : unclaimed_connects_)
        LITEIPC_LOG(warn, "connect record for handle %u, which this process did not come to serve: dropped",
                    record.handle);
    unclaimed_connects_.clear();
}

void Context::Impl::remove_connect_listener(uint32_t handle) {
    std::lock_guard lock(connects_mutex_);
    connect_listeners_.erase(handle);
}

void Context::Impl::on_record(std::span<const std::byte> bytes) {
    uint32_t kind = 0;
    if (bytes.size() < sizeof kind) return;
    std::memcpy(&kind, bytes.data(), sizeof kind);
    if (kind == LITEIPC_REC_DEATH && bytes.size() >= sizeof(liteipc_death_record)) {
        liteipc_death_record record;
        std::memcpy(&record, bytes.data(), sizeof record);
        deaths_.deliver_death(DeathNotice{PeerId{record.slot, record.generation, record.tgid}, record.uid,
                                          record.exit_code, record.closed != 0, record.timestamp_ns});
    } else if (kind == LITEIPC_REC_CONNECT && bytes.size() >= sizeof(liteipc_connect_record)) {
        liteipc_connect_record record;
        std::memcpy(&record, bytes.data(), sizeof record);
        // A service being registered may not know its handle yet: keep its records (bounded) for it.
        constexpr std::size_t kMaxUnclaimedConnects = 4096;
        std::function<void(const liteipc_connect_record&)> listener;
        bool kept = false;
        {
            std::lock_guard lock(connects_mutex_);
            if (auto it = connect_listeners_.find(record.handle); it != connect_listeners_.end()) {
                listener = it->second;
            } else if (registrations_under_way_ > 0 && unclaimed_connects_.size() < kMaxUnclaimedConnects) {
                unclaimed_connects_.push_back(record);
                kept = true;
            }
        }
        if (listener)
            listener(record);
        else if (!kept)
            LITEIPC_LOG(info, "connect record for handle %u, which this process does not serve", record.handle);
    } else {
        LITEIPC_LOG(warn, "inbox: unknown record kind %u (%zu bytes)", kind, bytes.size());
    }
}

}  // namespace liteipc
