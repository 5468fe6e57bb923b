// The loader's side of a control socket: non-blocking receive with the sender's credentials, and
// non-blocking send. The loader never waits on a client: what a client does not take at once
// waits in that client's bounded outbox.
#pragma once

#include <sys/types.h>

#include <deque>
#include <span>
#include <optional>
#include <string>
#include <vector>

#include "liteipc/error.h"
#include "mapping.h"

namespace liteipc::loader {

using detail::UniqueFd;

struct ReceivedRequest {
    std::size_t bytes = 0;  // 0: the peer closed
    std::vector<UniqueFd> fds;
    std::optional<pid_t> sender_pid;  // SCM_CREDENTIALS: the sending process at send time
    uid_t sender_uid = 0;
};

// One message; Errc::timed_out when none is waiting.
Result<ReceivedRequest> receive_request(int socket, std::span<std::byte> buffer);

struct Outgoing {
    std::string bytes;
    std::vector<UniqueFd> fds;  // sent, then closed here
};

enum class SendOutcome { sent, would_block, failed };
SendOutcome send_now(int socket, const Outgoing& message);

}  // namespace liteipc::loader
