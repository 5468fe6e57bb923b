// SOCK_SEQPACKET helpers: one message per call, with descriptors attached via SCM_RIGHTS.
#pragma once

#include <sys/types.h>

#include <optional>
#include <span>
#include <vector>

#include "liteipc/error.h"
#include "common/mapping.h"

namespace liteipc::detail {

inline constexpr int kMaxFdsPerMessage = 32;  // Parcel's limit on special objects

struct ReceivedMessage {
    std::size_t bytes = 0;          // 0 means the peer closed the socket
    std::vector<UniqueFd> fds;      // owned by the receiver
    std::optional<pid_t> sender_pid;  // SCM_CREDENTIALS, when the receiver turned on SO_PASSCRED
};

// Sends `data` and `fds` (borrowed; the caller keeps its copies) as one message. With
// `wait` false a full socket is an error with sys_errno EAGAIN instead of a wait.
Result<> send_message(int socket, std::span<const std::byte> data, std::span<const int> fds = {}, bool wait = true);

// Receives one message into `buffer`; a truncated message or truncated fd list is an error.
// `timeout_ms` < 0 waits forever; 0 takes only a message already waiting (else Errc::timed_out).
Result<ReceivedMessage> receive_message(int socket, std::span<std::byte> buffer, int timeout_ms = -1);

// The kernel's word on who is at the other end of a connected Unix socket.
struct PeerCredentials {
    pid_t pid;
    uid_t uid;
    gid_t gid;
};
Result<PeerCredentials> peer_credentials(int socket);

template <typename T>
std::span<const std::byte> as_bytes_of(const T& value) {
    return std::as_bytes(std::span<const T, 1>(&value, 1));
}

}  // namespace liteipc::detail
