// The fds a message carries (OBJ_FD) travel beside it: over a socketpair the loader hands both
// ends of a connection, as SCM_RIGHTS batches tagged with an id the message's descriptor names.
// Batches may arrive in any order relative to the messages; a receiver keeps what it read for
// other messages until they ask.
//
// The same socket is the connection's lifeline: either side's close is a hangup the other's kernel
// reports, and the service hands the client the connection's doorbell on it (batch kDoorbellBatch).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <vector>

#include "common/deadline.h"
#include "liteipc/error.h"
#include "common/mapping.h"
#include "common/unix_socket.h"

namespace liteipc::detail {


// The batch that carries the connection's doorbell to the client; never a message's (theirs start at 1).
inline constexpr uint64_t kDoorbellBatch = 0;

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

private:
    UniqueFd socket_;
    std::mutex mutex_;
    std::map<uint64_t, std::vector<UniqueFd>> early_;  // batches read while looking for another
};

// Closes every fd in `fds` that is not -1 (the ones a reader did not take).
void close_untaken(std::span<int> fds) noexcept;

}  // namespace liteipc::detail
