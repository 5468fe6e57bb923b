#include "control_io.h"

#include "common/unix_socket.h"

namespace liteipc::loader {

SendOutcome send_now(int socket, const Outgoing& message) {
    std::vector<int> fds;
    for (const auto& fd : message.fds) fds.push_back(fd.get());
    auto sent = detail::send_message(socket, std::as_bytes(std::span(message.bytes.data(), message.bytes.size())),
                                     fds, /*wait=*/false);
    if (sent) return SendOutcome::sent;
    return sent.error().sys_errno == EAGAIN ? SendOutcome::would_block : SendOutcome::failed;
}

}  // namespace liteipc::loader
