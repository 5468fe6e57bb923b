// A subscriber stopped (SIGSTOP) for 60 s under a publisher that publishes as fast as it can: the
// publisher's RSS and pool use stay flat, and a live subscriber keeps receiving the latest samples.
// Labelled `long` (ctest -L long): scripts/test.sh and CI run it, the quick `-L 'unit|system'` runs
// do not. LITEIPC_STOPPED_SECONDS shortens it by hand.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "liteipc/topic.h"
#include "process_state.h"
#include "test_processes.h"
#include "topic_protocol.h"

namespace liteipc::testing {
namespace {

constexpr uid_t kSecondUid = 65533;

class StoppedSubscriberTest : public WithLoader<> {
protected:
    StoppedSubscriberTest() : WithLoader("topic-long", /*needs_group=*/true) {}
};

std::chrono::seconds stopped_for() {
    const char* text = std::getenv("LITEIPC_STOPPED_SECONDS");
    return std::chrono::seconds(text ? std::max(1, std::atoi(text)) : 60);
}

TEST_F(StoppedSubscriberTest, SixtySecondsStoppedLeaveThePublishersRssAndPoolUseFlat) {
    constexpr uint32_t kSlots = 64, kLiveDepth = 32, kStoppedDepth = 4, kHeld = 4, kLoans = 2;
    auto publisher = Publisher::create(*context_, {.name = "test.topic.stopped", .subscriber_policy = Policy::anyone,
                                                   .sample_size = 4096, .sample_count = kSlots, .max_loans = kLoans});
    ASSERT_TRUE(publisher) << publisher.error().describe();
    Peer stopped = Peer::spawn("topic_subscriber", peer_args(loader_.options(), kSecondUid, "test.topic.stopped",
                                                             static_cast<uint32_t>(Overflow::keep_latest),
                                                             kStoppedDepth, UINT64_MAX));
    TopicSubscribed subscribed{};
    ASSERT_TRUE(stopped.read(subscribed));
    ASSERT_EQ(subscribed.result, 0);
    auto live = Subscriber::open(*context_, "test.topic.stopped", {.depth = kLiveDepth, .max_held = kHeld});
    ASSERT_TRUE(live) << live.error().describe();
    std::atomic<bool> done{false};
    std::atomic<uint64_t> received{0}, last_seen{0};
    std::thread reader([&] {
        while (!done.load()) {
            auto sample = live->take(std::chrono::milliseconds(100));
            if (!sample) continue;
            received.fetch_add(1);
            last_seen.store(sample->sequence());
        }
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (publisher->stats().subscribers != 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    ASSERT_EQ(publisher->stats().subscribers, 2u);
    stopped.signal(SIGSTOP);

    uint64_t sequence = 0;
    uint32_t most_in_use = 0;
    long rss_most = 0;
    auto publish_for = [&](std::chrono::steady_clock::duration how_long) {
        const auto until = std::chrono::steady_clock::now() + how_long;
        while (std::chrono::steady_clock::now() < until) {
            auto sample = publisher->loan(std::chrono::seconds(5));
            ASSERT_TRUE(sample) << sample.error().describe();
            ++sequence;
            const size_t size = topic_sample_size(sequence);
            for (size_t i = 0; i < size; ++i) sample->data()[i] = stream_byte(sequence, i);
            auto published = publisher->publish(*sample, size, std::chrono::seconds(5));
            ASSERT_TRUE(published) << published.error().describe();
            if (sequence % 256 == 0) {
                most_in_use = std::max(most_in_use, publisher->stats().samples_in_use);
                rss_most = std::max(rss_most, status_kb(::getpid(), "VmRSS"));
            }
        }
    };
    // Every slot is touched in the first second: what comes after is what a stopped reader costs.
    publish_for(std::chrono::seconds(1));
    const long rss_before = status_kb(::getpid(), "VmRSS");
    const uint32_t in_use_before = publisher->stats().samples_in_use;
    const uint64_t published_before = sequence;
    rss_most = rss_before;
    publish_for(stopped_for());
    const long rss_after = status_kb(::getpid(), "VmRSS");
    const TopicStats stats = publisher->stats();
    done = true;
    reader.join();

    std::printf("stopped subscriber for %lld s under a full-rate publisher: %llu samples published (%llu before),\n"
                "  publisher RSS %ld kB before, %ld kB after, %ld kB at most; pool use %u slots before, %u at most,\n"
                "  %u at the end, of %u; live subscriber received %llu, last sequence %llu; dropped %llu\n",
                static_cast<long long>(stopped_for().count()), static_cast<unsigned long long>(sequence),
                static_cast<unsigned long long>(published_before), rss_before, rss_after, rss_most, in_use_before,
                most_in_use, stats.samples_in_use, stats.sample_count, static_cast<unsigned long long>(received.load()),
                static_cast<unsigned long long>(last_seen.load()), static_cast<unsigned long long>(stats.dropped));
    // Pool use never passes the reservations: both queues, what the live reader holds, the loans.
    EXPECT_LE(most_in_use, kLiveDepth + kHeld + kStoppedDepth + kHeld + kLoans);
    // RSS: flat within what the allocator and the stack may move (the pool was touched before).
    EXPECT_LE(rss_most - rss_before, 1024) << "kB grown while the subscriber was stopped";
    EXPECT_EQ(stats.subscribers, 2u) << "the stopped subscriber is still subscribed";
    if (stats.subscribers != 2u) {
        // Say why it went: still stopped (the publisher let it go), or ended, and with what word.
        std::printf("stopped subscriber pid %d: /proc state '%c'\n", stopped.pid(), process_state_letter(stopped.pid()));
        TopicTally tally{};
        if (stopped.read(tally, std::chrono::milliseconds(500)))
            std::printf("  it reported: status %lld, received %llu, last sequence %llu, gaps %llu\n",
                        static_cast<long long>(tally.status), static_cast<unsigned long long>(tally.received),
                        static_cast<unsigned long long>(tally.last_sequence),
                        static_cast<unsigned long long>(tally.gaps));
    }
    EXPECT_GT(received.load(), 0u);
    EXPECT_GE(last_seen.load() + kLiveDepth + kHeld, sequence) << "the live subscriber kept up with the latest";
    stopped.signal(SIGCONT);
}

}  // namespace
}  // namespace liteipc::testing
