#include "capped_listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace liteipc::bridge {

namespace {

// File descriptors a held connection costs: gRPC's socket and the dup the loop watches.
constexpr uint64_t kFdsPerConnection = 2;
// What the rest of the bridge may hold besides (pools, loader, imports, logs).
constexpr uint64_t kFdsBesides = 256;

// The address of a peer, without its port; IPv4-mapped IPv6 as IPv4, so that a source is counted
// once whichever family the listener has.
std::string source_address(int fd) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return {};
    char text[INET6_ADDRSTRLEN] = {};
    if (peer.ss_family == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, text, sizeof text);
    } else if (peer.ss_family == AF_INET6) {
        const in6_addr& address = reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&address)) ::inet_ntop(AF_INET, &address.s6_addr[12], text, sizeof text);
        else ::inet_ntop(AF_INET6, &address, text, sizeof text);
    }
    return text;
}

// Room for `connections` in this process's fd limit: the soft limit raised to the hard one.
Result<void> fd_room_for(uint64_t connections) {
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return fail_errno("getrlimit");
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
    const uint64_t needed = kFdsPerConnection * connections + kFdsBesides;
    if (files.rlim_max != RLIM_INFINITY && files.rlim_max < needed)
        return fail(Errc::invalid_argument, "limits.connections " + std::to_string(connections) + " needs " +
                                                std::to_string(needed) + " file descriptors, RLIMIT_NOFILE allows " +
                                                std::to_string(files.rlim_max) + " (LimitNOFILE= in the unit)");
    return {};
}

Result<int> bound_socket(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos || colon + 1 == address.size())
        return fail(Errc::invalid_argument, "listen '" + address + "': host:port expected");
    std::string host = address.substr(0, colon);
    const std::string port = address.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (const int error = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found); error != 0)
        return fail(Errc::invalid_argument, "listen '" + address + "': " + ::gai_strerror(error));
    std::unexpected<Error> last = fail(Errc::invalid_argument, "listen '" + address + "': no address");
    for (addrinfo* candidate = found; candidate; candidate = candidate->ai_next) {
        const int fd = ::socket(candidate->ai_family, candidate->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last = fail_errno("socket");
            continue;
        }
        const int on = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // a restarted bridge takes its port back at once
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);  // inherited by accepted sockets
        if (::bind(fd, candidate->ai_addr, candidate->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
            ::freeaddrinfo(found);
            return fd;
        }
        last = fail_errno("listen on " + address);
        ::close(fd);
    }
    ::freeaddrinfo(found);
    return last;
}

}  // namespace

Result<std::unique_ptr<CappedListener>> CappedListener::listen(const std::string& address, const ServerLimits& limits,
                                                               ConnectionCounters& counters) {
    if (auto room = fd_room_for(limits.connections); !room) return std::unexpected(room.error());
    auto listen_fd = bound_socket(address);
    if (!listen_fd) return std::unexpected(listen_fd.error());
    const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    const int stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event listening{.events = EPOLLIN, .data = {.fd = *listen_fd}};
    epoll_event stopping{.events = EPOLLIN, .data = {.fd = stop_fd}};
    if (epoll_fd < 0 || stop_fd < 0 || ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, *listen_fd, &listening) != 0 ||
        ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, stop_fd, &stopping) != 0) {
        auto error = fail_errno("epoll or eventfd");
        for (int fd : {*listen_fd, epoll_fd, stop_fd})
            if (fd >= 0) ::close(fd);
        return error;
    }
    return std::unique_ptr<CappedListener>(new CappedListener(*listen_fd, epoll_fd, stop_fd, limits, counters));
}

CappedListener::CappedListener(int listen_fd, int epoll_fd, int stop_fd, const ServerLimits& limits,
                               ConnectionCounters& counters)
    : listen_fd_(listen_fd), epoll_fd_(epoll_fd), stop_fd_(stop_fd), per_source_(limits.connections_per_source),
      total_(limits.connections), counters_(counters) {}

CappedListener::~CappedListener() {
    if (thread_.joinable()) {
        const uint64_t one = 1;
        ssize_t ignored = ::write(stop_fd_, &one, sizeof one);
        (void)ignored;
        thread_.join();
    }
    for (const auto& [fd, source] : source_of_) ::close(fd);
    for (int fd : {listen_fd_, epoll_fd_, stop_fd_}) ::close(fd);
}

void CappedListener::start(std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> grpc) {
    grpc_ = std::move(grpc);
    thread_ = std::thread([this] { run(); });
}

void CappedListener::run() {
    epoll_event events[64];
    for (;;) {
        const int ready = ::epoll_wait(epoll_fd_, events, 64, -1);
        if (ready < 0 && errno != EINTR) {
            LITEIPC_LOG(error, "connection loop: epoll_wait: %s", std::strerror(errno));
            return;
        }
        for (int i = 0; i < ready; ++i) {
            const int fd = events[i].data.fd;
            if (fd == stop_fd_) return;
            if (fd == listen_fd_) accept_all();
            else release(fd);
        }
    }
}

void CappedListener::accept_all() {
    for (;;) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            admit(fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            // Out of fds or memory though the caps fit the limit: wait rather than spin on a
            // listening socket that stays readable.
            LITEIPC_LOG(warn, "accept: %s; accepting again in 100 ms", std::strerror(errno));
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return;
    }
}

void CappedListener::admit(int fd) {
    const std::string source = source_address(fd);
    unsigned& from_source = open_[source];
    if (source.empty() || from_source >= per_source_ || source_of_.size() >= total_) {
        if (from_source == 0) open_.erase(source);
        refuse(fd, source);
        return;
    }
    const int watched = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    epoll_event closing{.events = EPOLLRDHUP, .data = {.fd = watched}};
    if (watched < 0 || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, watched, &closing) != 0) {
        LITEIPC_LOG(warn, "connection from %s not taken: %s", source.c_str(), std::strerror(errno));
        if (watched >= 0) ::close(watched);
        if (from_source == 0) open_.erase(source);
        ::close(fd);
        return;
    }
    ++from_source;
    source_of_.emplace(watched, source);
    ++counters_.open;
    ++counters_.accepted;
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters connection;
    connection.listener_fd = listen_fd_;
    connection.fd = fd;  // gRPC's from here on
    grpc_->HandleNewConnection(&connection);
}

void CappedListener::refuse(int fd, const std::string& source) {
    // An RST rather than a FIN: the stranger's socket is gone at once, nothing lingers here.
    const linger abort{.l_onoff = 1, .l_linger = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    ::close(fd);
    ++counters_.refused;
    ++refused_unlogged_;
    // One line a second at most: a flood of refusals would otherwise be a flood of lines.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_refusal_log_ < std::chrono::seconds(1)) return;
    LITEIPC_LOG(warn,
                "refused %llu connections (the last from %s): limits.connections_per_source %u, limits.connections "
                "%u, %zu open",
                static_cast<unsigned long long>(refused_unlogged_), source.empty() ? "an unknown address" : source.c_str(),
                per_source_, total_, source_of_.size());
    refused_unlogged_ = 0;
    last_refusal_log_ = now;
}

void CappedListener::release(int watched_fd) {
    auto watched = source_of_.find(watched_fd);
    if (watched == source_of_.end()) return;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, watched_fd, nullptr);
    ::close(watched_fd);
    if (auto source = open_.find(watched->second); source != open_.end() && --source->second == 0) open_.erase(source);
    source_of_.erase(watched);
    --counters_.open;
}

}  // namespace liteipc::bridge
