// Channels between real processes: the service runs in a forked child and sees the request pool only
// through a read-only mapping; hostile peers are played by raw writes into the ctrl region.
#include "channel.h"
#include "fd_channel.h"
#include "futex.h"

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

namespace liteipc::detail {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

enum Code : uint32_t {
    kEcho = 1,        // reply = request payload, status = its size
    kPattern = 2,     // request carries pattern(seed 1); reply = pattern(seed 2) of the same size
    kCount = 3,       // oneway: count it
    kGetCount = 4,    // reply = the count so far (uint64)
    kReplySize = 5,   // request = uint64 size; reply of that size, or status -ENOMEM
    kSleep = 6,       // sleep 5 s, then reply
};

std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text)); }
std::string text_of(std::span<const std::byte> bytes) {
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

uint8_t pattern_byte(uint64_t index, uint32_t seed) {
    return static_cast<uint8_t>(index * 131 + (index >> 12) + seed * 77);
}
void fill_pattern(std::span<std::byte> bytes, uint32_t seed) {
    for (uint64_t i = 0; i < bytes.size(); ++i) bytes[i] = std::byte{pattern_byte(i, seed)};
}
bool check_pattern(std::span<const std::byte> bytes, uint32_t seed) {
    for (uint64_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] != std::byte{pattern_byte(i, seed)}) return false;
    }
    return true;
}

std::atomic<uint64_t> oneway_count{0};

int32_t test_service(const Request& request, ReplyWriter& reply) {
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

// Exit status of a child (128 + signal if killed), or -1 after killing it for outliving the timeout.
int wait_for_child(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (Clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(1ms);
    }
}

// A child process running `body(stop_fd)`; closing the stop pipe asks it to finish.
class ChildProcess {
public:
    template <typename Body>
    static ChildProcess start(Body&& body) {
        int pipe_fds[2];
        if (::pipe2(pipe_fds, O_CLOEXEC) != 0) std::abort();
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::close(pipe_fds[1]);
            ::_exit(body(pipe_fds[0]));
        }
        ::close(pipe_fds[0]);
        ChildProcess child;
        child.pid_ = pid;
        child.stop_pipe_.reset(pipe_fds[1]);
        return child;
    }

    // Blocks in the child until the parent closes the stop pipe.
    static void wait_for_stop(int stop_fd) {
        char byte;
        while (::read(stop_fd, &byte, 1) < 0 && errno == EINTR) {
        }
    }

    bool running() const {
        int status = 0;
        return ::waitpid(pid_, &status, WNOHANG) == 0;
    }
    int stop(std::chrono::milliseconds timeout = 5000ms) {
        if (pid_ <= 0) return -1;
        stop_pipe_.reset();
        const int status = wait_for_child(pid_, timeout);
        pid_ = -1;
        return status;
    }
    void kill_now() {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }
    ~ChildProcess() {
        if (pid_ > 0) stop();
    }
    ChildProcess(ChildProcess&& other) noexcept
        : pid_(std::exchange(other.pid_, -1)), stop_pipe_(std::move(other.stop_pipe_)) {}

private:
    ChildProcess() = default;
    pid_t pid_ = -1;
    UniqueFd stop_pipe_;
};

// The service's end of the connection's socket, as a Dispatcher watches it for the client's hangup.
std::shared_ptr<FdChannel> service_socket_of(const ChannelRegions& regions) {
    auto socket = std::make_shared<FdChannel>();
    socket->attach(UniqueFd{::fcntl(regions.service_socket.get(), F_DUPFD_CLOEXEC, 0)});
    return socket;
}

// The test service in a child process, with the service's own view of the regions.
ChildProcess start_service(const ChannelRegions& regions, DispatcherOptions options = {}) {
    return ChildProcess::start([&regions, options](int stop_fd) {
        auto fds = regions.for_service();
        if (!fds) return 10;
        auto server = ChannelServer::attach(fds->view());
        if (!server) {
            std::fprintf(stderr, "service attach: %s\n", server.error().describe().c_str());
            return 11;
        }
        Dispatcher dispatcher(test_service, options);
        if (!dispatcher.add(*server, fds->doorbell.get(), service_socket_of(regions)) || !dispatcher.start()) return 12;
        ChildProcess::wait_for_stop(stop_fd);
        dispatcher.stop();
        return 0;
    });
}

struct Connection {
    ChannelRegions regions;
    PeerFds client_fds;
    ChannelClient client;
};

Connection connect_client(const ChannelConfig& config, ClientOptions options = {}) {
    auto regions = ChannelRegions::create(config);
    EXPECT_TRUE(regions) << regions.error().describe();
    auto fds = regions->for_client();
    EXPECT_TRUE(fds) << fds.error().describe();
    auto client = ChannelClient::attach(fds->view(), options);
    EXPECT_TRUE(client) << client.error().describe();
    return Connection{std::move(*regions), std::move(*fds), std::move(*client)};
}

template <typename Duration>
double milliseconds(Duration duration) {
    return std::chrono::duration<double, std::milli>(duration).count();
}

// ---------------------------------------------------------------------------------------------

TEST(ChannelLayout, AttachValidatesTheHeader) {
    const ChannelGeometry geometry = ChannelGeometry::for_slots(64);
    EXPECT_EQ(geometry.ring_capacity, 64u);
    std::vector<std::byte> region(geometry.region_size + 64);
    std::byte* base = region.data() + (64 - reinterpret_cast<uintptr_t>(region.data()) % 64) % 64;
    ASSERT_TRUE(initialize_ctrl_region({base, geometry.region_size}, 64));
    auto view = ControlView::attach(base, geometry.region_size);
    ASSERT_TRUE(view) << view.error().describe();
    EXPECT_EQ(view->slot_count(), 64u);

    EXPECT_EQ(ControlView::attach(base, geometry.region_size - 1).error().code, Errc::malformed);
    auto* header = reinterpret_cast<ChannelHeader*>(base);
    header->slot_count = 100000;
    EXPECT_EQ(ControlView::attach(base, geometry.region_size).error().code, Errc::malformed);
    header->slot_count = 32;  // geometry no longer matches the slot count
    EXPECT_EQ(ControlView::attach(base, geometry.region_size).error().code, Errc::malformed);
    header->magic = 0;
    EXPECT_EQ(ControlView::attach(base, geometry.region_size).error().code, Errc::malformed);
}

TEST(ChannelRegions, AttachRefusesRegionsThatCanBeResized) {
    auto ctrl = create_memfd("ctrl", ChannelGeometry::for_slots(4).region_size);
    auto request_pool = create_memfd("request", 4096);
    auto reply_pool = create_memfd("reply", 4096);
    ASSERT_TRUE(ctrl && request_pool && reply_pool);
    auto mapping = Mapping::map_whole(ctrl->get(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(mapping);
    ASSERT_TRUE(initialize_ctrl_region(mapping->bytes(), 4));
    const ChannelFds fds{ctrl->get(), request_pool->get(), reply_pool->get()};
    auto client = ChannelClient::attach(fds);
    ASSERT_FALSE(client);
    EXPECT_EQ(client.error().code, Errc::permission_denied);
    EXPECT_EQ(ChannelServer::attach(fds).error().code, Errc::permission_denied);
}

TEST(ChannelRegions, ReaderCannotWriteThePeersPool) {
    auto connection = connect_client({.slot_count = 4, .request_pool_size = 1 << 20, .reply_pool_size = 1 << 20});
    ChildProcess child = ChildProcess::start([&](int) {
        auto fds = connection.regions.for_service();
        if (!fds) return 1;
        // Keep only what a service gets: drop every read-write fd to the request pool.
        ::close(connection.regions.request_pool.get());
        ::close(connection.client_fds.request_pool.get());

        auto view = Mapping::map_whole(fds->request_pool.get(), PROT_READ);
        if (!view) return 2;
        if (::mprotect(view->data(), view->size(), PROT_READ | PROT_WRITE) == 0 || errno != EACCES) return 3;
        void* writable = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fds->request_pool.get(), 0);
        if (writable != MAP_FAILED || errno != EACCES) return 4;

        // Re-opening the read-only fd O_RDWR through /proc works for a memfd; the writer's seal is what
        // stops it from being used to write.
        char path[64];
        std::snprintf(path, sizeof path, "/proc/self/fd/%d", fds->request_pool.get());
        UniqueFd reopened{::open(path, O_RDWR)};
        if (reopened) {
            writable = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, reopened.get(), 0);
            if (writable != MAP_FAILED || errno != EPERM) return 5;
            if (::pwrite(reopened.get(), "x", 1, 0) >= 0 || errno != EPERM) return 6;
            if (::ftruncate(reopened.get(), 0) == 0 || errno != EPERM) return 7;
        }
        // Nobody can shrink the shared ctrl region under the other side either.
        if (::ftruncate(fds->ctrl.get(), 0) == 0 || errno != EPERM) return 8;
        return 0;
    });
    EXPECT_EQ(child.stop(), 0);
}

TEST(Channel, SingleCallRoundTrip) {
    auto connection = connect_client({.slot_count = 8});
    ChildProcess service = start_service(connection.regions);
    auto reply = connection.client.call(kEcho, bytes_of("hello"), {.deadline = Deadline::after(5s)});
    ASSERT_TRUE(reply) << reply.error().describe();
    EXPECT_EQ(reply->status(), 5);
    EXPECT_EQ(text_of(reply->payload()), "hello");
    EXPECT_EQ(service.stop(), 0);
}

TEST(Channel, ManyThreadsEachGetTheirOwnReply) {
    constexpr int kThreads = 8;
    constexpr int kCalls = 10000;
    auto connection = connect_client({.slot_count = 64, .request_pool_size = 4 << 20, .reply_pool_size = 4 << 20});
    ChildProcess service = start_service(connection.regions, {.workers = 2});

    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kCalls; ++i) {
                std::string message = "thread " + std::to_string(t) + " call " + std::to_string(i);
                if (i % 100 == 0) message.append(1000, static_cast<char>('a' + t));  // through the pools
                auto reply = connection.client.call(kEcho, bytes_of(message), {.deadline = Deadline::after(10s)});
                if (!reply || reply->status() != static_cast<int32_t>(message.size()) ||
                    text_of(reply->payload()) != message) {
                    if (failures.fetch_add(1) < 5) {
                        ADD_FAILURE() << "thread " << t << " call " << i << ": "
                                      << (reply ? text_of(reply->payload()) : reply.error().describe());
                    }
                }
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(connection.client.request_pool_stats().used_bytes, 0u);
    EXPECT_EQ(service.stop(), 0);
}

TEST(Channel, OnewayCallsAreDeliveredAndTheirSlotsReclaimed) {
    constexpr uint64_t kOneways = 1000;  // far more than the slots: they must come back
    auto connection = connect_client({.slot_count = 16});
    ChildProcess service = start_service(connection.regions, {.workers = 2});
    const std::string payload(500, 'o');  // through the request pool
    for (uint64_t i = 0; i < kOneways; ++i) {
        auto sent = connection.client.call(kCount, bytes_of(payload),
                                           {.flags = kFlagOneway, .deadline = Deadline::after(5s)});
        ASSERT_TRUE(sent) << sent.error().describe();
        EXPECT_EQ(sent->payload().size(), 0u);
    }
    uint64_t count = 0;
    const auto deadline = Clock::now() + 5s;
    while (count < kOneways && Clock::now() < deadline) {
        auto reply = connection.client.call(kGetCount, {}, {.deadline = Deadline::after(5s)});
        ASSERT_TRUE(reply) << reply.error().describe();
        ASSERT_EQ(reply->payload().size(), sizeof count);
        std::memcpy(&count, reply->payload().data(), sizeof count);
    }
    EXPECT_EQ(count, kOneways);
    EXPECT_EQ(service.stop(), 0);
}

TEST(Channel, InlineAndPoolPayloadsUpTo64MiB) {
    constexpr uint64_t kPool = 72ull << 20;
    auto connection = connect_client({.slot_count = 8, .request_pool_size = kPool, .reply_pool_size = kPool});
    ChildProcess service = start_service(connection.regions);
    for (uint64_t size : {0ull, 1ull, 191ull, 192ull, 193ull, 4096ull, 1ull << 20, 64ull << 20}) {
        SCOPED_TRACE("payload of " + std::to_string(size) + " bytes");
        Result<Reply> reply;
        if (size > (1u << 20)) {
            // Written once, in place, in the request pool.
            auto buffer = connection.client.allocate_payload(size, Deadline::after(5s));
            ASSERT_TRUE(buffer) << buffer.error().describe();
            fill_pattern(buffer->bytes(), 1);
            reply = connection.client.call_in_place(kPattern, std::move(*buffer), {.deadline = Deadline::after(20s)});
        } else {
            std::vector<std::byte> payload(size);
            fill_pattern(payload, 1);
            reply = connection.client.call(kPattern, payload, {.deadline = Deadline::after(20s)});
        }
        ASSERT_TRUE(reply) << reply.error().describe();
        EXPECT_EQ(reply->status(), 0) << "the service saw a corrupted request";
        ASSERT_EQ(reply->payload().size(), size);
        EXPECT_TRUE(check_pattern(reply->payload(), 2));
    }
    EXPECT_EQ(connection.client.request_pool_stats().used_bytes, 0u);
    EXPECT_EQ(service.stop(), 0);
}

TEST(Channel, PoolExhaustionIsACleanError) {
    auto connection = connect_client({.slot_count = 8, .request_pool_size = 1 << 20, .reply_pool_size = 1 << 20});
    ChildProcess service = start_service(connection.regions);
    ChannelClient& client = connection.client;

    // Larger than the whole pool: refused at once, whatever the deadline.
    const std::vector<std::byte> huge(2 << 20);
    auto start = Clock::now();
    auto refused = client.call(kEcho, huge, {.deadline = Deadline::after(5s)});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::no_memory);
    EXPECT_LT(Clock::now() - start, 1s);

    // Full: waits for space until the deadline, then no_memory.
    std::vector<PayloadBuffer> held;
    for (int i = 0; i < 3; ++i) {
        auto buffer = client.allocate_payload(300 << 10);
        ASSERT_TRUE(buffer) << buffer.error().describe();
        held.push_back(std::move(*buffer));
    }
    start = Clock::now();
    auto full = client.allocate_payload(300 << 10, Deadline::after(50ms));
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error().code, Errc::no_memory);
    EXPECT_GE(Clock::now() - start, 50ms);
    held.pop_back();
    EXPECT_TRUE(client.allocate_payload(300 << 10));

    // The service's reply pool: a reply larger than the pool fails at once, with no_memory.
    auto ask_reply = [&](uint64_t size, std::chrono::milliseconds timeout = 5s) {
        return client.call(kReplySize, std::as_bytes(std::span(&size, 1)), {.deadline = Deadline::after(timeout)});
    };
    start = Clock::now();
    auto too_large = ask_reply(2 << 20);
    ASSERT_FALSE(too_large);
    EXPECT_EQ(too_large.error().code, Errc::no_memory);
    EXPECT_LT(Clock::now() - start, 1s);
    // A held reply keeps its block: the next reply waits for space, then fails with no_memory;
    // once the first is released, the service reclaims its block.
    auto first = ask_reply(600 << 10);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->status(), 0);
    start = Clock::now();
    auto second = ask_reply(600 << 10, 400ms);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, Errc::no_memory);
    EXPECT_GE(Clock::now() - start, 200ms);
    EXPECT_EQ(first->payload()[12345], std::byte{0x5a});
    first->release();
    auto third = ask_reply(600 << 10);
    ASSERT_TRUE(third);
    EXPECT_EQ(third->status(), 0);
    ASSERT_EQ(third->payload().size(), 600u << 10);
    EXPECT_EQ(third->payload()[12345], std::byte{0x5a});
    EXPECT_EQ(service.stop(), 0);
}

TEST(Channel, TimesOutWhenTheServiceNeverAnswers) {
    auto connection = connect_client({.slot_count = 2});  // no service at all
    ChannelClient& client = connection.client;
    auto start = Clock::now();
    auto reply = client.call(kEcho, bytes_of("anyone?"), {.deadline = Deadline::after(100ms)});
    const auto waited = Clock::now() - start;
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, Errc::timed_out);
    EXPECT_GE(waited, 100ms);
    EXPECT_LT(waited, 2s);

    // The abandoned slot stays taken until the service answers; the other one goes to a oneway call;
    // then the slot table is full and a call times out waiting for a slot.
    ASSERT_TRUE(client.call(kCount, {}, {.flags = kFlagOneway, .deadline = Deadline::after(1s)}));
    start = Clock::now();
    auto no_slot = client.call(kEcho, bytes_of("x"), {.deadline = Deadline::after(50ms)});
    ASSERT_FALSE(no_slot);
    EXPECT_EQ(no_slot.error().code, Errc::timed_out);
    EXPECT_NE(no_slot.error().message.find("slots"), std::string::npos) << no_slot.error().describe();
    EXPECT_LT(Clock::now() - start, 2s);
}

TEST(Channel, PendingCallsFailPromptlyWhenThePeerIsMarkedDead) {
    auto connection = connect_client({.slot_count = 1});  // no service
    ChannelClient& client = connection.client;
    Result<Reply> waiting_for_reply, waiting_for_slot;
    std::thread first([&] { waiting_for_reply = client.call(kEcho, bytes_of("a"), {}); });
    std::this_thread::sleep_for(30ms);
    std::thread second([&] { waiting_for_slot = client.call(kEcho, bytes_of("b"), {}); });
    std::this_thread::sleep_for(30ms);

    const auto marked = Clock::now();
    client.mark_dead();
    first.join();
    second.join();
    EXPECT_LT(Clock::now() - marked, 500ms);
    ASSERT_FALSE(waiting_for_reply);
    EXPECT_EQ(waiting_for_reply.error().code, Errc::dead_object);
    ASSERT_FALSE(waiting_for_slot);
    EXPECT_EQ(waiting_for_slot.error().code, Errc::dead_object);
    auto later = client.call(kEcho, bytes_of("c"), {});
    ASSERT_FALSE(later);
    EXPECT_EQ(later.error().code, Errc::dead_object);
}

TEST(Channel, CallFailsWithDeadObjectWhenTheServiceProcessIsKilled) {
    auto connection = connect_client({.slot_count = 8});
    ChildProcess service = start_service(connection.regions);
    ASSERT_TRUE(connection.client.call(kEcho, bytes_of("up?"), {.deadline = Deadline::after(5s)}));

    Result<Reply> pending;
    std::thread caller([&] { pending = connection.client.call(kSleep, {}, {}); });
    std::this_thread::sleep_for(50ms);
    service.kill_now();
    const auto reported = Clock::now();
    connection.client.mark_dead();  // what the kernel's death record will trigger
    caller.join();
    EXPECT_LT(Clock::now() - reported, 500ms);
    ASSERT_FALSE(pending);
    EXPECT_EQ(pending.error().code, Errc::dead_object);
}

// The client's end of the connection's socket closes (an orderly close, or its death): the
// dispatcher hears the hangup at once and the connection goes.
TEST(Channel, DispatcherDropsAConnectionWhoseClientHangsUp) {
    auto regions = ChannelRegions::create({.slot_count = 4});
    ASSERT_TRUE(regions);
    auto fds = regions->for_service();
    ASSERT_TRUE(fds);
    auto server = ChannelServer::attach(fds->view());
    ASSERT_TRUE(server) << server.error().describe();
    Dispatcher dispatcher(test_service, {.workers = 2, .spin = {}});
    ASSERT_TRUE(dispatcher.start());
    std::atomic<int> hangups{0};
    ASSERT_TRUE(dispatcher.add(*server, fds->doorbell.get(), service_socket_of(*regions), [&] {
        ++hangups;
        dispatcher.remove(server->get());
    }));
    EXPECT_EQ(dispatcher.connection_count(), 1u);
    std::this_thread::sleep_for(10ms);  // let the workers fall asleep

    regions->client_socket.reset();  // the client's end: the only one left
    const auto deadline = Clock::now() + 2s;
    while (dispatcher.connection_count() != 0 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(dispatcher.connection_count(), 0u);
    EXPECT_EQ(hangups.load(), 1);
    EXPECT_TRUE((*server)->dead());
    dispatcher.stop();
}

// One eventfd per connection: a call on any of many connections wakes a sleeping worker, which
// serves it; idle connections cost nothing while the workers sleep.
TEST(Channel, DispatcherServesManyConnections) {
    constexpr int kConnections = 300;  // past the 127 one futex_waitv could watch
    std::vector<ChannelRegions> regions;
    std::vector<ChannelClient> clients;
    Dispatcher dispatcher(test_service, {.workers = 2, .spin = {}});
    ASSERT_TRUE(dispatcher.start());
    for (int i = 0; i < kConnections; ++i) {
        auto created = ChannelRegions::create({.slot_count = 2, .request_pool_size = 4096, .reply_pool_size = 4096});
        ASSERT_TRUE(created) << created.error().describe();
        auto service_fds = created->for_service();
        auto client_fds = created->for_client();
        ASSERT_TRUE(service_fds && client_fds);
        auto server = ChannelServer::attach(service_fds->view());
        ASSERT_TRUE(server) << server.error().describe();
        ASSERT_TRUE(dispatcher.add(*server, service_fds->doorbell.get(), service_socket_of(*created)));
        auto client = ChannelClient::attach(client_fds->view(), {.spin = {}});
        ASSERT_TRUE(client) << client.error().describe();
        clients.push_back(std::move(*client));
        regions.push_back(std::move(*created));
    }
    EXPECT_EQ(dispatcher.connection_count(), std::size_t{kConnections});
    for (int round = 0; round < 2; ++round) {
        for (int i = kConnections - 1; i >= 0; i -= 7) {
            std::this_thread::sleep_for(100us);  // often enough, the workers sleep before the call
            const std::string text = "c" + std::to_string(i);
            auto reply = clients[i].call(kEcho, bytes_of(text), {.deadline = Deadline::after(5s)});
            ASSERT_TRUE(reply) << "connection " << i << ": " << reply.error().describe();
            EXPECT_EQ(std::string(reinterpret_cast<const char*>(reply->payload().data()), reply->payload().size()), text);
        }
    }
    dispatcher.stop();
}

// A service that answers with crafted replies, then scribbles over the whole ctrl region.
TEST(Channel, HostileServiceYieldsNamedErrorsNeverACrash) {
    enum Crafted : uint32_t { kWrongSequence = 11, kOutsidePool, kLongInline, kUnknownKind, kRejected, kSilent, kScribble };
    auto connection = connect_client({.slot_count = 8, .request_pool_size = 1 << 20, .reply_pool_size = 1 << 20});
    ChildProcess hostile = ChildProcess::start([&](int stop_fd) {
        auto ctrl = Mapping::map_whole(connection.regions.ctrl.get(), PROT_READ | PROT_WRITE);
        if (!ctrl) return 1;
        auto view = ControlView::attach(ctrl->data(), ctrl->size());
        if (!view) return 2;
        ::fcntl(stop_fd, F_SETFL, O_NONBLOCK);
        std::mt19937_64 random(42);
        for (;;) {
            char byte;
            if (::read(stop_fd, &byte, 1) == 0) return 0;
            uint32_t index = 0;
            if (!view->pop(index)) {
                std::this_thread::sleep_for(100us);
                continue;
            }
            if (index >= view->slot_count()) continue;
            CallSlot& slot = view->slot(index);
            MessageDescriptor reply{};
            reply.call_sequence = slot.request.call_sequence;
            switch (slot.request.code) {
                case kWrongSequence: reply.call_sequence += 1000; break;
                case kOutsidePool:
                    reply.payload_kind = static_cast<uint32_t>(PayloadKind::pool);
                    reply.pool_offset = (1ull << 20) - 8;
                    reply.payload_length = 4096;
                    break;
                case kLongInline:
                    reply.payload_kind = static_cast<uint32_t>(PayloadKind::inline_bytes);
                    reply.payload_length = 100000;
                    break;
                case kUnknownKind: reply.payload_kind = 77; break;
                case kRejected: reply.flags = kFlagRejected; break;
                case kSilent: continue;
                case kScribble:
                    for (int round = 0; round < 300; ++round) {
                        for (std::size_t i = 0; i + 8 <= ctrl->size(); i += 8) {
                            const uint64_t noise = random();
                            std::memcpy(ctrl->data() + i, &noise, 8);
                        }
                        for (uint32_t s = 0; s < view->slot_count(); ++s) futex_wake(&view->slot(s).state);
                        std::this_thread::sleep_for(1ms);
                    }
                    continue;
            }
            std::memcpy(&slot.reply, &reply, sizeof reply);
            slot.state.store(slot_state::kReply);
            futex_wake(&slot.state);
        }
    });

    ChannelClient& client = connection.client;
    for (uint32_t code : {kWrongSequence, kOutsidePool, kLongInline, kUnknownKind, kRejected}) {
        auto reply = client.call(code, bytes_of("request"), {.deadline = Deadline::after(5s)});
        ASSERT_FALSE(reply) << "code " << code;
        EXPECT_EQ(reply.error().code, Errc::malformed) << reply.error().describe();
    }
    auto silent = client.call(kSilent, bytes_of("request"), {.deadline = Deadline::after(50ms)});
    ASSERT_FALSE(silent);
    EXPECT_EQ(silent.error().code, Errc::timed_out);

    // While the ctrl region fills with noise, every call ends in time with a named outcome.
    ASSERT_TRUE(client.call(kScribble, {}, {.flags = kFlagOneway, .deadline = Deadline::after(1s)}));
    std::atomic<int> unnamed{0}, late{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
        callers.emplace_back([&] {
            const auto end = Clock::now() + 400ms;
            while (Clock::now() < end) {
                const auto start = Clock::now();
                auto reply = client.call(kEcho, bytes_of(std::string(300, 'x')), {.deadline = Deadline::after(30ms)});
                if (Clock::now() - start > 1s) ++late;
                if (!reply && reply.error().code != Errc::malformed && reply.error().code != Errc::timed_out) {
                    ++unnamed;
                }
            }
        });
    }
    for (auto& caller : callers) caller.join();
    EXPECT_EQ(unnamed.load(), 0);
    EXPECT_EQ(late.load(), 0);
    client.mark_dead();
    EXPECT_EQ(hostile.stop(), 0);
}

// A client that pushes bad indices and malformed descriptors, then scribbles over the ctrl region:
// the service rejects what it can name, drops the rest, and keeps running.
TEST(Channel, HostileClientCannotCrashTheService) {
    auto regions = ChannelRegions::create({.slot_count = 8, .request_pool_size = 1 << 20, .reply_pool_size = 1 << 20});
    ASSERT_TRUE(regions);
    ChildProcess service = start_service(*regions, {.workers = 2});
    auto ctrl = Mapping::map_whole(regions->ctrl.get(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(ctrl);
    auto view = ControlView::attach(ctrl->data(), ctrl->size());
    ASSERT_TRUE(view);

    auto publish = [&](uint32_t index) {
        ASSERT_TRUE(view->push(index, Deadline::after(1s)));
        view->ring_doorbell(regions->doorbell.get());
    };
    auto await_reply = [&](uint32_t index) {
        const auto deadline = Clock::now() + 2s;
        while ((view->slot(index).state.load() & slot_state::kMask) != slot_state::kReply && Clock::now() < deadline) {
            std::this_thread::sleep_for(100us);
        }
        return view->slot(index).reply;
    };

    publish(9999);  // no such slot
    publish(0);     // a FREE slot
    MessageDescriptor request{};
    request.code = kEcho;
    request.call_sequence = 7;
    request.payload_kind = static_cast<uint32_t>(PayloadKind::pool);
    request.pool_offset = (1u << 20) - 100;
    request.payload_length = 4096;  // beyond the end of the request pool
    std::memcpy(&view->slot(1).request, &request, sizeof request);
    view->slot(1).state.store(slot_state::kRequest);
    publish(1);
    MessageDescriptor reply = await_reply(1);
    EXPECT_NE(reply.flags & kFlagRejected, 0u);
    EXPECT_EQ(reply.status, -EBADMSG);
    EXPECT_EQ(reply.call_sequence, 7u);

    request.payload_kind = static_cast<uint32_t>(PayloadKind::inline_bytes);
    request.payload_length = 5000;
    std::memcpy(&view->slot(2).request, &request, sizeof request);
    view->slot(2).state.store(slot_state::kRequest);
    publish(2);
    EXPECT_NE(await_reply(2).flags & kFlagRejected, 0u);

    // A well-formed request still works after all that.
    request.payload_length = 3;
    std::memcpy(request.inline_payload, "abc", 3);
    std::memcpy(&view->slot(3).request, &request, sizeof request);
    view->slot(3).state.store(slot_state::kRequest);
    publish(3);
    reply = await_reply(3);
    EXPECT_EQ(reply.flags & kFlagRejected, 0u);
    EXPECT_EQ(reply.status, 3);

    std::mt19937_64 random(1);
    for (int round = 0; round < 200; ++round) {
        for (std::size_t i = 0; i + 8 <= ctrl->size(); i += 8) {
            const uint64_t noise = random();
            std::memcpy(ctrl->data() + i, &noise, 8);
        }
        const uint64_t one = 1;
        ASSERT_EQ(::write(regions->doorbell.get(), &one, sizeof one), 8);
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_TRUE(service.running());
    EXPECT_EQ(service.stop(), 0) << "the service must stop cleanly, not hang or crash";
}

}  // namespace
}  // namespace liteipc::detail
