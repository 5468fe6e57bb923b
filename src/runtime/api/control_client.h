// A process's client of the loader's control socket: one request at a time on its own socket,
// reconnecting (and registering again, which a restarted loader answers with the same slot) when
// the loader went away in between; and one-off sockets for requests that wait on another process.
#pragma once

#include <chrono>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/control_protocol.h"
#include "common/mapping.h"
#include "liteipc/error.h"

namespace liteipc {

struct ControlResponse {
    detail::ControlReply reply;
    std::vector<detail::UniqueFd> fds;
    std::string text;
};

class ControlClient {
public:
    ControlClient(std::string socket_path, std::chrono::milliseconds default_timeout)
        : socket_path_(std::move(socket_path)), default_timeout_(default_timeout) {}

    // Connects to the loader; the first request is the caller's hello.
    Result<> connect();

    // `timeout` 0 means the default. A lost socket is reconnected and the request asked again once.
    Result<ControlResponse> request(const detail::ControlRequest& request,
                                    std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

    // A request on a socket of its own: it holds no lock and delays no other request. `fds` go
    // with the request.
    Result<ControlResponse> request_once(const detail::ControlRequest& request, std::span<const int> fds,
                                         std::chrono::milliseconds timeout);

private:
    Result<detail::UniqueFd> open_socket() const;

    const std::string socket_path_;
    const std::chrono::milliseconds default_timeout_;
    std::mutex mutex_;  // one request at a time on socket_
    uint64_t last_request_id_ = 0;
    detail::UniqueFd socket_;
};

}  // namespace liteipc
