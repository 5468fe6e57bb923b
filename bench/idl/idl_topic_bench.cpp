// The cost of a generated topic publisher (liteipc-idl --topic): IBenchEvents.Frame(byte[]) against
// Publisher::publish_copy of the same payload, 64 B and 4 KiB. One subscriber process reads every
// byte of both topics (the generated subscriber on one, a raw Subscriber on the other). The publisher
// publishes in blocks by turns, 40 rounds, and prints the median thread CPU time per publish of each
// and the ratio generated / by hand (CPU time: what the publisher spends, not what it waits).
// Run by scripts/bench-idl-topic.sh, which starts a private liteipc-loader.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "ibench_events.h"
#include "idl_bench_support.h"
#include "owned_pid.h"

namespace {

constexpr const char* kGeneratedTopic = "bench.idl.topic.generated";
constexpr const char* kHandTopic = "bench.idl.topic.hand";
constexpr uint64_t kLargest = 4096;

class FrameReader final : public bench::IBenchEvents {
public:
    liteipc::Result<> Frame(liteipc::idl::ByteView data) override {
        sum += sum_of(std::as_bytes(data));
        ++count;
        return {};
    }
    uint64_t sum = 0, count = 0;
};

// The subscriber process: waits for `go`, subscribes to both topics, says so, and reads each on its
// own thread until its publisher is gone; then reports the samples and byte sums of each.
int subscribe(int go, int report) {
    char byte;
    if (::read(go, &byte, 1) != 1) return 1;
    auto context = liteipc::Context::open();
    if (!context) return 1;
    const liteipc::SubscribeOptions options{.depth = 64, .overflow = liteipc::Overflow::block_publisher};
    FrameReader generated;
    auto events = bench::BenchEventsTopicSubscriber::open(*context, kGeneratedTopic, generated, options);
    auto hand = liteipc::Subscriber::open(*context, kHandTopic, options);
    const char ok = events && hand ? 'y' : 'n';
    if (::write(report, &ok, 1) != 1 || ok != 'y') return 1;
    std::array<uint64_t, 4> totals{};
    std::thread by_hand([&] {
        for (;;) {
            auto sample = hand->take(std::chrono::seconds(30));
            if (!sample) break;
            totals[2] += 1;
            totals[3] += sum_of(sample->data());
        }
    });
    while (events->receive(std::chrono::seconds(30))) {
    }
    by_hand.join();
    totals[0] = generated.count;
    totals[1] = generated.sum;
    return ::write(report, totals.data(), sizeof totals) == static_cast<ssize_t>(sizeof totals) ? 0 : 1;
}

uint64_t thread_cpu_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return uint64_t(t.tv_sec) * 1000000000 + uint64_t(t.tv_nsec);
}

}  // namespace

int main() {
    int go[2], report[2];
    if (::pipe(go) != 0 || ::pipe(report) != 0) return 2;
    // Forked before this process starts threads; SIGKILLed when this one ends.
    const liteipc::testing::OwnedPid subscriber = liteipc::testing::fork_child([&] { return subscribe(go[0], report[1]); });
    if (!subscriber) return 2;
    auto context = liteipc::Context::open();
    if (!context) return 2;
    uint64_t published[2] = {}, bytes[2] = {};  // by hand, generated
    {  // the publishers: gone at the end of this block, which ends the subscriber's reading
        auto topic = [](const char* name) {
            return liteipc::TopicOptions{.name = name, .subscriber_policy = liteipc::Policy::anyone, .sample_size = kLargest + 256};
        };
        auto events = bench::BenchEventsTopicPublisher::create(*context, topic(kGeneratedTopic));
        auto hand = liteipc::Publisher::create(*context, topic(kHandTopic));
        char ok = 0;
        if (!events || !hand || ::write(go[1], "g", 1) != 1 || ::read(report[0], &ok, 1) != 1 || ok != 'y') return 2;
        while (events->publisher().stats().subscribers != 1 || hand->stats().subscribers != 1)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));

        std::printf("%-8s %16s %16s %8s\n", "payload", "hand (ns/pub)", "generated (ns/pub)", "ratio");
        for (size_t size : {size_t{64}, size_t{kLargest}}) {
            std::vector<uint8_t> payload(size);
            constexpr int kBlock = 200;
            std::vector<double> by_hand, generated;
            // One block of publishes, each payload rewritten first; its CPU time per publish.
            auto block = [&](int round, bool through_generated) {
                uint64_t spent = 0;
                for (int i = 0; i < kBlock; ++i) {
                    std::fill(payload.begin(), payload.end(), static_cast<uint8_t>(round + i));
                    const uint64_t start = thread_cpu_ns();
                    const bool sent = through_generated ? bool(events->Frame(payload))
                                                        : bool(hand->publish_copy(std::as_bytes(std::span(payload))));
                    spent += thread_cpu_ns() - start;
                    if (!sent) {
                        std::fprintf(stderr, "idl_topic_bench: a publish failed\n");
                        std::exit(2);
                    }
                    published[through_generated] += 1;
                    bytes[through_generated] += size * static_cast<uint8_t>(round + i);
                }
                (through_generated ? generated : by_hand).push_back(double(spent) / kBlock);
            };
            for (int round = 0; round < 40; ++round) {
                block(round, round % 2 == 0);
                block(round, round % 2 != 0);
            }
            const double h = median(by_hand), g = median(generated);
            std::printf("%-8zu %16.0f %16.0f %7.3fx\n", size, h, g, g / h);
        }
    }
    // The subscriber read every sample and every byte of both topics.
    std::array<uint64_t, 4> totals{};
    if (::read(report[0], totals.data(), sizeof totals) != static_cast<ssize_t>(sizeof totals) || totals[0] != published[1] ||
        totals[1] != bytes[1] || totals[2] != published[0] || totals[3] != bytes[0]) {
        std::fprintf(stderr, "idl_topic_bench: the subscriber did not read every sample\n");
        return 2;
    }
    return 0;
}
