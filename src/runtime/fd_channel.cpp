#include "fd_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "log.h"

namespace liteipc::detail {

namespace {
// A peer can send batches nobody asks for; keep a bounded number, then drop the oldest.
constexpr std::size_t kMaxEarlyBatches = 256;
}  // namespace

Result<> FdChannel::send(uint64_t batch, std::span<const int> fds) {
    if (!socket_) return fail(Errc::invalid_argument, "this connection carries no fds");
    if (fds.empty() || fds.size() > kMaxFdsPerBatch)
        return fail(Errc::invalid_argument, "a message carries 1.." + std::to_string(kMaxFdsPerBatch) + " fds");
    iovec iov{&batch, sizeof batch};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerBatch)] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
    for (;;) {
        if (::sendmsg(socket_.get(), &msg, MSG_NOSIGNAL) >= 0) return {};
        if (errno == EINTR) continue;
        if (errno == EPIPE || errno == ECONNRESET) return fail_errno("sending fds: the peer is gone", Errc::dead_object);
        return fail_errno("sending fds");
    }
}

Result<std::vector<UniqueFd>> FdChannel::receive(uint64_t batch, uint32_t count, Deadline deadline) {
    if (!socket_) return fail(Errc::malformed, "fds announced on a connection that carries none");
    std::lock_guard lock(mutex_);
    for (;;) {
        if (auto it = early_.find(batch); it != early_.end()) {
            std::vector<UniqueFd> fds = std::move(it->second);
            early_.erase(it);
            if (fds.size() != count)
                return fail(Errc::malformed, "message announced " + std::to_string(count) + " fds, " +
                                                 std::to_string(fds.size()) + " arrived");
            return fds;
        }
        int timeout_ms = -1;
        if (!deadline.is_forever())
            timeout_ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline.remaining()).count());
        pollfd pfd{socket_.get(), POLLIN, 0};
        int ready = ::poll(&pfd, 1, timeout_ms);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return fail_errno("waiting for fds");
        if (ready == 0) return fail(Errc::timed_out, "the fds of a message did not arrive");

        uint64_t tag = 0;
        iovec iov{&tag, sizeof tag};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerBatch)] = {};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t got = ::recvmsg(socket_.get(), &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got < 0) return fail_errno("receiving fds");
        if (got == 0) return fail(Errc::dead_object, "the peer closed the fd socket");
        std::vector<UniqueFd> fds;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            std::size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (std::size_t i = 0; i < n; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                fds.emplace_back(fd);
            }
        }
        if (got != sizeof tag || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
            LITEIPC_LOG(warn, "dropped a malformed fd batch from the peer");
            continue;
        }
        if (early_.size() >= kMaxEarlyBatches) {
            LITEIPC_LOG(warn, "too many unclaimed fd batches from the peer: dropping the oldest");
            early_.erase(early_.begin());
        }
        early_[tag] = std::move(fds);
    }
}

void close_untaken(std::span<int> fds) noexcept {
    for (int& fd : fds) {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
}

}  // namespace liteipc::detail
