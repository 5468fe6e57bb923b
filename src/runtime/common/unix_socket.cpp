#include "common/unix_socket.h"

#include <poll.h>
#include <sys/socket.h>

#include <cstring>

namespace liteipc::detail {

Result<> send_message(int socket, std::span<const std::byte> data, std::span<const int> fds, bool wait) {
    if (fds.size() > kMaxFdsPerMessage) return fail(Errc::invalid_argument, "too many fds in one message");
    iovec iov{const_cast<std::byte*>(data.data()), data.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (!fds.empty()) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
    }
    for (;;) {
        ssize_t sent = ::sendmsg(socket, &msg, MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT));
        if (sent >= 0) return {};
        if (errno == EINTR) continue;
        return fail_errno("sendmsg on control socket");
    }
}

Result<ReceivedMessage> receive_message(int socket, std::span<std::byte> buffer, int timeout_ms) {
    if (timeout_ms >= 0) {
        pollfd pfd{socket, POLLIN, 0};
        int ready;
        do ready = ::poll(&pfd, 1, timeout_ms);
        while (ready < 0 && errno == EINTR);
        if (ready < 0) return fail_errno("poll on control socket");
        if (ready == 0) return fail(Errc::timed_out, "no answer on control socket");
    }
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t got;
    do got = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    while (got < 0 && errno == EINTR);
    if (got < 0) return fail_errno("recvmsg on control socket");

    ReceivedMessage received;
    received.bytes = static_cast<std::size_t>(got);
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_CREDENTIALS &&
            cmsg->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
            ucred cred;
            std::memcpy(&cred, CMSG_DATA(cmsg), sizeof cred);
            received.sender_pid = cred.pid;
            continue;
        }
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
        std::size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
            received.fds.emplace_back(fd);
        }
    }
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
        return fail(Errc::malformed, "truncated message on control socket");
    return received;
}

Result<PeerCredentials> peer_credentials(int socket) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(socket, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return fail_errno("SO_PEERCRED");
    return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

}  // namespace liteipc::detail
