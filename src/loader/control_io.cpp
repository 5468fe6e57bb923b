#include "control_io.h"

#include <sys/socket.h>

#include <cstring>

#include "unix_socket.h"

namespace liteipc::loader {

Result<ReceivedRequest> receive_request(int socket, std::span<std::byte> buffer) {
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * detail::kMaxFdsPerMessage)] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t got;
    do got = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        if (errno == EAGAIN) return fail(Errc::timed_out, "no message waiting");
        return fail_errno("recvmsg on control socket");
    }
    ReceivedRequest received;
    received.bytes = static_cast<std::size_t>(got);
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET) continue;
        if (cmsg->cmsg_type == SCM_RIGHTS) {
            std::size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (std::size_t i = 0; i < count; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
                received.fds.emplace_back(fd);
            }
        } else if (cmsg->cmsg_type == SCM_CREDENTIALS && cmsg->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
            ucred cred;
            std::memcpy(&cred, CMSG_DATA(cmsg), sizeof cred);
            received.sender_pid = cred.pid;
            received.sender_uid = cred.uid;
        }
    }
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) return fail(Errc::malformed, "truncated message on control socket");
    return received;
}

SendOutcome send_now(int socket, const Outgoing& message) {
    iovec iov{const_cast<char*>(message.bytes.data()), message.bytes.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * detail::kMaxFdsPerMessage)] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (!message.fds.empty()) {
        if (message.fds.size() > detail::kMaxFdsPerMessage) return SendOutcome::failed;
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * message.fds.size());
        cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * message.fds.size());
        for (std::size_t i = 0; i < message.fds.size(); ++i) {
            int fd = message.fds[i].get();
            std::memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &fd, sizeof fd);
        }
    }
    for (;;) {
        ssize_t sent = ::sendmsg(socket, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent >= 0) return SendOutcome::sent;
        if (errno == EINTR) continue;
        return errno == EAGAIN ? SendOutcome::would_block : SendOutcome::failed;
    }
}

}  // namespace liteipc::loader
