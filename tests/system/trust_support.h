// What the trust tests share: control requests spoken raw (as an attacker would), the loader's
// status read as numbers, sealed regions, fd passing, and a hostile process of another uid that
// stays alive until the test has checked what it wanted to check while it ran.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <span>
#include <string>

#include "api/context_impl.h"
#include "common/control_protocol.h"
#include "test_processes.h"
#include "common/unix_socket.h"

namespace liteipc::testing {

inline constexpr uid_t kOtherUid = 65533;  // an honest uid that is neither root nor the attacker

// A blocking control socket to the loader, as a client library would open it; -1 when refused.
inline int connect_raw(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

struct RawReply {
    bool answered = false;
    detail::ControlReply reply{};
    std::vector<detail::UniqueFd> fds;
    std::string text;
    Errc code() const { return reply.result == 0 ? Errc{} : static_cast<Errc>(reply.errc); }
};

inline RawReply raw_request(int socket, detail::ControlRequest request, std::span<const int> fds = {},
                            int timeout_ms = 5000) {
    RawReply out;
    if (!detail::send_message(socket, detail::as_bytes_of(request), fds)) {
        // A refused socket: the refusal may be waiting anyway.
        timeout_ms = 0;
    }
    std::vector<std::byte> buffer(detail::kMaxControlMessage);
    auto received = detail::receive_message(socket, buffer, timeout_ms);
    // A socket the loader refused and closed reports the reset once; its refusal follows.
    if (!received && received.error().sys_errno == ECONNRESET) received = detail::receive_message(socket, buffer, 0);
    if (!received || received->bytes < sizeof out.reply) return out;
    out.answered = true;
    std::memcpy(&out.reply, buffer.data(), sizeof out.reply);
    out.text.assign(reinterpret_cast<const char*>(buffer.data()) + sizeof out.reply, received->bytes - sizeof out.reply);
    out.fds = std::move(received->fds);
    return out;
}

inline detail::ControlRequest control_request(detail::ControlOp op, uint32_t handle = 0, const char* name = nullptr) {
    detail::ControlRequest request{};
    request.op = op;
    request.request_id = 7;
    request.handle = handle;
    if (name) std::snprintf(request.name, sizeof request.name, "%s", name);
    return request;
}

constexpr int code(Errc c) { return static_cast<int>(c); }

// An echo call, as an honest client makes it.
inline ::testing::AssertionResult echo_works(Connection& connection, std::chrono::milliseconds timeout = 5000ms) {
    Request request(connection);
    request.writer().write_string("still here");
    request.writer().write_int32(41);
    auto reply = connection.call(kEcho, request, timeout);
    if (!reply) return ::testing::AssertionFailure() << reply.error().describe();
    Reader reader = reply->reader();
    if (reader.read_string_view() != "still here" || reader.read_int32() != 42)
        return ::testing::AssertionFailure() << "wrong echo";
    return ::testing::AssertionSuccess();
}

// A new process of another uid opens a context, connects to `service` and calls it: 0 or the Errc
// (a spawned peer: it runs threads, and this process already does).
inline int other_uid_connects_and_calls(const ContextOptions& options, const char* service) {
    return run_peer<1>("echo_as", peer_args(options, kOtherUid, service))[0];
}

// The tables a client can fill, each under a per-uid quota, in the order the quota test fills
// them (its hostile peer reports the error past each quota in this order) and their status keys.
enum QuotaTable { kServices, kGrants, kConnections, kSubscriptions, kPending, kProcesses, kSockets, kTables };
inline constexpr const char* kTableKey[kTables] = {"services", "grants", "connections", "subscriptions",
                                                   "pending_channels", "processes", "sockets"};

// ---- the loader's status document, read as numbers ----

inline std::string status_text(const Loader& loader) {
    int fd = connect_raw(loader.socket());
    if (fd < 0) return {};
    RawReply reply = raw_request(fd, control_request(detail::ControlOp::status));
    ::close(fd);
    return reply.text;
}

// The number after "key": at or after `from`; -1 when absent.
inline long long json_number(const std::string& json, const std::string& key, std::size_t from = 0) {
    std::size_t at = json.find("\"" + key + "\":", from);
    if (at == std::string::npos) return -1;
    return std::strtoll(json.c_str() + at + key.size() + 3, nullptr, 10);
}

inline long long refused_count(const std::string& status, const std::string& key) {
    std::size_t section = status.find("\"refused\":{");
    return section == std::string::npos ? -1 : json_number(status, key, section);
}

// What `uid` holds of `key` (processes, sockets, services, connections, ...); 0 when it holds nothing.
inline long long held_by(const std::string& status, uid_t uid, const std::string& key) {
    std::size_t at = status.find("{\"uid\":" + std::to_string(uid) + ",");
    if (at == std::string::npos) return 0;
    std::size_t end = status.find('}', at);
    long long value = json_number(status, key, at);
    std::size_t key_at = status.find("\"" + key + "\":", at);
    return key_at < end ? value : 0;
}

// Polls until `done(status)` or the timeout; returns the last status read.
template <typename Done>
std::string status_when(const Loader& loader, Done done, std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string status = status_text(loader);
    while (!done(status) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
        status = status_text(loader);
    }
    return status;
}

// ---- regions and fds ----

inline detail::UniqueFd sealed_memfd(std::size_t size, int seals) {
    detail::UniqueFd fd(::memfd_create("liteipc-trust-test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (fd && ::ftruncate(fd.get(), static_cast<off_t>(size)) == 0) ::fcntl(fd.get(), F_ADD_SEALS, seals);
    return fd;
}

inline bool send_fd(int channel, int fd) {
    char byte = 'f';
    const int fds[] = {fd};
    return static_cast<bool>(detail::send_message(channel, std::as_bytes(std::span(&byte, 1)), fds));
}

inline int receive_fd(int channel) {
    std::byte byte[1];
    auto received = detail::receive_message(channel, byte, 5000);
    if (!received || received->fds.empty()) return -1;
    return received->fds[0].release();
}

// A temporary file holding `text` (a loader config), removed with the object.
class TempFile {
public:
    explicit TempFile(const std::string& text) {
        char name[] = "/tmp/liteipc-trust-config-XXXXXX";
        int fd = ::mkstemp(name);
        path_ = name;
        if (fd >= 0) {
            ssize_t ignored = ::write(fd, text.data(), text.size());
            (void)ignored;
            ::fchmod(fd, 0644);
            ::close(fd);
        }
    }
    ~TempFile() { ::unlink(path_.c_str()); }
    void rewrite(const std::string& text) {
        FILE* f = std::fopen(path_.c_str(), "w");
        if (!f) return;
        std::fputs(text.c_str(), f);
        std::fclose(f);
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// A loader config for a fixture: a base listed before WithLoader, so it exists when the loader starts.
struct WithConfig {
    explicit WithConfig(const std::string& text) : config(text) {}
    std::vector<std::string> loader_args() const { return {"--config", config.path()}; }
    TempFile config;
};

// ---- a hostile process ----

// Runs `body` in a forked child as `uid` (a liteipc group member), hands its N results to the
// test, and keeps the child alive until `end()`: what it holds stays held while the test checks
// that others are unaffected. Its own children die with it (PR_SET_PDEATHSIG). Only for bodies
// that start no thread (raw control sockets, no Context): the test runs threads, and a child
// forked from it must not (ThreadSanitizer aborts one that does). Others are spawned roles.
template <std::size_t N>
class Hostile {
public:
    template <typename Body>
    Hostile(uid_t uid, Body body) {
        results_.fill(-9999);
        int report[2], stop[2];
        if (::pipe(report) != 0 || ::pipe(stop) != 0) return;
        process_ = fork_child([&] {
            ::close(report[0]);
            ::close(stop[1]);
            unmap_inherited_pools();
            std::array<int, N> out;
            out.fill(-9999);
            if (become_group_member(uid)) out = body();
            ssize_t ignored = ::write(report[1], out.data(), sizeof out);
            char byte;
            ignored = ::read(stop[0], &byte, 1);  // until the test says so
            (void)ignored;
            return 0;
        });
        ::close(report[1]);
        ::close(stop[0]);
        stop_ = stop[1];
        if (::read(report[0], results_.data(), sizeof results_) != static_cast<ssize_t>(sizeof results_))
            results_.fill(-9999);
        ::close(report[0]);
    }
    ~Hostile() { end(); }
    const std::array<int, N>& results() const { return results_; }
    pid_t pid() const { return process_.pid(); }
    // SIGKILL, as an attacker ends, and reaped.
    void end() {
        process_.kill_and_wait();
        if (stop_ >= 0) ::close(stop_);
        stop_ = -1;
    }

private:
    OwnedPid process_;
    int stop_ = -1;
    std::array<int, N> results_;
};

}  // namespace liteipc::testing
