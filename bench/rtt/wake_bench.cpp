// wake_bench: how long a call takes to wake a sleeping service, with 1 connection and with 10,000.
//
// A service process runs a Dispatcher (one worker, no spinning: it sleeps between calls); this
// process is the client of one connection and makes blocking 64 B calls (no spinning either), so
// every call wakes the worker through the connection's doorbell. Then the service adds 9,999 idle
// connections (their client ends held here, so that none hangs up) and the same calls run again,
// then the idle ones close and the single-connection run repeats. The ratio of the medians is
// the cost of the other connections to a wake; the target is <= 1.5x.
//
//   wake_bench [--connections N] [--calls N]
#include <sys/resource.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "transport/channel.h"
#include "transport/fd_channel.h"
#include "common/unix_socket.h"
#include "../../tests/support/owned_pid.h"

using namespace liteipc::detail;
using Clock = std::chrono::steady_clock;

namespace {

int32_t echo(const ActiveRequest& request, ReplyWriter& reply) {
    return reply.write(request.payload) ? 0 : -1;
}

struct Figures {
    double median_us = 0;
    double p99_us = 0;
};

Figures measure(ChannelClient& client, int calls) {
    std::byte payload[64];
    std::memset(payload, 0x5a, sizeof payload);
    std::vector<double> samples;
    samples.reserve(calls);
    for (int i = 0; i < calls + calls / 10; ++i) {
        const auto start = Clock::now();
        auto reply = client.call(1, payload, {.deadline = Deadline::after(std::chrono::seconds(5))});
        const auto took = Clock::now() - start;
        if (!reply || reply->payload().size() != sizeof payload) {
            std::fprintf(stderr, "wake_bench: call failed: %s\n", reply ? "short reply" : reply.error().describe().c_str());
            std::exit(1);
        }
        if (i >= calls / 10) samples.push_back(std::chrono::duration<double, std::micro>(took).count());
    }
    std::sort(samples.begin(), samples.end());
    return {samples[samples.size() / 2], samples[samples.size() * 99 / 100]};
}

// Sends `fds` in batches; one more message without fds ends the list.
class FdSender {
public:
    explicit FdSender(int socket) : socket_(socket) {}
    bool add(UniqueFd fd) {
        batch_.push_back(std::move(fd));
        return batch_.size() < kMaxFdsPerMessage || flush();
    }
    bool flush() {
        std::vector<int> fds;
        for (auto& fd : batch_) fds.push_back(fd.get());
        const uint32_t n = static_cast<uint32_t>(fds.size());
        const bool ok = fds.empty() || send_message(socket_, as_bytes_of(n), fds).has_value();
        batch_.clear();
        return ok;
    }

private:
    int socket_;
    std::vector<UniqueFd> batch_;
};

// In the service process: idle connections. Their doorbells go to the client (`to_client`), the client
// ends of their sockets to a holder process (`to_holder`): the service keeps one fd per connection,
// and no process needs more than 10,000.
bool add_idle(Dispatcher& dispatcher, int count, int to_client, int to_holder,
              std::vector<std::shared_ptr<ChannelServer>>& keep) {
    FdSender doorbells(to_client), sockets(to_holder);
    for (int i = 0; i < count; ++i) {
        auto regions = ChannelRegions::create({.slot_count = 1, .request_pool_size = 4096, .reply_pool_size = 4096});
        if (!regions) {
            std::fprintf(stderr, "wake_bench: connection %d: %s\n", i, regions.error().describe().c_str());
            return false;
        }
        auto server = ChannelServer::attach({regions->ctrl.get(), regions->request_pool.get(),
                                             regions->reply_pool.get(), regions->doorbell.get()});
        if (!server) {
            std::fprintf(stderr, "wake_bench: connection %d: %s\n", i, server.error().describe().c_str());
            return false;
        }
        auto socket = std::make_shared<FdChannel>();
        socket->attach(std::move(regions->service_socket));
        if (!dispatcher.add(*server, regions->doorbell.get(), socket)) return false;
        keep.push_back(*server);
        if (!doorbells.add(std::move(regions->doorbell)) || !sockets.add(std::move(regions->client_socket)))
            return false;
    }
    return doorbells.flush() && sockets.flush();
}

// The holder: keeps every fd it receives until its socket closes.
[[noreturn]] void hold(int socket) {
    std::vector<UniqueFd> held;
    for (;;) {
        uint32_t n = 0;
        auto received = receive_message(socket, {reinterpret_cast<std::byte*>(&n), sizeof n});
        if (!received || received->bytes == 0) ::_exit(0);
        for (auto& fd : received->fds) held.push_back(std::move(fd));
    }
}

}  // namespace

int main(int argc, char** argv) {
    int connections = 10000;
    int calls = 5000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--connections") == 0) connections = std::atoi(argv[i + 1]);
        if (std::strcmp(argv[i], "--calls") == 0) calls = std::atoi(argv[i + 1]);
    }
    if (rlimit fds{}; ::getrlimit(RLIMIT_NOFILE, &fds) == 0) {
        fds.rlim_cur = fds.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &fds);
    }

    auto regions = ChannelRegions::create({.slot_count = 4, .request_pool_size = 1 << 20, .reply_pool_size = 1 << 20});
    if (!regions) {
        std::fprintf(stderr, "wake_bench: %s\n", regions.error().describe().c_str());
        return 1;
    }
    int transfer[2], holder_socket[2], command[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, transfer) != 0 ||
        ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, holder_socket) != 0 || ::pipe(command) != 0)
        return 1;
    // Both children are owned: killed and reaped when main returns early, SIGKILLed should it die.
    liteipc::testing::OwnedPid holder = liteipc::testing::fork_child([&]() -> int {
        ::close(holder_socket[1]);
        hold(holder_socket[0]);
    });
    ::close(holder_socket[0]);
    liteipc::testing::OwnedPid service = liteipc::testing::fork_child([&]() -> int {
        ::close(transfer[0]);
        ::close(command[1]);
        auto fds = regions->for_service();
        if (!fds) return 2;
        auto server = ChannelServer::attach(fds->view());
        if (!server) return 2;
        auto socket = std::make_shared<FdChannel>();
        socket->attach(std::move(regions->service_socket));
        regions->client_socket.reset();
        Dispatcher dispatcher(echo, {.workers = 1, .spin = {}});
        if (!dispatcher.add(*server, fds->doorbell.get(), socket) || !dispatcher.start()) return 3;
        std::vector<std::shared_ptr<ChannelServer>> idle;
        char what;
        while (::read(command[0], &what, 1) == 1) {
            if (what == 'a' && !add_idle(dispatcher, connections - 1, transfer[1], holder_socket[1], idle)) return 4;
            const uint32_t done = 0;
            (void)send_message(transfer[1], as_bytes_of(done));
        }
        dispatcher.stop();
        return 0;
    });
    ::close(transfer[1]);
    ::close(command[0]);
    ::close(holder_socket[1]);
    regions->service_socket.reset();
    auto fds = regions->for_client();
    if (!fds) return 1;
    auto client = ChannelClient::attach(fds->view(), {.spin = {}});
    if (!client) {
        std::fprintf(stderr, "wake_bench: client attach failed\n");
        return 1;
    }

    // Asks the service to add the idle connections ('a') or just to answer ('s'); keeps the doorbells
    // it sends.
    std::vector<UniqueFd> idle_ends;
    auto ask = [&](char what) {
        if (::write(command[1], &what, 1) != 1) std::exit(1);
        for (;;) {
            uint32_t n = 0;
            auto received = receive_message(transfer[0], {reinterpret_cast<std::byte*>(&n), sizeof n}, 600000);
            if (!received || received->bytes == 0) {
                std::fprintf(stderr, "wake_bench: the service failed to set up its connections\n");
                std::exit(1);
            }
            if (received->fds.empty()) return;  // the list's end
            for (auto& fd : received->fds) idle_ends.push_back(std::move(fd));
        }
    };

    ask('s');
    const Figures one_before = measure(*client, calls);
    const auto setup_start = Clock::now();
    ask('a');
    const double setup_s = std::chrono::duration<double>(Clock::now() - setup_start).count();
    const Figures many = measure(*client, calls);
    holder.kill_and_wait();  // every idle connection hangs up: the service drops them
    idle_ends.clear();
    ::usleep(200000);
    const Figures one_after = measure(*client, calls);

    const double one_median = (one_before.median_us + one_after.median_us) / 2;
    const double ratio = many.median_us / one_median;
    std::printf("wake latency: blocking 64 B round trip, the service's only worker asleep before every call\n");
    std::printf("  %-34s %10s %10s\n", "", "median us", "p99 us");
    std::printf("  %-34s %10.1f %10.1f\n", "1 connection", one_before.median_us, one_before.p99_us);
    std::printf("  %-34s %10.1f %10.1f   (%d idle added in %.1f s)\n",
                (std::to_string(connections) + " connections").c_str(), many.median_us, many.p99_us,
                connections - 1, setup_s);
    std::printf("  %-34s %10.1f %10.1f\n", "1 connection, again", one_after.median_us, one_after.p99_us);
    std::printf("target:\n  wake at %d connections <= 1.5x wake at 1      %.2fx  %s\n", connections, ratio,
                ratio <= 1.5 ? "met" : "NOT met");
    ::close(command[1]);
    service.wait();
    return 0;
}
