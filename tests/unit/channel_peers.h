// What the channel and dispatcher tests share: a test service and its codes, a service in a forked
// child (which sees the request pool only through a read-only mapping), a client's connection.
#pragma once

#include "transport/channel.h"
#include "transport/fd_channel.h"
#include "common/futex.h"
#include "../support/owned_pid.h"
#include "../support/service_codes.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace liteipc::detail::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using namespace ::liteipc::testing::channel_codes;

inline std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text)); }
inline std::string text_of(std::span<const std::byte> bytes) {
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

inline uint8_t pattern_byte(uint64_t index, uint32_t seed) {
    return static_cast<uint8_t>(index * 131 + (index >> 12) + seed * 77);
}
inline void fill_pattern(std::span<std::byte> bytes, uint32_t seed) {
    for (uint64_t i = 0; i < bytes.size(); ++i) bytes[i] = std::byte{pattern_byte(i, seed)};
}
inline bool check_pattern(std::span<const std::byte> bytes, uint32_t seed) {
    for (uint64_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] != std::byte{pattern_byte(i, seed)}) return false;
    }
    return true;
}

inline std::atomic<uint64_t> oneway_count{0};

inline int32_t test_service(const ActiveRequest& request, ReplyWriter& reply) {
    switch (request.code) {
        case kEcho:
            if (!reply.write(request.payload)) return -ENOMEM;
            return static_cast<int32_t>(request.payload.size());
        case kPattern: {
            if (!check_pattern(request.payload, 1)) return -EBADMSG;
            auto space = reply.allocate(request.payload.size());
            if (!space) return -ENOMEM;
            fill_pattern(*space, 2);
            return 0;
        }
        case kCount:
            oneway_count.fetch_add(1);
            return 0;
        case kGetCount: {
            const uint64_t count = oneway_count.load();
            (void)reply.write(std::as_bytes(std::span(&count, 1)));
            return 0;
        }
        case kReplySize: {
            uint64_t size = 0;
            if (request.payload.size() != sizeof size) return -EINVAL;
            std::memcpy(&size, request.payload.data(), sizeof size);
            auto space = reply.allocate(size);
            if (!space) return -ENOMEM;
            std::memset(space->data(), 0x5a, space->size());
            return 0;
        }
        case kSleep:
            std::this_thread::sleep_for(5s);
            return 0;
    }
    return -ENOSYS;
}

// A forked child running `body(stop_fd)`; closing the stop pipe asks it to finish.
class StoppableChild {
public:
    template <typename Body>
    static StoppableChild start(Body&& body) {
        int pipe_fds[2];
        if (::pipe2(pipe_fds, O_CLOEXEC) != 0) std::abort();
        StoppableChild child;
        child.process_ = ::liteipc::testing::fork_child([&] {
            ::close(pipe_fds[1]);
            return body(pipe_fds[0]);
        });
        ::close(pipe_fds[0]);
        child.stop_pipe_.reset(pipe_fds[1]);
        return child;
    }

    // Blocks in the child until the parent closes the stop pipe.
    static void wait_for_stop(int stop_fd) {
        char byte;
        while (::read(stop_fd, &byte, 1) < 0 && errno == EINTR) {
        }
    }

    bool running() { return process_.running(); }
    // Exit status of the child (128 + signal if killed), or -1 after killing it for outliving the timeout.
    int stop(std::chrono::milliseconds timeout = 5000ms) {
        if (!process_) return -1;
        stop_pipe_.reset();
        if (auto status = process_.wait_for(timeout)) return ::liteipc::testing::exit_code(*status);
        process_.kill_and_wait();
        return -1;
    }
    void kill_now() { process_.kill_and_wait(); }
    ~StoppableChild() {
        if (process_) stop();
    }
    StoppableChild(StoppableChild&&) noexcept = default;

private:
    StoppableChild() = default;
    ::liteipc::testing::OwnedPid process_;
    UniqueFd stop_pipe_;
};

// The service's end of the connection's socket, as a Dispatcher watches it for the client's hangup.
inline std::shared_ptr<FdChannel> service_socket_of(const ChannelRegions& regions) {
    auto socket = std::make_shared<FdChannel>();
    socket->attach(UniqueFd{::fcntl(regions.service_socket.get(), F_DUPFD_CLOEXEC, 0)});
    return socket;
}

// The test service in a child process, with the service's own view of the regions.
inline StoppableChild start_service(const ChannelRegions& regions, DispatcherOptions options = {}) {
    return StoppableChild::start([&regions, options](int stop_fd) {
        auto fds = regions.for_service();
        if (!fds) return 10;
        auto server = ChannelServer::attach(fds->view());
        if (!server) {
            std::fprintf(stderr, "service attach: %s\n", server.error().describe().c_str());
            return 11;
        }
        Dispatcher dispatcher(test_service, options);
        if (!dispatcher.add(*server, fds->doorbell.get(), service_socket_of(regions)) || !dispatcher.start()) return 12;
        StoppableChild::wait_for_stop(stop_fd);
        dispatcher.stop();
        return 0;
    });
}

struct Connection {
    ChannelRegions regions;
    PeerFds client_fds;
    ChannelClient client;
};

inline Connection connect_client(const ChannelConfig& config, ClientOptions options = {}) {
    auto regions = ChannelRegions::create(config);
    EXPECT_TRUE(regions) << regions.error().describe();
    auto fds = regions->for_client();
    EXPECT_TRUE(fds) << fds.error().describe();
    auto client = ChannelClient::attach(fds->view(), options);
    EXPECT_TRUE(client) << client.error().describe();
    return Connection{std::move(*regions), std::move(*fds), std::move(*client)};
}

template <typename Duration>
inline double milliseconds(Duration duration) {
    return std::chrono::duration<double, std::milli>(duration).count();
}

}  // namespace liteipc::detail::testing
