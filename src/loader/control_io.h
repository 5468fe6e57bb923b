// The loader's side of a control socket: non-blocking send. The loader never waits on a client:
// what a client does not take at once waits in that client's bounded outbox.
#pragma once

#include <string>
#include <vector>

#include "liteipc/error.h"
#include "common/mapping.h"

namespace liteipc::loader {

using detail::UniqueFd;

struct Outgoing {
    std::string bytes;
    std::vector<UniqueFd> fds;  // sent, then closed here
};

enum class SendOutcome { sent, would_block, failed };
SendOutcome send_now(int socket, const Outgoing& message);

}  // namespace liteipc::loader
