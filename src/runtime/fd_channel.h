// The fds a message carries (OBJ_FD) travel beside it: over a socketpair the loader hands both
// ends of a connection, as SCM_RIGHTS batches tagged with an id the message's descriptor names.
// Batches may arrive in any order relative to the messages; a receiver keeps what it read for
// other messages until they ask.
//
// The same socket is the connection's doorbell and its lifeline: a client whose connection the
// service armed rings it with an empty batch tagged kRingTag (Dispatcher), the service says the
// connection is set up the same way, and either side's close is a hangup the other's kernel reports.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <vector>

#include "deadline.h"
#include "liteipc/error.h"
#include "mapping.h"
#include "unix_socket.h"

namespace liteipc::detail {


// The tag of a ring: a batch without fds, never a message's (their tags start at 1).
inline constexpr uint64_t kRingTag = 0;

class FdChannel {
public:
    FdChannel() = default;
    FdChannel(const FdChannel&) = delete;
    FdChannel& operator=(const FdChannel&) = delete;
    void attach(UniqueFd socket) { socket_ = std::move(socket); }

    bool valid() const { return socket_.valid(); }
    int socket() const { return socket_.get(); }
    Result<> send(uint64_t batch, std::span<const int> fds);
    // The `count` fds of `batch`, owned by the caller; waits for them until `deadline`.
    Result<std::vector<UniqueFd>> receive(uint64_t batch, uint32_t count, Deadline deadline);

    // Sends a ring without waiting. Errc::dead_object when the peer closed its end; a full queue
    // (the peer has not read the rings before) counts as rung.
    Result<> ring() const;
    // Reads what is queued without waiting: rings are dropped, batches kept for receive(). When a
    // receiver holds the socket, it drains once it has its batch.
    void drain_rings();

private:
    UniqueFd socket_;
    std::mutex mutex_;
    std::map<uint64_t, std::vector<UniqueFd>> early_;  // batches read while looking for another
    std::atomic<bool> drain_wanted_{false};
    // Under mutex_: keep a batch read ahead of its message (bounded).
    void keep_early(uint64_t tag, std::vector<UniqueFd> fds);
    void drain_locked();
};

// Closes every fd in `fds` that is not -1 (the ones a reader did not take).
void close_untaken(std::span<int> fds) noexcept;

}  // namespace liteipc::detail
