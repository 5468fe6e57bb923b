#include "transport/fd_channel.h"

#include <unistd.h>

#include "common/log.h"

namespace liteipc::detail {

namespace {
// A peer can send batches nobody asks for; keep a bounded number, then drop the oldest.
constexpr std::size_t kMaxEarlyBatches = 256;
}  // namespace

Result<> FdChannel::send(uint64_t batch, std::span<const int> fds) {
    if (!socket_) return fail(Errc::invalid_argument, "this connection carries no fds");
    if (fds.empty() || fds.size() > kMaxFdsPerMessage)
        return fail(Errc::invalid_argument, "a message carries 1.." + std::to_string(kMaxFdsPerMessage) + " fds");
    auto sent = send_message(socket_.get(), as_bytes_of(batch), fds);
    if (!sent && (sent.error().sys_errno == EPIPE || sent.error().sys_errno == ECONNRESET))
        return fail(Errc::dead_object, "sending fds: the peer is gone", sent.error().sys_errno);
    return sent;
}

Result<std::vector<UniqueFd>> FdChannel::receive(uint64_t batch, uint32_t count, Deadline deadline) {
    if (!socket_) return fail(Errc::malformed, "fds announced on a connection that carries none");
    std::lock_guard lock(mutex_);
    for (;;) {
        if (auto it = early_.find(batch); it != early_.end()) {
            std::vector<UniqueFd> fds = std::move(it->second);
            early_.erase(it);
            if (fds.size() != count)
                return fail(Errc::malformed, "message announced " + std::to_string(count) + " fds, " +
                                                 std::to_string(fds.size()) + " arrived");
            return fds;
        }
        int timeout_ms = -1;
        if (!deadline.is_forever())
            timeout_ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline.remaining()).count());
        uint64_t tag = 0;
        auto received = receive_message(socket_.get(), {reinterpret_cast<std::byte*>(&tag), sizeof tag}, timeout_ms);
        if (!received) {
            if (received.error().code == Errc::timed_out) return fail(Errc::timed_out, "the fds of a message did not arrive");
            if (received.error().code != Errc::malformed) return std::unexpected(received.error());
            LITEIPC_LOG(warn, "dropped a malformed fd batch from the peer");
            continue;
        }
        if (received->bytes == 0) return fail(Errc::dead_object, "the peer closed the fd socket");
        if (received->bytes != sizeof tag) {
            LITEIPC_LOG(warn, "dropped a malformed fd batch from the peer");
            continue;
        }
        if (early_.size() >= kMaxEarlyBatches) {
            LITEIPC_LOG(warn, "too many unclaimed fd batches from the peer: dropping the oldest");
            early_.erase(early_.begin());
        }
        early_[tag] = std::move(received->fds);
    }
}

void close_untaken(std::span<int> fds) noexcept {
    for (int& fd : fds) {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
}

}  // namespace liteipc::detail
