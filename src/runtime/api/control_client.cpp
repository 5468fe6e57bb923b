#include "api/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>

#include "common/errno_code.h"
#include "common/log.h"
#include "common/unix_socket.h"

namespace liteipc {
using detail::ControlOp;
using detail::ControlRequest;
using detail::UniqueFd;
using detail::errc_from_errno;

Result<UniqueFd> ControlClient::open_socket() const {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path_.size() >= sizeof address.sun_path)
        return fail(Errc::invalid_argument, "socket path too long: " + socket_path_);
    std::strcpy(address.sun_path, socket_path_.c_str());
    UniqueFd socket(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!socket) return fail_errno("socket");
    if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        int err = errno;
        if (err == EACCES || err == EPERM)
            return fail(Errc::permission_denied,
                        "may not open " + socket_path_ +
                            ": only root and members of the liteipc group use liteipc; join the group "
                            "(an administrator runs usermod -aG liteipc USER; then log in again)",
                        err);
        LITEIPC_LOG(info, "cannot reach liteipc-loader at %s", socket_path_.c_str());
        return fail(Errc::loader_unavailable,
                    "cannot reach liteipc-loader at " + socket_path_ +
                        ": start it with 'liteipc-loader' as root (or 'systemctl start liteipc-loader')",
                    err);
    }
    return socket;
}

Result<> ControlClient::connect() {
    auto socket = open_socket();
    if (!socket) return std::unexpected(socket.error());
    socket_ = std::move(*socket);
    return {};
}

namespace {

// Reads one reply to `request_id` from `socket`, skipping late replies to abandoned requests.
Result<ControlResponse> receive_reply(int socket, uint64_t request_id, std::chrono::steady_clock::time_point deadline) {
    std::vector<std::byte> buffer(detail::kMaxControlMessage);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        auto received = detail::receive_message(socket, buffer, std::max<int>(0, static_cast<int>(left.count())));
        // A socket the loader refused and closed reports the reset once; its refusal follows.
        if (!received && received.error().sys_errno == ECONNRESET)
            received = detail::receive_message(socket, buffer, 0);
        if (!received) return std::unexpected(received.error());
        if (received->bytes == 0) return fail(Errc::closed, "liteipc-loader closed the socket");
        ControlResponse response;
        if (received->bytes < sizeof response.reply) return fail(Errc::malformed, "short reply from liteipc-loader");
        std::memcpy(&response.reply, buffer.data(), sizeof response.reply);
        // Request id 0 is the loader refusing the socket itself (fd limit, socket quota).
        if (response.reply.request_id != request_id && !(response.reply.request_id == 0 && response.reply.result != 0))
            continue;  // a late reply to an abandoned request: its fds close here
        std::size_t text = std::min<std::size_t>(response.reply.text_bytes, received->bytes - sizeof response.reply);
        response.text.assign(reinterpret_cast<const char*>(buffer.data()) + sizeof response.reply, text);
        response.fds = std::move(received->fds);
        if (response.reply.result != 0) {
            response.reply.message[sizeof response.reply.message - 1] = '\0';
            Errc code = response.reply.errc >= static_cast<uint32_t>(Errc::invalid_argument) &&
                                response.reply.errc <= static_cast<uint32_t>(Errc::loader_busy)
                            ? static_cast<Errc>(response.reply.errc)
                            : errc_from_errno(-response.reply.result);
            return fail(code, response.reply.message, -response.reply.result);
        }
        return response;
    }
}

// A send that failed because the loader refused the socket and closed it: the refusal, with its
// named error, is still waiting to be read.
Result<ControlResponse> refusal_or(int socket, Error send_error) {
    auto refusal = receive_reply(socket, 0, std::chrono::steady_clock::now());
    if (!refusal && refusal.error().code != Errc::timed_out && refusal.error().code != Errc::closed &&
        refusal.error().code != Errc::system)
        return refusal;
    return std::unexpected(std::move(send_error));
}

}  // namespace

Result<ControlResponse> ControlClient::request_once(const ControlRequest& request, std::span<const int> fds,
                                                    std::chrono::milliseconds timeout) {
    auto socket = open_socket();
    if (!socket) return std::unexpected(socket.error());
    ControlRequest numbered = request;
    numbered.request_id = 1;
    if (auto sent = detail::send_message(socket->get(), detail::as_bytes_of(numbered), fds); !sent)
        return refusal_or(socket->get(), sent.error());
    if (timeout.count() <= 0) timeout = default_timeout_;
    return receive_reply(socket->get(), numbered.request_id, std::chrono::steady_clock::now() + timeout);
}

Result<ControlResponse> ControlClient::request(const ControlRequest& request, std::chrono::milliseconds timeout) {
    std::lock_guard lock(mutex_);
    if (timeout.count() <= 0) timeout = default_timeout_;
    ControlRequest numbered = request;
    for (int attempt = 0;; ++attempt) {
        numbered.request_id = ++last_request_id_;
        auto sent = detail::send_message(socket_.get(), detail::as_bytes_of(numbered));
        auto response = sent ? receive_reply(socket_.get(), numbered.request_id,
                                             std::chrono::steady_clock::now() + timeout)
                             : refusal_or(socket_.get(), sent.error());
        if (response || attempt > 0 || request.op == ControlOp::hello ||
            (response.error().code != Errc::closed && response.error().code != Errc::system))
            return response;
        // The loader restarted: reconnect, take our slot back, and ask again once.
        LITEIPC_LOG(info, "control socket lost (%s); reconnecting", response.error().describe().c_str());
        if (auto ok = connect(); !ok) return std::unexpected(ok.error());
        ControlRequest again{};
        again.op = ControlOp::hello;
        again.request_id = ++last_request_id_;
        if (auto ok = detail::send_message(socket_.get(), detail::as_bytes_of(again)); !ok)
            return std::unexpected(ok.error());
        if (auto ok = receive_reply(socket_.get(), again.request_id, std::chrono::steady_clock::now() + timeout); !ok)
            return std::unexpected(ok.error());
    }
}

}  // namespace liteipc
