// The two pipes between a test and a test peer it spawned: the peer writes reports to fd 3 and
// reads commands from fd 4. Shared by both ends.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>

namespace liteipc::testing {

inline constexpr int kPeerReportFd = 3;   // peer -> test
inline constexpr int kPeerCommandFd = 4;  // test -> peer

// Writes all of `size` bytes; false on a closed or broken pipe.
inline bool write_all(int fd, const void* data, std::size_t size) {
    auto* at = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, at, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        at += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// Reads exactly `size` bytes within `timeout` (negative: no bound); false on EOF, error or timeout.
inline bool read_all(int fd, void* data, std::size_t size, std::chrono::milliseconds timeout = std::chrono::milliseconds(-1)) {
    auto* at = static_cast<char*>(data);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (size > 0) {
        if (timeout.count() >= 0) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            pollfd p{fd, POLLIN, 0};
            int ready = ::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count())));
            if (ready < 0 && errno == EINTR) continue;
            if (ready <= 0) return false;
        }
        ssize_t n = ::read(fd, at, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        at += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace liteipc::testing
