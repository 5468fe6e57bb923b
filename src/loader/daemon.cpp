#include "daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "host_paths.h"
#include "common/log.h"
#include "systemd_integration.h"
#include "peer_process.h"
#include "common/unix_socket.h"

namespace liteipc::loader {
namespace fs = std::filesystem;
using detail::ControlOp;
using detail::ControlReply;
using detail::ControlRequest;

namespace {

// fds the loader needs beside its clients: maps, programs, epoll, pending channel regions.
constexpr std::size_t kFdHeadroom = 128;
// Connections taken per listener wakeup, so a burst of connects cannot starve served clients.
constexpr int kAcceptsPerWakeup = 64;

}  // namespace

ControlReply refuse(Errc code, int err, const std::string& why) {
    ControlReply reply;
    reply.result = -err;
    reply.errc = static_cast<uint32_t>(code);
    std::strncpy(reply.message, why.c_str(), sizeof reply.message - 1);
    LITEIPC_LOG(info, "refused (%s): %s", std::string(to_string(code)).c_str(), why.c_str());
    return reply;
}

std::string reserve_message(const TableUse& table) {
    return std::string("the ") + table.name + " table keeps its last " + std::to_string(table.reserve) + " of " +
           std::to_string(table.capacity) + " entries for root; other uids hold the rest (" +
           std::to_string(table.members) + ")";
}

ControlReply refuse_reserved(const TableUse& table) {
    return refuse(Errc::quota_exceeded, EDQUOT, reserve_message(table));
}

std::size_t Daemon::socket_capacity() const {
    return config_.max_sockets ? std::min<std::size_t>(io_.max_clients, config_.max_sockets) : io_.max_clients;
}

std::array<TableUse, 6> Daemon::table_use() const {
    uint64_t processes = 0, services = 0, grants = 0, sockets = 0;
    for (uint32_t slot = 0; slot < LITEIPC_MAX_PROCS; ++slot) {
        const liteipc_proc& p = kernel_->proc(slot);
        processes += p.state == LITEIPC_PROC_ALIVE && p.uid != 0;
    }
    for (const auto& [handle, record] : book_.services) services += record.owner_uid != 0;
    for (const auto& [key, record] : book_.grants) grants += record.grantor_uid != 0;
    for (const auto& waiting : book_.waiting_grants) grants += waiting.grantor_uid != 0;
    for (const auto& [fd, client] : registry_.clients) sockets += client.uid != 0;
    const Reserves& r = config_.reserves;
    // A small fd limit still leaves members one socket.
    const uint64_t socket_room = socket_capacity();
    const uint64_t socket_reserve = std::min<uint64_t>(r.sockets, socket_room > 0 ? socket_room - 1 : 0);
    return {TableUse{"process", LITEIPC_MAX_PROCS, r.processes, processes},
            TableUse{"service", LITEIPC_MAX_SERVICES, r.services, services},
            TableUse{"connection", LITEIPC_MAX_CONNS, r.connections, kernel_->counter(LITEIPC_COUNTER_MEMBER_CONNS)},
            TableUse{"grant", LITEIPC_MAX_GRANTS, r.grants, grants},
            TableUse{"socket", socket_room, socket_reserve, sockets},
            TableUse{"subscription", LITEIPC_MAX_SUBS, r.subscriptions,
                     kernel_->counter(LITEIPC_COUNTER_MEMBER_SUBS)}};
}

void Daemon::check_headroom() {
    auto tables = table_use();
    for (std::size_t i = 0; i < tables.size(); ++i) {
        const TableUse& t = tables[i];
        if (t.near_full() && !near_full_logged_[i]) {
            LITEIPC_LOG(warn, "the %s table is near full: other uids than root hold %llu of the %llu entries they may "
                        "(%llu more are root's reserve)", t.name, static_cast<unsigned long long>(t.members),
                        static_cast<unsigned long long>(t.capacity - t.reserve),
                        static_cast<unsigned long long>(t.reserve));
            near_full_logged_[i] = true;
        } else if (near_full_logged_[i] && t.members * 10 < (t.capacity - t.reserve) * 8) {
            near_full_logged_[i] = false;
        }
    }
}

Result<std::unique_ptr<Daemon>> Daemon::start(const DaemonOptions& options) {
    std::unique_ptr<Daemon> daemon(new Daemon(options));
    auto config = LoaderConfig::load(options.config_path, options.config_given);
    if (!config) return std::unexpected(config.error());
    if (!options.group.empty()) {
        if (group* g = ::getgrnam(options.group.c_str()))
            daemon->io_.group_id = g->gr_gid;
        else
            LITEIPC_LOG(warn, "group '%s' does not exist: only root may use liteipc (create it with groupadd %s)",
                        options.group.c_str(), options.group.c_str());
    }
    // The host's paths first: a loader that must not run changes nothing, BPF included.
    if (auto ok = prepare_socket_directory(options.socket_path, daemon->io_.group_id); !ok)
        return std::unexpected(ok.error());
    if (auto ok = claim_socket_path(options.socket_path); !ok) return std::unexpected(ok.error());
    std::error_code ec;
    if (fs::exists(options.pin_root, ec)) {
        if (auto ok = refuse_foreign_owner(options.pin_root, "pin root"); !ok) return std::unexpected(ok.error());
        auto lock = KernelPlane::lock_pin_root(options.pin_root);
        if (!lock) return std::unexpected(lock.error());
        daemon->io_.lock = std::move(*lock);
    }
    auto kernel = KernelPlane::start({options.pin_root, daemon->io_.group_id});
    if (!kernel) return std::unexpected(kernel.error());
    daemon->kernel_ = std::move(*kernel);
    if (!daemon->io_.lock) {
        auto lock = KernelPlane::lock_pin_root(options.pin_root);
        if (!lock) return std::unexpected(lock.error());
        daemon->io_.lock = std::move(*lock);
    }
    if (auto ok = daemon->apply_config(std::move(*config)); !ok) return std::unexpected(ok.error());
    if (auto ok = daemon->kernel_->watch_deaths([d = daemon.get()](const liteipc_death_record& r) { d->on_death(r); });
        !ok)
        return std::unexpected(ok.error());
    if (auto ok = daemon->kernel_->watch_monitor([d = daemon.get()](const liteipc_monitor_record& r) { d->fan_out(r); });
        !ok)
        return std::unexpected(ok.error());
    if (auto ok = daemon->listen(); !ok) return std::unexpected(ok.error());
    // Deaths recorded while no loader ran are waiting in the pinned ring: handle them now.
    daemon->rebuild_records();
    if (auto n = daemon->kernel_->consume_deaths(); !n) return std::unexpected(n.error());
    daemon->adopt_registered();
    daemon->enforce_name_policy("start");
    LITEIPC_LOG(info, "ready: pin root %s, socket %s, room for %zu sockets%s", options.pin_root.c_str(),
                options.socket_path.c_str(), daemon->io_.max_clients,
                daemon->kernel_->adopted() ? ", adopted pinned state" : "");
    return daemon;
}

Daemon::~Daemon() {
    if (io_.created_socket) ::unlink(options_.socket_path.c_str());
}

Result<> Daemon::apply_config(LoaderConfig config) {
    if (auto ok = kernel_->set_limit(LITEIPC_LIMIT_CONNS, config.quotas.connections); !ok) return ok;
    if (auto ok = kernel_->set_limit(LITEIPC_LIMIT_SUBS, config.quotas.subscriptions); !ok) return ok;
    if (auto ok = kernel_->set_limit(LITEIPC_LIMIT_MEMBER_CONNS, LITEIPC_MAX_CONNS - config.reserves.connections); !ok)
        return ok;
    if (auto ok = kernel_->set_limit(LITEIPC_LIMIT_MEMBER_SUBS, LITEIPC_MAX_SUBS - config.reserves.subscriptions); !ok)
        return ok;
    config_ = std::move(config);
    return {};
}

void Daemon::reload_config() {
    notify_systemd("RELOADING=1");
    // Whatever the outcome, the loader serves on: with the new config or the previous one.
    struct Ready {
        ~Ready() { notify_systemd("READY=1"); }
    } ready;
    // A reload asks for a file: one that is missing is an error here, even at the default path.
    auto config = LoaderConfig::load(options_.config_path, true);
    if (!config) {
        LITEIPC_LOG(error, "config not reloaded, the previous one stays: %s", config.error().describe().c_str());
        return;
    }
    if (auto ok = apply_config(std::move(*config)); !ok) {
        LITEIPC_LOG(error, "config not applied: %s", ok.error().describe().c_str());
        return;
    }
    LITEIPC_LOG(info, "reloaded %s: %zu name rules", options_.config_path.c_str(), config_.names.rules.size());
    enforce_name_policy("reload");
}

Result<> Daemon::listen() {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (options_.socket_path.size() >= sizeof address.sun_path)
        return fail(Errc::invalid_argument, "socket path too long: " + options_.socket_path);
    std::strcpy(address.sun_path, options_.socket_path.c_str());

    io_.listener.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!io_.listener) return fail_errno("socket");
    if (::bind(io_.listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        return fail_errno("bind " + options_.socket_path);
    io_.created_socket = true;
    if (::chown(address.sun_path, 0, io_.group_id) != 0 || ::chmod(address.sun_path, io_.group_id ? 0660 : 0600) != 0)
        return fail_errno("set owner and mode of " + options_.socket_path);
    // Accepted sockets inherit SO_PASSCRED: a request sent right after accept carries its
    // credentials too (one sent before accept always does).
    int on = 1;
    if (::setsockopt(io_.listener.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
        return fail_errno("SO_PASSCRED on " + options_.socket_path);
    if (::listen(io_.listener.get(), 128) != 0) return fail_errno("listen " + options_.socket_path);

    // Room for clients: each holds its socket and a pidfd; the rest of the fd limit is headroom.
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    if (files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &files);
        ::getrlimit(RLIMIT_NOFILE, &files);
    }
    io_.max_clients = files.rlim_cur > 2 * kFdHeadroom ? (files.rlim_cur - kFdHeadroom) / 2 : 8;
    io_.reserve_fd.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));

    io_.epoll.reset(::epoll_create1(EPOLL_CLOEXEC));
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    io_.signals.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    broker_.timer.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (!io_.epoll || !io_.signals || !broker_.timer) return fail_errno("epoll, signalfd or timerfd");
    for (int fd : {io_.listener.get(), io_.signals.get(), kernel_->deaths_epoll_fd(), kernel_->monitor_epoll_fd(),
                   broker_.timer.get()}) {
        epoll_event event{EPOLLIN, {.fd = fd}};
        if (::epoll_ctl(io_.epoll.get(), EPOLL_CTL_ADD, fd, &event) != 0) return fail_errno("epoll_ctl");
    }
    return {};
}

Result<> Daemon::run() {
    epoll_event events[64];
    for (;;) {
        int n = ::epoll_wait(io_.epoll.get(), events, 64, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("epoll_wait");
        }
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == io_.signals.get()) {
                signalfd_siginfo info{};
                while (::read(fd, &info, sizeof info) == sizeof info) {
                    if (info.ssi_signo == SIGHUP) {
                        reload_config();
                        continue;
                    }
                    LITEIPC_LOG(info, "stopping on signal; pinned state stays for the next loader");
                    return {};
                }
            } else if (fd == io_.listener.get()) {
                accept_clients();
            } else if (fd == kernel_->deaths_epoll_fd()) {
                kernel_->consume_deaths();
            } else if (fd == kernel_->monitor_epoll_fd()) {
                kernel_->consume_monitor();
                for (auto& [client_fd, client] : registry_.clients)
                    if (client.watching_monitor && !client.watching_writable) flush_monitor(client);
            } else if (fd == broker_.timer.get()) {
                uint64_t expirations;
                ssize_t ignored = ::read(fd, &expirations, sizeof expirations);
                (void)ignored;
                expire_channels();
            } else {
                if (events[i].events & EPOLLOUT)
                    if (auto it = registry_.clients.find(fd); it != registry_.clients.end()) flush_outbox(it->second);
                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) serve_client(fd);
            }
        }
    }
}

void Daemon::refuse_socket(UniqueFd socket, Errc code, const std::string& why) {
    // One try, never a wait: the client reads it as the answer to its first request.
    ControlReply reply = refuse(code, code == Errc::quota_exceeded ? EDQUOT : EBUSY, why);
    Outgoing out;
    out.bytes.assign(reinterpret_cast<const char*>(&reply), sizeof reply);
    (void)send_now(socket.get(), out);
    // Closing with requests unread resets the client's socket; take what is there first.
    char discard[sizeof(ControlRequest)];
    for (int i = 0; i < 4 && ::recv(socket.get(), discard, sizeof discard, MSG_DONTWAIT) > 0; ++i) {
    }
}

// A client that hung up holds its socket and pidfd until the loop reaches its hang-up, and the
// events of one turn come in no fixed order: the listener's can come before the hang-ups of a
// process that just died. At a limit, those fds are freed first: a new client is never refused
// for room that dead ones hold. True when any client was dropped.
bool Daemon::drop_hung_up_clients() {
    bool dropped = false;
    epoll_event events[64];
    // Level-triggered events rotate: enough rounds to see every ready socket once.
    const std::size_t rounds = registry_.clients.size() / 64 + 1;
    for (std::size_t round = 0; round < rounds; ++round) {
        const int n = ::epoll_wait(io_.epoll.get(), events, 64, 0);
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (!(events[i].events & (EPOLLHUP | EPOLLERR)) || !registry_.clients.contains(fd)) continue;
            // What it sent before it went is served first, as the loop would; then its hang-up.
            for (int served = 0; served < kAcceptsPerWakeup && registry_.clients.contains(fd); ++served) serve_client(fd);
            if (registry_.clients.contains(fd)) drop_client(fd);
            dropped = true;
        }
        if (n < 64) break;
    }
    return dropped;
}

void Daemon::accept_clients() {
    for (int accepted = 0; accepted < kAcceptsPerWakeup; ++accepted) {
        UniqueFd socket(::accept4(io_.listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!socket && (errno == EMFILE || errno == ENFILE) && drop_hung_up_clients())
            socket.reset(::accept4(io_.listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!socket) {
            if (errno != EMFILE && errno != ENFILE) return;  // EAGAIN: all taken
            // Out of fds: the reserve makes room to take the connection and say no, instead of
            // leaving it in the backlog to wake this loop forever.
            io_.reserve_fd.reset();
            socket.reset(::accept4(io_.listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
            if (socket) {
                ++refused_.at_fd_limit;
                refuse_socket(std::move(socket), Errc::loader_busy, "liteipc-loader is at its fd limit");
            }
            io_.reserve_fd.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
            return;
        }
        auto cred = detail::peer_credentials(socket.get());
        if (!cred) continue;
        if (registry_.clients.size() >= socket_capacity() &&
            !(drop_hung_up_clients() && registry_.clients.size() < socket_capacity())) {
            ++refused_.at_fd_limit;
            refuse_socket(std::move(socket), Errc::loader_busy,
                          "liteipc-loader serves " + std::to_string(registry_.clients.size()) + " sockets, its limit");
            continue;
        }
        // The last sockets are root's: colluding uids, each under its quota, cannot take them all.
        if (TableUse sockets = table_use()[4]; cred->uid != 0 && sockets.full()) {
            ++refused_.reserve_sockets;
            refuse_socket(std::move(socket), Errc::quota_exceeded, reserve_message(sockets));
            continue;
        }
        if (cred->uid != 0 && config_.quotas.sockets && registry_.sockets_of(cred->uid) >= config_.quotas.sockets) {
            ++refused_.quota_sockets;
            refuse_socket(std::move(socket), Errc::quota_exceeded,
                          "uid " + std::to_string(cred->uid) + " holds its quota of " +
                              std::to_string(config_.quotas.sockets) + " control sockets");
            continue;
        }
        ClientSocket client;
        client.pid = cred->pid;
        client.host_pid = cred->pid;
        client.uid = cred->uid;
        client.gid = cred->gid;
        // The process that connected, as a pidfd: a later process of the same pid is another.
        // Its start time is read while the pidfd says it still runs, so both name the same one.
        auto pidfd = peer_pidfd(socket.get());
        if (!pidfd && (pidfd.error().sys_errno == EMFILE || pidfd.error().sys_errno == ENFILE) && drop_hung_up_clients())
            pidfd = peer_pidfd(socket.get());
        if (pidfd) {
            client.pidfd = std::move(*pidfd);
            client.host_pid = host_pid_of(client.pidfd.get()).value_or(0);
            if (client.host_pid > 0) client.start_time = start_time_of(client.host_pid).value_or(0);
            if (process_exited(client.pidfd.get())) client.start_time = 0;
        } else if (pidfd.error().sys_errno == EMFILE || pidfd.error().sys_errno == ENFILE) {
            ++refused_.at_fd_limit;
            refuse_socket(std::move(socket), Errc::loader_busy, "liteipc-loader is at its fd limit");
            continue;
        }
        int fd = socket.get();
        epoll_event event{EPOLLIN, {.fd = fd}};
        if (::epoll_ctl(io_.epoll.get(), EPOLL_CTL_ADD, fd, &event) != 0) continue;
        client.socket = std::move(socket);
        registry_.clients.emplace(fd, std::move(client));
        check_headroom();
    }
}

void Daemon::serve_client(int fd) {
    auto it = registry_.clients.find(fd);
    if (it == registry_.clients.end()) return;
    ClientSocket& client = it->second;
    if (client.dropping) {
        drop_client(fd);
        return;
    }
    ControlRequest request;
    auto message = detail::receive_message(fd, {reinterpret_cast<std::byte*>(&request), sizeof request}, 0);
    if (!message && message.error().code == Errc::timed_out) return;  // nothing waiting after all
    if (!message || message->bytes == 0) {
        drop_client(fd);
        return;
    }
    std::optional<ControlReply> reply = ControlReply{};
    std::vector<UniqueFd> fds;
    std::string text;
    const bool read_only = request.op == ControlOp::list || request.op == ControlOp::status ||
                           request.op == ControlOp::lookup || request.op == ControlOp::watch_monitor;
    if (message->bytes != sizeof request || request.magic != detail::kControlMagic) {
        reply = refuse(Errc::malformed, EPROTO, "malformed control request from pid " + std::to_string(client.pid));
    } else if (strnlen(request.name, sizeof request.name) == sizeof request.name) {
        reply = refuse(Errc::invalid_argument, EINVAL, "service name longer than 255 bytes");
    } else if (!read_only && (reply = check_sender(client, *message))) {
        // refused: the request is not from the process this socket belongs to
    } else if (!read_only && request.op != ControlOp::hello && !client.registered && !attribute(client)) {
        reply = refuse(Errc::permission_denied, EPERM,
                       "pid " + std::to_string(client.pid) + " is not registered: send hello first");
    } else {
        reply = ControlReply{};
        switch (request.op) {
            case ControlOp::hello:
                reply = hello(client, fds);
                check_headroom();
                break;
            case ControlOp::register_service:
                reply = register_service(client, request, fds);
                check_headroom();
                break;
            case ControlOp::unregister_service: reply = unregister_service(client, request); break;
            case ControlOp::lookup: reply = lookup(request); break;
            case ControlOp::add_access:
            case ControlOp::add_uid:
            case ControlOp::remove_access:
            case ControlOp::remove_uid:
                reply = grant(client, request);
                check_headroom();
                break;
            case ControlOp::add_publisher_uid:
            case ControlOp::add_publisher_pid:
                reply = publisher_grant(client, request);
                break;
            case ControlOp::open_channel:
            case ControlOp::accept_channel:
                reply = channel_half(client, request, message->fds);
                check_headroom();
                break;
            case ControlOp::close_channel: reply = close_channel(client, request); break;
            case ControlOp::list: text = list_text(); break;
            case ControlOp::status: text = status_json(); break;
            case ControlOp::watch_monitor: reply = watch_monitor(client); break;
            default: reply = refuse(Errc::invalid_argument, EOPNOTSUPP, "unknown control operation"); break;
        }
    }
    if (!reply) return;  // answered when the other half arrives
    reply->request_id = request.request_id;
    queue_reply(fd, *reply, std::move(fds), text);
}

void Daemon::queue_reply(int socket, ControlReply reply, std::vector<UniqueFd> fds, const std::string& text) {
    auto it = registry_.clients.find(socket);
    if (it == registry_.clients.end()) return;
    ClientSocket& client = it->second;
    std::string body = text.substr(0, detail::kMaxControlMessage - sizeof reply);
    reply.text_bytes = static_cast<uint32_t>(body.size());
    Outgoing out;
    out.bytes.assign(reinterpret_cast<const char*>(&reply), sizeof reply);
    out.bytes += body;
    out.fds = std::move(fds);
    if (client.outbox.empty()) {
        switch (send_now(socket, out)) {
            case SendOutcome::sent: return;
            case SendOutcome::failed:
                LITEIPC_LOG(info, "reply to pid %d not delivered: %s", client.pid, std::strerror(errno));
                return;  // the hang-up that follows drops the client
            case SendOutcome::would_block: break;
        }
    }
    if (client.outbox.size() >= config_.max_queued_replies) {
        // It sends and does not read: it waits on no one but itself, and nobody waits on it.
        ++refused_.slow_clients;
        LITEIPC_LOG(warn, "dropping pid %d (uid %u): %zu replies it does not read", client.pid, client.uid,
                    client.outbox.size());
        ::shutdown(socket, SHUT_RDWR);  // the hang-up drops it on the next turn of the loop
        client.outbox.clear();
        client.dropping = true;
        return;
    }
    client.outbox.push_back(std::move(out));
    if (!client.watching_writable) {
        epoll_event event{EPOLLIN | EPOLLOUT, {.fd = socket}};
        ::epoll_ctl(io_.epoll.get(), EPOLL_CTL_MOD, socket, &event);
        client.watching_writable = true;
    }
}

void Daemon::flush_outbox(ClientSocket& client) {
    while (!client.outbox.empty()) {
        SendOutcome outcome = send_now(client.socket.get(), client.outbox.front());
        if (outcome == SendOutcome::would_block) return;
        client.outbox.pop_front();  // sent, or the client is gone and its hang-up follows
    }
    epoll_event event{EPOLLIN, {.fd = client.socket.get()}};
    ::epoll_ctl(io_.epoll.get(), EPOLL_CTL_MOD, client.socket.get(), &event);
    client.watching_writable = false;
    flush_monitor(client);
}

ControlReply Daemon::watch_monitor(ClientSocket& client) {
    if (client.watching_monitor) return {};
    if (client.uid != 0) {
        std::size_t watching = 0;
        for (const auto& [fd, other] : registry_.clients) watching += other.watching_monitor && other.uid == client.uid;
        if (watching >= Registry::kWatchersPerUid) {
            ++refused_.quota_watchers;
            return refuse(Errc::quota_exceeded, EDQUOT,
                          "uid " + std::to_string(client.uid) + " has its " + std::to_string(Registry::kWatchersPerUid) +
                              " monitor watchers already");
        }
    }
    if (auto ok = kernel_->set_watchers(registry_.monitor_watchers + 1); !ok)
        return refuse(Errc::kernel, EIO, ok.error().describe());
    ++registry_.monitor_watchers;
    client.watching_monitor = true;
    return {};
}

void Daemon::fan_out(const liteipc_monitor_record& record) {
    // Every watcher gets its own copy; one that does not read loses only its own records.
    for (auto& [fd, client] : registry_.clients) {
        if (!client.watching_monitor || client.dropping) continue;
        if (client.monitor_queue.size() >= Registry::kMonitorQueueRecords)
            ++client.monitor_dropped;
        else
            client.monitor_queue.push_back(record);
    }
}

void Daemon::flush_monitor(ClientSocket& client) {
    if (!client.outbox.empty() || client.dropping) return;  // replies first: flush_outbox comes back here
    while (!client.monitor_queue.empty()) {
        detail::MonitorBatch header;
        header.count = static_cast<uint32_t>(std::min<std::size_t>(client.monitor_queue.size(),
                                                                   detail::kMonitorBatchRecords));
        header.dropped = client.monitor_dropped;
        Outgoing batch;
        batch.bytes.assign(reinterpret_cast<const char*>(&header), sizeof header);
        for (uint32_t i = 0; i < header.count; ++i)
            batch.bytes.append(reinterpret_cast<const char*>(&client.monitor_queue[i]), sizeof(liteipc_monitor_record));
        SendOutcome outcome = send_now(client.socket.get(), batch);
        if (outcome == SendOutcome::would_block) {
            if (!client.watching_writable) {
                epoll_event event{EPOLLIN | EPOLLOUT, {.fd = client.socket.get()}};
                ::epoll_ctl(io_.epoll.get(), EPOLL_CTL_MOD, client.socket.get(), &event);
                client.watching_writable = true;
            }
            return;
        }
        if (outcome == SendOutcome::failed) {
            client.monitor_queue.clear();  // gone: its hang-up drops it
            return;
        }
        client.monitor_queue.erase(client.monitor_queue.begin(), client.monitor_queue.begin() + header.count);
    }
}

void Daemon::drop_client(int fd) {
    auto it = registry_.clients.find(fd);
    if (it == registry_.clients.end()) return;
    ClientSocket client = std::move(it->second);
    registry_.clients.erase(it);
    ::epoll_ctl(io_.epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
    abandon_pending_of(fd);
    if (client.watching_monitor) {
        --registry_.monitor_watchers;
        if (auto ok = kernel_->set_watchers(registry_.monitor_watchers); !ok)
            LITEIPC_LOG(warn, "monitor watchers: %s", ok.error().describe().c_str());
    }
    if (!client.registered || client.auxiliary) return;
    // A dying process's record is in the ring before its socket closes: read it first, so that
    // a death is never taken for an orderly close.
    kernel_->consume_deaths();
    const liteipc_proc& proc = kernel_->proc(client.slot);
    if (proc.state != LITEIPC_PROC_ALIVE || proc.generation != client.generation) return;
    // Still registered: it closed its context (a death would have been in the ring already).
    if (auto ok = kernel_->close_proc(client.slot, client.generation); !ok) {
        // ESRCH: it died between its socket closing and now; the death record covers it.
        if (ok.error().sys_errno != ESRCH)
            LITEIPC_LOG(warn, "close of slot %u: %s", client.slot, ok.error().describe().c_str());
        return;
    }
    LITEIPC_LOG(info, "pid %d closed its context (slot %u)", client.pid, client.slot);
    kernel_->drop_inbox(client.slot);
    release_holdings_of(client.slot, client.generation);
}

}  // namespace liteipc::loader
