// liteipc's one error model.
//
// Every operation that can fail returns Result<T>: either the value or an Error with a code,
// the errno of the failing system call (0 when none) and a message that says what failed and,
// where there is one, how to fix it. No exception crosses the API.
#pragma once

#include <cerrno>
#include <cstring>
#include <expected>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "liteipc/export.h"

namespace liteipc {

enum class Errc : int {
    invalid_argument = 1,  // caller passed something malformed or out of range
    not_found,             // no such service, handle, buffer or record
    already_exists,        // name taken, second loader on the same pin root
    permission_denied,     // the kernel-checked policy refused the caller
    dead_object,           // the peer process died (LiteIPC's LITEIPC_DEAD_OBJECT)
    timed_out,             // the deadline passed before the operation completed
    no_memory,             // a pool, ring or table is full
    malformed,             // a message, record or reply failed validation
    loader_unavailable,    // liteipc-loader is not running or its socket is unreachable
    kernel,                // a BPF object could not be opened, loaded, attached or run
    system,                // any other failing system call (see Error::sys_errno)
    closed,                // the context, connection or service was closed
    quota_exceeded,        // the caller's uid holds its quota of processes, sockets, services,
                           // connections, channel halves, grants or subscriptions (liteipc status)
    identity_mismatch,     // the request did not come from the live process the socket or slot
                           // belongs to (a socket kept after its creator exited, or handed on)
    name_not_allowed,      // the loader's name policy gives this service name to other owners
    loader_busy,           // the loader is at its fd limit, or dropped a client that did not read
    unknown_method,        // the service's interface has no method of that code (an older version)
    abi_mismatch,          // the loader's pinned kernel plane, or a connection's shared ctrl region,
                           // speaks another ABI or channel layout version than this binary (the
                           // message says what to upgrade or unload)
    interface_mismatch,    // the kernel refused the connect: the service serves another interface
                           // contract than the client speaks (liteipc-idl, docs/IDL.md)
};

constexpr std::string_view to_string(Errc code) noexcept {
    switch (code) {
        case Errc::invalid_argument: return "invalid argument";
        case Errc::not_found: return "not found";
        case Errc::already_exists: return "already exists";
        case Errc::permission_denied: return "permission denied";
        case Errc::dead_object: return "dead object";
        case Errc::timed_out: return "timed out";
        case Errc::no_memory: return "no memory";
        case Errc::malformed: return "malformed";
        case Errc::loader_unavailable: return "loader unavailable";
        case Errc::kernel: return "kernel";
        case Errc::system: return "system";
        case Errc::closed: return "closed";
        case Errc::quota_exceeded: return "quota exceeded";
        case Errc::identity_mismatch: return "identity mismatch";
        case Errc::name_not_allowed: return "name not allowed";
        case Errc::loader_busy: return "loader busy";
        case Errc::unknown_method: return "unknown method";
        case Errc::abi_mismatch: return "ABI mismatch";
        case Errc::interface_mismatch: return "interface mismatch";
    }
    return "unknown";
}

struct Error {
    Errc code;
    int sys_errno = 0;
    std::string message;

    // "dead object: call on handle 3: peer 1234 exited"
    std::string describe() const {
        std::string s{to_string(code)};
        if (!message.empty()) s += ": " + message;
        if (sys_errno != 0) s += std::string(" (") + std::strerror(sys_errno) + ")";
        return s;
    }
};

template <typename T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(Errc code, std::string message, int sys_errno = 0) {
    return std::unexpected<Error>(Error{code, sys_errno, std::move(message)});
}

// Errc as a std::error_code, for code that reports errors that way (asio, std::filesystem style):
// std::error_code ec = liteipc::Errc::timed_out; ec.category().name() is "liteipc".
LITEIPC_API const std::error_category& liteipc_category() noexcept;
inline std::error_code make_error_code(Errc code) noexcept { return {static_cast<int>(code), liteipc_category()}; }

// For a failing system call: captures errno at once.
inline std::unexpected<Error> fail_errno(std::string message, Errc code = Errc::system) {
    int e = errno;
    return fail(code, std::move(message), e);
}

}  // namespace liteipc

template <>
struct std::is_error_code_enum<liteipc::Errc> : std::true_type {};
