#include "loader_query.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/control_protocol.h"
#include "liteipc/context.h"
#include "common/unix_socket.h"

namespace liteipc::cli {

using detail::ControlOp;
using detail::ControlReply;
using detail::ControlRequest;
using detail::UniqueFd;

LoaderAddress default_address() {
    ContextOptions defaults;  // LITEIPC_SOCKET and LITEIPC_PIN_ROOT, or the library's defaults
    return {defaults.socket_path, defaults.pin_root};
}

namespace {

Result<UniqueFd> connect_to(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) return fail(Errc::invalid_argument, "socket path too long: " + path);
    std::strcpy(address.sun_path, path.c_str());
    UniqueFd socket(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!socket) return fail_errno("socket");
    if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return socket;
    int err = errno;
    if (err == EACCES || err == EPERM)
        return fail(Errc::permission_denied,
                    "may not open " + path + ": only root and members of the liteipc group use liteipc; "
                    "join the group (ask an administrator: usermod -aG liteipc " + std::string(std::getenv("USER") ? std::getenv("USER") : "USER") +
                    ", then log in again)", err);
    return fail(Errc::loader_unavailable,
                "no liteipc-loader at " + path + ": start it as root (systemctl start liteipc-loader)", err);
}

}  // namespace

namespace {

// One request on `socket` and its reply; the reply's text, if any, goes to `text`.
Result<> ask(int socket, ControlOp op, std::chrono::milliseconds timeout, std::string* text) {
    ControlRequest request{};
    request.op = op;
    request.request_id = 1;
    if (auto sent = detail::send_message(socket, detail::as_bytes_of(request)); !sent)
        return std::unexpected(sent.error());
    std::vector<std::byte> buffer(detail::kMaxControlMessage);
    auto received = detail::receive_message(socket, buffer, static_cast<int>(timeout.count()));
    if (!received) return std::unexpected(received.error());
    ControlReply reply;
    if (received->bytes < sizeof reply) return fail(Errc::malformed, "short reply from liteipc-loader");
    std::memcpy(&reply, buffer.data(), sizeof reply);
    if (reply.magic != detail::kControlMagic) return fail(Errc::malformed, "reply from liteipc-loader has a bad magic");
    if (reply.result != 0) {
        reply.message[sizeof reply.message - 1] = '\0';
        return fail(Errc::system, std::string("liteipc-loader refused: ") + reply.message, -reply.result);
    }
    if (text) {
        std::size_t bytes = std::min<std::size_t>(reply.text_bytes, received->bytes - sizeof reply);
        text->assign(reinterpret_cast<const char*>(buffer.data()) + sizeof reply, bytes);
    }
    return {};
}

}  // namespace

Result<std::string> query_status(const LoaderAddress& address, std::chrono::milliseconds timeout) {
    auto socket = connect_to(address.socket_path);
    if (!socket) return std::unexpected(socket.error());
    std::string text;
    if (auto ok = ask(socket->get(), ControlOp::status, timeout, &text); !ok) return std::unexpected(ok.error());
    return text;
}

Result<UniqueFd> watch_monitor(const LoaderAddress& address, std::chrono::milliseconds timeout) {
    auto socket = connect_to(address.socket_path);
    if (!socket) return std::unexpected(socket.error());
    if (auto ok = ask(socket->get(), ControlOp::watch_monitor, timeout, nullptr); !ok)
        return std::unexpected(ok.error());
    return std::move(*socket);
}

Result<Context> open_context(const LoaderAddress& address, std::chrono::milliseconds timeout) {
    ContextOptions options;
    options.socket_path = address.socket_path;
    options.pin_root = address.pin_root;
    options.default_timeout = timeout;
    return Context::open(options);
}

}  // namespace liteipc::cli
