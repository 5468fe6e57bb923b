// The serving bridge's own accept loop: gRPC 1.51 bounds neither the connections from one address
// nor all of them, so the bridge accepts them itself, counts them per source address and in
// total, and hands the ones within limits.connections_per_source and limits.connections to gRPC
// (ServerBuilder's external connection acceptor, FROM_FD). One past a cap is closed at once,
// counted and logged (at most one line a second).
//
// How a handed-over connection's end is seen: gRPC tells nothing (an interceptor sees calls, not
// connections), so the loop keeps a dup of each socket in an epoll set, waiting for EPOLLRDHUP,
// EPOLLHUP or EPOLLERR only (no wake-up per message). gRPC ends every connection, on its own or
// on the peer's initiative, with shutdown(SHUT_RDWR) before close (its fd orphaning): the dup then
// reports EPOLLHUP, the loop closes it and the count goes down. The kernel's word on the socket,
// not gRPC's internals; a peer that half-closes ends its count at once (gRPC follows it).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/server_builder.h>

#include "config.h"
#include "liteipc/error.h"

namespace liteipc::bridge {

struct ConnectionCounters {
    std::atomic<uint64_t> open{0};     // connections held now
    std::atomic<uint64_t> accepted{0}; // connections handed to gRPC, ever
    std::atomic<uint64_t> refused{0};  // connections closed at once: their source or the bridge at its cap
};

class CappedListener {
public:
    // Binds and listens on `address` ("host:port", "[v6]:port"); Errc::invalid_argument or the
    // errno's code when it cannot, or when the fd limit has no room for limits.connections.
    static Result<std::unique_ptr<CappedListener>> listen(const std::string& address, const ServerLimits& limits,
                                                          ConnectionCounters& counters);
    ~CappedListener();
    CappedListener(const CappedListener&) = delete;
    CappedListener& operator=(const CappedListener&) = delete;

    // Accepts on a thread of its own from now on, handing each admitted connection to `grpc`.
    void start(std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> grpc);

private:
    CappedListener(int listen_fd, int epoll_fd, int stop_fd, const ServerLimits& limits, ConnectionCounters& counters);
    void run();
    void accept_all();
    void admit(int fd);
    void refuse(int fd, const std::string& source);
    void release(int watched_fd);

    const int listen_fd_;
    const int epoll_fd_;
    const int stop_fd_;  // an eventfd: written once to end the loop
    const unsigned per_source_;
    const unsigned total_;
    ConnectionCounters& counters_;
    std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> grpc_;
    // Touched by the loop's thread only.
    std::map<int, std::string> source_of_;   // each watched dup, by its fd
    std::map<std::string, unsigned> open_;   // connections held per source address
    uint64_t refused_unlogged_ = 0;
    std::chrono::steady_clock::time_point last_refusal_log_{};
    std::thread thread_;
};

}  // namespace liteipc::bridge
