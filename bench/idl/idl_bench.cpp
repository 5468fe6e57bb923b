// The cost of generated code: IBench.Sum(byte[]) through the generated proxy and stub, against
// the same call written by hand (write_buffer, read_buffer in place, int64 back), 64 B and 64 KiB.
// One service in a child process answers both; the client calls them in blocks by turns, 40
// rounds, over one connection, and prints each size's median round trip and the ratio generated / hand-written. Every payload
// byte is written by the client and read by the service. Exit 1 when a ratio is over the target.
// Run by scripts/bench-idl.sh, which starts a private liteipc-loader.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "ibench.h"
#include "idl_bench_support.h"
#include "owned_pid.h"

namespace {

constexpr uint32_t kHandSum = 100;  // past the interface's codes
constexpr double kTarget = 1.05;

class Bench final : public bench::BenchStub {
public:
    liteipc::Result<int64_t> Sum(liteipc::idl::ByteView data) override { return sum_of(std::as_bytes(data)); }
};

// One service answers both: code kHandSum by hand, the interface's codes through the stub. Both
// paths share the connection, the worker and the rings; only the code in between differs.
int serve(int ready) {
    auto context = liteipc::Context::open();
    if (!context) return 1;
    Bench generated;
    auto service = liteipc::Service::start(*context, {.name = "bench.idl", .workers = 1}, [&](liteipc::Call& call) {
        if (call.code() != kHandSum) return generated.dispatch(call);
        const auto bytes = call.request().read_buffer();
        if (!call.request().ok()) return -static_cast<int32_t>(liteipc::Errc::malformed);
        call.reply().write_int64(sum_of(bytes));
        return 0;
    });
    const char ok = service ? 'y' : 'n';
    if (::write(ready, &ok, 1) != 1) return 1;
    ::pause();
    return 0;
}

// One call's round trip in microseconds; the payload is rewritten before each call.
template <typename Call>
double timed(std::vector<uint8_t>& payload, int round, Call&& call) {
    std::fill(payload.begin(), payload.end(), static_cast<uint8_t>(round));
    const auto start = std::chrono::steady_clock::now();
    const int64_t sum = call();
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    if (sum != static_cast<int64_t>(payload.size()) * static_cast<uint8_t>(round)) {
        std::fprintf(stderr, "idl_bench: wrong sum\n");
        std::exit(2);
    }
    return us;
}

}  // namespace

int main() {
    int ready[2];
    if (::pipe(ready) != 0) return 2;
    // The service's process: SIGKILLed when this one ends or returns.
    const liteipc::testing::OwnedPid service = liteipc::testing::fork_child([&] { return serve(ready[1]); });
    if (!service) return 2;
    char ok = 0;
    if (::read(ready[0], &ok, 1) != 1 || ok != 'y') return 2;
    auto context = liteipc::Context::open();
    if (!context) return 2;
    auto proxy = bench::BenchProxy::open(*context, "bench.idl");
    if (!proxy) return 2;
    liteipc::Connection* hand = &proxy->connection();

    bool within = true;
    std::printf("%-8s %14s %14s %8s\n", "payload", "hand (us)", "generated (us)", "ratio");
    for (size_t size : {size_t{64}, size_t{64 * 1024}}) {
        std::vector<uint8_t> payload(size);
        const int calls = size <= 64 ? 500 : 100;
        std::vector<double> by_hand, generated;
        // In blocks by turns, the first block alternating between rounds: each path stays warm for
        // its block (as a client's run of calls does), and the host's noise falls on both alike.
        auto hand_block = [&] {
            for (int i = 0; i < calls; ++i)
                by_hand.push_back(timed(payload, i % 200 + 1, [&] {
                    liteipc::Request request(*hand);
                    request.writer().write_buffer(std::as_bytes(std::span(payload)));
                    // As a careful hand-written client does: the status and the read checked.
                    auto reply = hand->call(kHandSum, request);
                    if (!reply || reply->status() != 0) return int64_t{-1};
                    liteipc::Reader reader = reply->reader();
                    const int64_t sum = reader.read_int64();
                    return reader.ok() ? sum : int64_t{-1};
                }));
        };
        auto generated_block = [&] {
            for (int i = 0; i < calls; ++i)
                generated.push_back(timed(payload, i % 200 + 1, [&] {
                    auto sum = proxy->Sum(payload);
                    return sum ? *sum : int64_t{-1};
                }));
        };
        for (int round = 0; round < 40; ++round) {
            if (round % 2 == 0) {
                hand_block();
                generated_block();
            } else {
                generated_block();
                hand_block();
            }
        }
        const double h = median(by_hand), g = median(generated), ratio = g / h;
        std::printf("%-8zu %14.2f %14.2f %7.3fx\n", size, h, g, ratio);
        within = within && ratio <= kTarget;
    }
    std::printf("target: generated within %.2fx of hand-written: %s\n", kTarget, within ? "met" : "missed");
    return within ? 0 : 1;
}
