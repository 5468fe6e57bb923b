#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "api/context_impl.h"
#include "common/log.h"
#include "common/unix_socket.h"

namespace liteipc {
using detail::ControlOp;
using detail::ControlRequest;
using detail::UniqueFd;

namespace {

// Tags of the inbox thread's epoll events; any other tag is the conn_id of a watched connection.
constexpr uint64_t kInboxRingTag = 0;
constexpr uint64_t kStopTag = ~uint64_t{0};

Errc errc_from_errno(int err) {
    switch (err) {
        case EPERM: case EACCES: return Errc::permission_denied;
        case ENOENT: return Errc::not_found;
        case EEXIST: case EALREADY: return Errc::already_exists;
        case EINVAL: return Errc::invalid_argument;
        case ESRCH: case EOWNERDEAD: case ECONNABORTED: return Errc::dead_object;
        case ENOSPC: case ENOMEM: return Errc::no_memory;
        case ETIMEDOUT: return Errc::timed_out;
        case EPROTO: return Errc::malformed;
        case EDQUOT: return Errc::quota_exceeded;
        case EBUSY: case EMFILE: return Errc::loader_busy;
        default: return Errc::system;
    }
}

Result<UniqueFd> open_pin(const std::string& path, const char* what) {
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) {
        Errc code = (errno == EACCES || errno == EPERM) ? Errc::permission_denied : Errc::loader_unavailable;
        return fail_errno(std::string("open of ") + what + " at " + path +
                              (code == Errc::permission_denied ? ": join the liteipc group"
                                                               : ": is liteipc-loader running with this pin root?"),
                          code);
    }
    return UniqueFd(fd);
}

}  // namespace

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
    if (auto ok = connect_to_loader(); !ok) return ok;
    if (auto ok = hello(); !ok) return ok;

    auto procs = open_pin(options.pin_root + "/procs", "the process table");
    if (!procs) return std::unexpected(procs.error());
    procs_fd_ = std::move(*procs);
    auto mapping = detail::Mapping::map(procs_fd_.get(), sizeof(liteipc_proc) * LITEIPC_MAX_PROCS, PROT_READ);
    if (!mapping) return std::unexpected(mapping.error());
    procs_mapping_ = std::move(*mapping);

    auto connect = open_pin(options.pin_root + "/connect", "the connect program");
    if (!connect) return std::unexpected(connect.error());
    connect_prog_fd_ = std::move(*connect);
    connect_prog = connect_prog_fd_.get();
    auto subscribe = open_pin(options.pin_root + "/subscribe", "the subscribe program");
    if (!subscribe) return std::unexpected(subscribe.error());
    subscribe_prog_fd_ = std::move(*subscribe);
    subscribe_prog = subscribe_prog_fd_.get();
    auto send = open_pin(options.pin_root + "/send", "the send program");
    if (!send) return std::unexpected(send.error());
    send_prog_fd_ = std::move(*send);
    send_prog = send_prog_fd_.get();

    // The inbox thread sleeps on the ring buffer and an eventfd that tells it to stop.
    auto trampoline = [](void* self, void* data, size_t size) -> int {
        static_cast<Impl*>(self)->on_record(data, size);
        return 0;
    };
    inbox_ring_ = ring_buffer__new(inbox_.get(), trampoline, this, nullptr);
    if (!inbox_ring_) return fail_errno("ring buffer on the inbox", Errc::kernel);
    stop_event_.reset(::eventfd(0, EFD_CLOEXEC));
    inbox_epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!stop_event_ || !inbox_epoll_) return fail_errno("eventfd/epoll for the inbox");
    for (auto [fd, tag] : {std::pair{ring_buffer__epoll_fd(inbox_ring_), kInboxRingTag},
                           std::pair{stop_event_.get(), kStopTag}}) {
        epoll_event event{EPOLLIN, {.u64 = tag}};
        if (::epoll_ctl(inbox_epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) return fail_errno("epoll_ctl");
    }
    owner_pid_ = ::getpid();
    inbox_thread_ = std::make_unique<std::thread>([this] { inbox_loop(); });
    return {};
}

namespace {
// Set on an inbox thread whose last reference to its context it released itself (~Impl).
thread_local bool t_inbox_context_ended = false;
}  // namespace

Context::Impl::~Impl() {
    if (inbox_thread_ && owner_pid_ != ::getpid()) {
        // A forked child's copy: the thread lives only in the parent.
        (void)inbox_thread_.release();
        return;
    }
    if (inbox_thread_ && inbox_thread_->get_id() == std::this_thread::get_id()) {
        // The inbox thread held the last reference (see inbox_loop): it cannot join itself, and
        // it ends on its own without touching this object again.
        inbox_thread_->detach();
        t_inbox_context_ended = true;
    } else if (inbox_thread_) {
        uint64_t one = 1;
        ssize_t ignored = ::write(stop_event_.get(), &one, sizeof one);
        (void)ignored;
        inbox_thread_->join();
    }
    if (inbox_ring_) ring_buffer__free(inbox_ring_);
    // Closing the control socket tells the loader this process closed its context.
}

Result<UniqueFd> Context::Impl::open_socket() const {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (options.socket_path.size() >= sizeof address.sun_path)
        return fail(Errc::invalid_argument, "socket path too long: " + options.socket_path);
    std::strcpy(address.sun_path, options.socket_path.c_str());
    UniqueFd socket(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!socket) return fail_errno("socket");
    if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        int err = errno;
        if (err == EACCES || err == EPERM)
            return fail(Errc::permission_denied,
                        "may not open " + options.socket_path +
                            ": only root and members of the liteipc group use liteipc; join the group "
                            "(an administrator runs usermod -aG liteipc USER; then log in again)",
                        err);
        LITEIPC_LOG(info, "cannot reach liteipc-loader at %s", options.socket_path.c_str());
        return fail(Errc::loader_unavailable,
                    "cannot reach liteipc-loader at " + options.socket_path +
                        ": start it with 'liteipc-loader' as root (or 'systemctl start liteipc-loader')",
                    err);
    }
    return socket;
}

Result<> Context::Impl::connect_to_loader() {
    auto socket = open_socket();
    if (!socket) return std::unexpected(socket.error());
    control_ = std::move(*socket);
    return {};
}

namespace {

// Reads one reply to `request_id` from `socket`, skipping late replies to abandoned requests.
Result<ControlResponse> receive_reply(int socket, uint64_t request_id, std::chrono::steady_clock::time_point deadline) {
    std::vector<std::byte> buffer(detail::kMaxControlMessage);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        auto received = detail::receive_message(socket, buffer, std::max<int>(0, static_cast<int>(left.count())));
        // A socket the loader refused and closed reports the reset once; its refusal follows.
        if (!received && received.error().sys_errno == ECONNRESET)
            received = detail::receive_message(socket, buffer, 0);
        if (!received) return std::unexpected(received.error());
        if (received->bytes == 0) return fail(Errc::closed, "liteipc-loader closed the socket");
        ControlResponse response;
        if (received->bytes < sizeof response.reply) return fail(Errc::malformed, "short reply from liteipc-loader");
        std::memcpy(&response.reply, buffer.data(), sizeof response.reply);
        // Request id 0 is the loader refusing the socket itself (fd limit, socket quota).
        if (response.reply.request_id != request_id && !(response.reply.request_id == 0 && response.reply.result != 0))
            continue;  // a late reply to an abandoned request: its fds close here
        std::size_t text = std::min<std::size_t>(response.reply.text_bytes, received->bytes - sizeof response.reply);
        response.text.assign(reinterpret_cast<const char*>(buffer.data()) + sizeof response.reply, text);
        response.fds = std::move(received->fds);
        if (response.reply.result != 0) {
            response.reply.message[sizeof response.reply.message - 1] = '\0';
            Errc code = response.reply.errc >= static_cast<uint32_t>(Errc::invalid_argument) &&
                                response.reply.errc <= static_cast<uint32_t>(Errc::loader_busy)
                            ? static_cast<Errc>(response.reply.errc)
                            : errc_from_errno(-response.reply.result);
            return fail(code, response.reply.message, -response.reply.result);
        }
        return response;
    }
}

// A send that failed because the loader refused the socket and closed it: the refusal, with its
// named error, is still waiting to be read.
Result<ControlResponse> refusal_or(int socket, Error send_error) {
    auto refusal = receive_reply(socket, 0, std::chrono::steady_clock::now());
    if (!refusal && refusal.error().code != Errc::timed_out && refusal.error().code != Errc::closed &&
        refusal.error().code != Errc::system)
        return refusal;
    return std::unexpected(std::move(send_error));
}

}  // namespace

Result<ControlResponse> Context::Impl::control_once(const ControlRequest& request, std::span<const int> fds,
                                                    std::chrono::milliseconds timeout) {
    auto socket = open_socket();
    if (!socket) return std::unexpected(socket.error());
    ControlRequest numbered = request;
    numbered.request_id = 1;
    if (auto sent = detail::send_message(socket->get(), detail::as_bytes_of(numbered), fds); !sent)
        return refusal_or(socket->get(), sent.error());
    if (timeout.count() <= 0) timeout = options.default_timeout;
    return receive_reply(socket->get(), numbered.request_id, std::chrono::steady_clock::now() + timeout);
}

Result<ControlResponse> Context::Impl::control(const ControlRequest& request, std::chrono::milliseconds timeout) {
    std::lock_guard lock(control_mutex_);
    if (timeout.count() <= 0) timeout = options.default_timeout;
    ControlRequest numbered = request;
    for (int attempt = 0;; ++attempt) {
        numbered.request_id = ++last_request_id_;
        auto sent = detail::send_message(control_.get(), detail::as_bytes_of(numbered));
        auto response = sent ? receive_reply(control_.get(), numbered.request_id,
                                             std::chrono::steady_clock::now() + timeout)
                             : refusal_or(control_.get(), sent.error());
        if (response || attempt > 0 || request.op == ControlOp::hello ||
            (response.error().code != Errc::closed && response.error().code != Errc::system))
            return response;
        // The loader restarted: reconnect, take our slot back, and ask again once.
        LITEIPC_LOG(info, "control socket lost (%s); reconnecting", response.error().describe().c_str());
        if (auto ok = connect_to_loader(); !ok) return std::unexpected(ok.error());
        ControlRequest again{};
        again.op = ControlOp::hello;
        again.request_id = ++last_request_id_;
        if (auto ok = detail::send_message(control_.get(), detail::as_bytes_of(again)); !ok)
            return std::unexpected(ok.error());
        if (auto ok = receive_reply(control_.get(), again.request_id, std::chrono::steady_clock::now() + timeout); !ok)
            return std::unexpected(ok.error());
    }
}

Result<> Context::Impl::hello() {
    ControlRequest request{};
    request.op = ControlOp::hello;
    auto response = control(request);
    if (!response) return std::unexpected(response.error());
    if (response->fds.size() != 1) return fail(Errc::malformed, "liteipc-loader sent no inbox");
    inbox_ = std::move(response->fds[0]);
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

const liteipc_proc* Context::Impl::proc(uint32_t slot) const {
    if (slot >= LITEIPC_MAX_PROCS) return nullptr;
    return reinterpret_cast<const liteipc_proc*>(procs_mapping_.data()) + slot;
}

bool Context::Impl::alive(const PeerId& peer) const {
    const liteipc_proc* p = proc(peer.slot);
    return p && __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE) == peer.generation;
}

Result<> Context::Impl::kernel_subscribe(const PeerId& peer) {
    liteipc_subscribe_ctl ctl{};
    ctl.op = LITEIPC_SUB_ADD;
    ctl.target_slot = peer.slot;
    ctl.target_generation = peer.generation;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctl, .ctx_size_in = sizeof ctl);
    if (bpf_prog_test_run_opts(subscribe_prog, &opts) != 0) return fail_errno("run of subscribe", Errc::kernel);
    if (ctl.result == -ESRCH) return fail(Errc::dead_object, "peer is already gone");
    if (ctl.result != 0) return fail(errc_from_errno(-ctl.result), "subscribe refused", -ctl.result);
    return {};
}

void Context::Impl::kernel_unsubscribe(const PeerId& peer) {
    liteipc_subscribe_ctl ctl{};
    ctl.op = LITEIPC_SUB_REMOVE;
    ctl.target_slot = peer.slot;
    ctl.target_generation = peer.generation;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctl, .ctx_size_in = sizeof ctl);
    bpf_prog_test_run_opts(subscribe_prog, &opts);
}

Result<DeathSubscription> Context::Impl::on_death(const PeerId& peer, DeathCallback callback, uint64_t connection) {
    if (!callback) return fail(Errc::invalid_argument, "empty death callback");
    std::unique_lock lock(death_mutex_);
    if (connection != 0 && !watched_connections_.contains(connection)) {
        // The service hung this connection up already.
        lock.unlock();
        DeathNotice notice{};
        notice.peer = peer;
        notice.withdrawn = true;
        callback(notice);
        return DeathSubscription{};
    }
    auto key = std::make_pair(peer.slot, peer.generation);
    std::size_t& users = kernel_subscriptions_[key];
    if (users == 0) {
        if (auto ok = kernel_subscribe(peer); !ok) {
            kernel_subscriptions_.erase(key);
            lock.unlock();
            if (ok.error().code != Errc::dead_object) return std::unexpected(ok.error());
            const liteipc_proc* p = proc(peer.slot);
            DeathNotice notice{peer, p ? p->uid : 0, p ? p->exit_code : 0, p && p->exit_code == -1, 0};
            callback(notice);
            return DeathSubscription{};
        }
    }
    ++users;
    uint64_t id = next_id_++;
    subscribers_.emplace(id, DeathWatch{peer, std::move(callback), connection});
    auto owner = std::make_shared<DeathSubscription::Owner>();
    owner->context = weak_from_this();
    return DeathSubscription(std::move(owner), id);
}

void Context::Impl::unsubscribe(uint64_t id) {
    std::lock_guard lock(death_mutex_);
    auto it = subscribers_.find(id);
    if (it == subscribers_.end()) return;
    auto key = std::make_pair(it->second.peer.slot, it->second.peer.generation);
    subscribers_.erase(it);
    release_kernel_subscription_locked(key);
}

void Context::Impl::release_kernel_subscription_locked(std::pair<uint32_t, uint64_t> key) {
    auto users = kernel_subscriptions_.find(key);
    if (users != kernel_subscriptions_.end() && --users->second == 0) {
        kernel_subscriptions_.erase(users);
        kernel_unsubscribe(PeerId{key.first, key.second, 0});
    }
}

uint64_t Context::Impl::add_death_listener(std::function<void(const DeathNotice&)> listener) {
    std::lock_guard lock(death_mutex_);
    uint64_t id = next_id_++;
    death_listeners_.emplace(id, std::move(listener));
    return id;
}

void Context::Impl::remove_death_listener(uint64_t id) {
    std::lock_guard lock(death_mutex_);
    death_listeners_.erase(id);
}

void Context::Impl::set_connect_listener(uint32_t handle,
                                         std::function<void(const liteipc_connect_record&)> listener) {
    std::vector<liteipc_connect_record> early;
    {
        std::lock_guard lock(death_mutex_);
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
    std::lock_guard lock(death_mutex_);
    ++registrations_under_way_;
}

void Context::Impl::end_registration() {
    std::lock_guard lock(death_mutex_);
    if (--registrations_under_way_ > 0) return;
    for (const auto& record : unclaimed_connects_)
        LITEIPC_LOG(warn, "connect record for handle %u, which this process did not come to serve: dropped",
                    record.handle);
    unclaimed_connects_.clear();
}

void Context::Impl::remove_connect_listener(uint32_t handle) {
    std::lock_guard lock(death_mutex_);
    connect_listeners_.erase(handle);
}

void Context::Impl::inbox_loop() {
    for (;;) {
        epoll_event events[16];
        int n = ::epoll_wait(inbox_epoll_.get(), events, std::size(events), -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            LITEIPC_LOG(error, "inbox epoll_wait failed: %s", std::strerror(errno));
            return;
        }
        {
            // Callbacks run here may hold the last reference to what owns this context (a service
            // whose owner let go meanwhile). Held across them, this reference is then the last
            // one, and its release below is the one place this thread may destroy the context.
            auto self = weak_from_this().lock();
            if (!self) return;  // being destroyed on another thread, which joins this one
            for (int i = 0; i < n; ++i) {
                const uint64_t tag = events[i].data.u64;
                if (tag == kStopTag) return;
                if (tag == kInboxRingTag) ring_buffer__consume(inbox_ring_);
                else deliver_hangup(tag);  // a connection's socket, tagged with its conn_id
            }
        }
        if (t_inbox_context_ended) return;
    }
}

void Context::Impl::on_record(const void* data, std::size_t size) {
    uint32_t kind = 0;
    if (size < sizeof kind) return;
    std::memcpy(&kind, data, sizeof kind);
    if (kind == LITEIPC_REC_DEATH && size >= sizeof(liteipc_death_record)) {
        liteipc_death_record record;
        std::memcpy(&record, data, sizeof record);
        deliver_death(DeathNotice{PeerId{record.slot, record.generation, record.tgid}, record.uid,
                                  record.exit_code, record.closed != 0, record.timestamp_ns});
    } else if (kind == LITEIPC_REC_CONNECT && size >= sizeof(liteipc_connect_record)) {
        liteipc_connect_record record;
        std::memcpy(&record, data, sizeof record);
        // A service being registered may not know its handle yet: keep its records (bounded) for it.
        constexpr std::size_t kMaxUnclaimedConnects = 4096;
        std::function<void(const liteipc_connect_record&)> listener;
        bool kept = false;
        {
            std::lock_guard lock(death_mutex_);
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
        LITEIPC_LOG(warn, "inbox: unknown record kind %u (%zu bytes)", kind, size);
    }
}

void Context::Impl::deliver_death(const DeathNotice& notice) {
    // Callbacks run without the lock so that they may subscribe or unsubscribe.
    std::vector<DeathCallback> callbacks;
    std::vector<std::function<void(const DeathNotice&)>> listeners;
    {
        std::lock_guard lock(death_mutex_);
        for (auto it = subscribers_.begin(); it != subscribers_.end();) {
            if (it->second.peer.slot == notice.peer.slot && it->second.peer.generation == notice.peer.generation) {
                callbacks.push_back(std::move(it->second.callback));
                it = subscribers_.erase(it);
            } else {
                ++it;
            }
        }
        kernel_subscriptions_.erase({notice.peer.slot, notice.peer.generation});
        for (auto& [id, listener] : death_listeners_) listeners.push_back(listener);
    }
    LITEIPC_LOG(debug, "death of pid %u (slot %u): %zu callbacks", notice.peer.pid, notice.peer.slot, callbacks.size());
    for (auto& listener : listeners) listener(notice);
    for (auto& callback : callbacks) callback(notice);
}

Result<> Context::Impl::watch_hangup(uint64_t connection, const PeerId& service, int socket) {
    if (connection == kInboxRingTag || connection == kStopTag)
        return fail(Errc::malformed, "connection id " + std::to_string(connection) + " is reserved");
    std::lock_guard lock(death_mutex_);
    // One shot: a hung-up socket stays readable; its one report is all we need.
    epoll_event event{EPOLLRDHUP | EPOLLONESHOT, {.u64 = connection}};
    if (::epoll_ctl(inbox_epoll_.get(), EPOLL_CTL_ADD, socket, &event) != 0)
        return fail_errno("watching a connection's socket");
    watched_connections_[connection] = service;
    return {};
}

void Context::Impl::unwatch_hangup(uint64_t connection, int socket) {
    // A forked child shares the parent's epoll instance: its copy of a connection unwatches nothing.
    if (owner_pid_ != ::getpid()) return;
    std::lock_guard lock(death_mutex_);
    if (watched_connections_.erase(connection) == 0) return;
    (void)::epoll_ctl(inbox_epoll_.get(), EPOLL_CTL_DEL, socket, nullptr);
}

void Context::Impl::deliver_hangup(uint64_t connection) {
    std::vector<DeathCallback> callbacks;
    DeathNotice notice{};
    {
        std::lock_guard lock(death_mutex_);
        auto watched = watched_connections_.find(connection);
        if (watched == watched_connections_.end()) return;  // unwatched meanwhile
        notice.peer = watched->second;
        notice.withdrawn = true;
        notice.timestamp_ns = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
                .count());
        watched_connections_.erase(watched);
        std::vector<uint64_t> ended;
        for (auto& [id, subscriber] : subscribers_)
            if (subscriber.connection == connection) ended.push_back(id);
        for (uint64_t id : ended) {
            auto it = subscribers_.find(id);
            callbacks.push_back(std::move(it->second.callback));
            auto key = std::make_pair(it->second.peer.slot, it->second.peer.generation);
            subscribers_.erase(it);
            release_kernel_subscription_locked(key);
        }
    }
    LITEIPC_LOG(debug, "connection %llu: the service (pid %u) hung up: %zu callbacks",
                static_cast<unsigned long long>(connection), notice.peer.pid, callbacks.size());
    for (auto& callback : callbacks) callback(notice);
}

}  // namespace liteipc
