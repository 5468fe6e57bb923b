// The publisher's fanout and the subscriber's reader over real memfds, in one process: delivery,
// release accounting, latest-N, blocking, history, wake-ups and a subscriber that lies.
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "transport/topic_fanout.h"
#include "transport/topic_reader.h"

namespace liteipc::detail {
namespace {

using namespace std::chrono_literals;

struct Subscribed {
    SubscriptionGrant grant;
    std::unique_ptr<TopicReader> reader;
    UniqueFd wake;  // the subscriber's end
};

std::unique_ptr<TopicFanout> make_fanout(uint32_t samples, uint32_t history = 0, uint64_t size = 256) {
    auto fanout = TopicFanout::create("unit.topic", {.sample_size = size, .sample_count = samples, .history = history,
                                                     .max_loans = 2, .try_hugepages = false});
    EXPECT_TRUE(fanout) << fanout.error().describe();
    return std::move(*fanout);
}

Result<Subscribed> subscribe(TopicFanout& fanout, uint32_t depth, uint32_t max_held, bool block = false,
                             uint32_t history = 0) {
    int pair[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair), 0);
    SubscriptionRequest request;
    request.depth = depth;
    request.max_held = max_held;
    request.history = history;
    request.block = block;
    request.peer = PeerId{1, 1, 100};
    request.wake_socket = UniqueFd(pair[1]);
    auto grant = fanout.subscribe(std::move(request));
    if (!grant) {
        ::close(pair[0]);
        return std::unexpected(grant.error());
    }
    auto reader = TopicReader::attach(grant->pool_fd, grant->queue_fd, grant->reader_fd, max_held);
    if (!reader) return std::unexpected(reader.error());
    return Subscribed{*grant, std::move(*reader), UniqueFd(pair[0])};
}

uint64_t publish_pattern(TopicFanout& fanout, uint8_t seed, uint64_t size, Deadline deadline = Deadline::now()) {
    auto index = fanout.loan(deadline);
    EXPECT_TRUE(index) << index.error().describe();
    auto bytes = fanout.sample_bytes(*index);
    for (uint64_t i = 0; i < size; ++i) bytes[i] = std::byte(uint8_t(seed + i));
    auto sequence = fanout.publish(*index, size, deadline);
    EXPECT_TRUE(sequence) << sequence.error().describe();
    return sequence ? *sequence : 0;
}

TEST(TopicFanout, EverySubscriberReadsEverySampleInPlaceAndReleasesItForReuse) {
    auto fanout = make_fanout(32);
    auto a = subscribe(*fanout, 8, 2);
    auto b = subscribe(*fanout, 8, 2);
    ASSERT_TRUE(a && b);
    for (uint8_t round = 0; round < 20; ++round) {
        publish_pattern(*fanout, round, 100 + round);
        for (Subscribed* s : {&*a, &*b}) {
            auto taken = s->reader->try_take();
            ASSERT_TRUE(taken && *taken);
            EXPECT_EQ((*taken)->sequence, round + 1u);
            auto bytes = s->reader->bytes(**taken);
            ASSERT_EQ(bytes.size(), 100u + round);
            for (size_t i = 0; i < bytes.size(); ++i) ASSERT_EQ(bytes[i], std::byte(uint8_t(round + i)));
            s->reader->release((*taken)->index);
        }
    }
    // Released samples return once the publisher looks (its next loan).
    auto index = fanout->loan(Deadline::now());
    ASSERT_TRUE(index);
    EXPECT_EQ(fanout->stats().samples_in_use, 1u);
    fanout->give_back(*index);
    EXPECT_EQ(fanout->stats().samples_in_use, 0u);
}

TEST(TopicFanout, KeepLatestDropsTheOldestAndCountsThem) {
    auto fanout = make_fanout(32);
    auto slow = subscribe(*fanout, 4, 1);
    ASSERT_TRUE(slow);
    for (uint8_t i = 0; i < 10; ++i) publish_pattern(*fanout, i, 8);
    EXPECT_EQ(slow->reader->dropped(), 6u);
    EXPECT_EQ(fanout->stats().samples_in_use, 4u);  // only what the queue holds: memory stays flat
    for (uint64_t expected = 7; expected <= 10; ++expected) {
        auto taken = slow->reader->try_take();
        ASSERT_TRUE(taken && *taken);
        EXPECT_EQ((*taken)->sequence, expected);
        slow->reader->release((*taken)->index);
    }
    auto none = slow->reader->try_take();
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
}

TEST(TopicFanout, MaxHeldIsEnforcedOnTheSubscriberSide) {
    auto fanout = make_fanout(32);
    auto s = subscribe(*fanout, 4, 2);
    ASSERT_TRUE(s);
    for (uint8_t i = 0; i < 3; ++i) publish_pattern(*fanout, i, 8);
    auto first = s->reader->try_take();
    auto second = s->reader->try_take();
    ASSERT_TRUE(first && *first && second && *second);
    auto third = s->reader->try_take();
    ASSERT_FALSE(third);
    EXPECT_EQ(third.error().code, Errc::no_memory);
    s->reader->release((*first)->index);
    auto again = s->reader->try_take();
    ASSERT_TRUE(again && *again);
    EXPECT_EQ((*again)->sequence, 3u);
}

TEST(TopicFanout, TakingAndReleasingMoreThanMaxHeldBetweenPublishesIsHonest) {
    auto fanout = make_fanout(32);
    auto s = subscribe(*fanout, 8, 2);
    ASSERT_TRUE(s);
    for (uint8_t i = 0; i < 6; ++i) publish_pattern(*fanout, i, 8);
    for (int i = 0; i < 6; ++i) {
        auto taken = s->reader->try_take();
        ASSERT_TRUE(taken && *taken);
        s->reader->release((*taken)->index);
    }
    publish_pattern(*fanout, 7, 8);
    EXPECT_EQ(fanout->stats().subscribers, 1u);
    EXPECT_EQ(fanout->stats().dropped_subscribers, 0u);
    EXPECT_EQ(fanout->stats().samples_in_use, 1u);
}

TEST(TopicFanout, BlockingSubscriberTimesOutThePublisherAndNobodyGetsTheSample) {
    auto fanout = make_fanout(32);
    auto blocking = subscribe(*fanout, 2, 2, true);
    auto latest = subscribe(*fanout, 2, 2, false);
    ASSERT_TRUE(blocking && latest);
    publish_pattern(*fanout, 1, 8);
    publish_pattern(*fanout, 2, 8);
    auto index = fanout->loan(Deadline::now());
    ASSERT_TRUE(index);
    auto start = std::chrono::steady_clock::now();
    auto refused = fanout->publish(*index, 8, Deadline::after(50ms));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::timed_out);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
    EXPECT_EQ(fanout->stats().published, 2u);
    // The loan is still the publisher's: once the subscriber takes one, the same sample goes out.
    std::thread reader([&] {
        std::this_thread::sleep_for(20ms);
        auto taken = blocking->reader->try_take();
        ASSERT_TRUE(taken && *taken);
        blocking->reader->release((*taken)->index);
    });
    auto sequence = fanout->publish(*index, 8, Deadline::after(10s));
    reader.join();
    ASSERT_TRUE(sequence) << sequence.error().describe();
    EXPECT_EQ(*sequence, 3u);
}

TEST(TopicFanout, SubscriptionsReservePoolRoomAndOnePastItIsRefused) {
    auto fanout = make_fanout(24);  // 2 loans, so 22 to reserve
    auto a = subscribe(*fanout, 8, 3);
    auto b = subscribe(*fanout, 8, 3);
    ASSERT_TRUE(a && b);
    auto c = subscribe(*fanout, 4, 3);  // 22 + 7 > 22
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, Errc::no_memory);
    EXPECT_EQ(fanout->stats().subscribers, 2u);
    ASSERT_TRUE(fanout->unsubscribe(a->grant.id, PeerId{1, 1, 100}));
    EXPECT_TRUE(subscribe(*fanout, 4, 3));  // what a's going left
}

TEST(TopicFanout, LateJoinerGetsTheHistoryOldestFirst) {
    auto fanout = make_fanout(32, 3);
    for (uint8_t i = 0; i < 5; ++i) publish_pattern(*fanout, i, 8);
    auto late = subscribe(*fanout, 8, 4, false, 2);
    ASSERT_TRUE(late);
    for (uint64_t expected : {4u, 5u}) {
        auto taken = late->reader->try_take();
        ASSERT_TRUE(taken && *taken);
        EXPECT_EQ((*taken)->sequence, expected);
        EXPECT_EQ(late->reader->bytes(**taken)[0], std::byte(uint8_t(expected - 1)));
        late->reader->release((*taken)->index);
    }
}

TEST(TopicFanout, ArmedWakeSocketBecomesReadableAtTheNextPublishOnly) {
    auto fanout = make_fanout(32);
    auto s = subscribe(*fanout, 8, 2);
    ASSERT_TRUE(s);
    pollfd watched{s->wake.get(), POLLIN, 0};
    publish_pattern(*fanout, 1, 8);
    EXPECT_EQ(::poll(&watched, 1, 0), 0);  // not armed: nobody is woken
    EXPECT_FALSE(s->reader->arm_socket());  // a sample is queued: take it rather than wait
    auto taken = s->reader->try_take();
    ASSERT_TRUE(taken && *taken);
    s->reader->release((*taken)->index);
    EXPECT_TRUE(s->reader->arm_socket());
    publish_pattern(*fanout, 2, 8);
    EXPECT_EQ(::poll(&watched, 1, 1000), 1);
}

TEST(TopicFanout, SubscriberThatWritesNonsenseIsDroppedAndItsSamplesReclaimed) {
    auto fanout = make_fanout(32);
    auto honest = subscribe(*fanout, 4, 2);
    auto liar = subscribe(*fanout, 4, 2);
    ASSERT_TRUE(honest && liar);
    publish_pattern(*fanout, 1, 8);
    // A release of a sample the liar never took frees nothing.
    auto region = Mapping::map(liar->grant.reader_fd, 4096, PROT_READ | PROT_WRITE);
    ASSERT_TRUE(region);
    auto* state = reinterpret_cast<ReaderState*>(region->data());
    release_ring(state)[0].store(0);
    state->release_tail.store(1);
    publish_pattern(*fanout, 2, 8);
    EXPECT_EQ(fanout->stats().bogus_releases, 1u);
    EXPECT_EQ(fanout->stats().subscribers, 2u);
    // A head past the tail: the liar is cut off, the honest subscriber still gets everything.
    state->head.store(1000);
    publish_pattern(*fanout, 3, 8);
    EXPECT_EQ(fanout->stats().subscribers, 1u);
    EXPECT_EQ(fanout->stats().dropped_subscribers, 1u);
    EXPECT_TRUE(liar->reader->publisher_closed());
    for (uint64_t expected = 1; expected <= 3; ++expected) {
        auto taken = honest->reader->try_take();
        ASSERT_TRUE(taken && *taken);
        EXPECT_EQ((*taken)->sequence, expected);
        honest->reader->release((*taken)->index);
    }
}

TEST(TopicFanout, OnePublishWakesEverySleepingSubscriber) {
    auto fanout = make_fanout(64);
    std::vector<Subscribed> subs;
    for (int i = 0; i < 6; ++i) {
        auto sub = subscribe(*fanout, 4, 1);
        ASSERT_TRUE(sub);
        subs.push_back(std::move(*sub));
    }
    std::atomic<int> woken{0};
    std::vector<std::thread> sleepers;
    for (auto& sub : subs)
        sleepers.emplace_back([&] {
            if (sub.reader->wait(0ns, Deadline::after(30s)) && !sub.reader->empty()) woken.fetch_add(1);
        });
    // Publish once every sleeper has said it sleeps (its waiting bit), so the bell is what wakes it.
    auto all_asleep = [&] {
        for (auto& sub : subs) {
            auto region = Mapping::map(sub.grant.reader_fd, 4096, PROT_READ);
            if (!region || !(reinterpret_cast<const ReaderState*>(region->data())->waiting.load() & kWakeFutex)) return false;
        }
        return true;
    };
    const auto limit = std::chrono::steady_clock::now() + 30s;
    while (!all_asleep() && std::chrono::steady_clock::now() < limit) std::this_thread::yield();
    ASSERT_TRUE(all_asleep());
    publish_pattern(*fanout, 7, 8);
    for (auto& t : sleepers) t.join();
    EXPECT_EQ(woken.load(), 6);
}

}  // namespace
}  // namespace liteipc::detail
