// Topics with real processes on a real loader: fan-out to 16 subscribers of two uids (a third
// refused by the kernel), every byte under the blocking policy, the latest ones under latest-N, a
// stopped subscriber that stalls nobody, a killed one whose samples come back, and a publisher's
// death that reaches every subscriber once.
#include <nlohmann/json.hpp>

#include "liteipc/topic.h"
#include "test_processes.h"
#include "topic_protocol.h"

namespace liteipc::testing {
namespace {

constexpr uid_t kSecondUid = 65533;
constexpr uid_t kDeniedUid = 65532;

class TopicTest : public WithLoader<> {
protected:
    TopicTest() : WithLoader("topic", /*needs_group=*/true) {}

    Peer spawn_subscriber(uid_t uid, const std::string& topic, Overflow overflow, uint32_t depth, uint64_t last) {
        return Peer::spawn("topic_subscriber", peer_args(loader_.options(), uid, topic, static_cast<uint32_t>(overflow),
                                                         depth, last));
    }

    // Publishes samples from..to, each of its own size and bytes (topic_protocol.h).
    void publish_range(Publisher& publisher, uint64_t from, uint64_t to) {
        for (uint64_t sequence = from; sequence <= to; ++sequence) {
            auto sample = publisher.loan(std::chrono::seconds(30));
            ASSERT_TRUE(sample) << sample.error().describe();
            const size_t size = topic_sample_size(sequence);
            for (size_t i = 0; i < size; ++i) sample->data()[i] = stream_byte(sequence, i);
            auto published = publisher.publish(*sample, size, std::chrono::seconds(30));
            ASSERT_TRUE(published) << published.error().describe();
            ASSERT_EQ(*published, sequence);
        }
    }

    // Waits until the publisher counts `count` subscribers (a subscribe ends in its worker).
    bool wait_for_subscribers(Publisher& publisher, uint32_t count) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (publisher.stats().subscribers != count) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(5ms);
        }
        return true;
    }

    // The loader's view of the topic: {kind, subscriber count}.
    std::pair<std::string, size_t> loader_view(const std::string& topic) {
        auto status = context_->loader_status();
        if (!status) {
            ADD_FAILURE() << status.error().describe();
            return {"", 0};
        }
        const auto document = nlohmann::json::parse(*status);
        for (const auto& s : document["services"])
            if (s["name"] == topic) return {s["mode"].get<std::string>(), s["clients"].size()};
        return {"", 0};
    }
};

TEST_F(TopicTest, FanOutToSixteenProcessesOfTwoUidsEveryByteUnderBlockingAndAThirdUidRefused) {
    auto publisher = Publisher::create(*context_, {.name = "test.topic.fanout", .subscriber_policy = Policy::uid_list,
                                                   .sample_size = 1024, .sample_count = 16 * 12 + 2});
    ASSERT_TRUE(publisher) << publisher.error().describe();
    ASSERT_TRUE(publisher->allow_uid(kNobody));
    ASSERT_TRUE(publisher->allow_uid(kSecondUid));
    constexpr uint64_t kSamples = 300;
    std::vector<Peer> subscribers;
    for (int i = 0; i < 16; ++i)
        subscribers.push_back(spawn_subscriber(i % 2 ? kSecondUid : kNobody, "test.topic.fanout",
                                               Overflow::block_publisher, 8, kSamples));
    Peer denied = spawn_subscriber(kDeniedUid, "test.topic.fanout", Overflow::block_publisher, 8, kSamples);
    for (auto& peer : subscribers) {
        TopicSubscribed subscribed{};
        ASSERT_TRUE(peer.read(subscribed));
        ASSERT_EQ(subscribed.result, 0) << "pid " << subscribed.pid;
    }
    TopicSubscribed refused{};
    ASSERT_TRUE(denied.read(refused));
    EXPECT_EQ(refused.result, static_cast<int64_t>(Errc::permission_denied));
    ASSERT_TRUE(wait_for_subscribers(*publisher, 16));
    EXPECT_EQ(loader_view("test.topic.fanout"), std::make_pair(std::string("topic"), size_t{16}));

    publish_range(*publisher, 1, kSamples);
    for (auto& peer : subscribers) {
        TopicTally tally{};
        ASSERT_TRUE(peer.read(tally));
        EXPECT_EQ(tally.status, 0);
        EXPECT_EQ(tally.received, kSamples);
        EXPECT_EQ(tally.first_sequence, 1u);
        EXPECT_EQ(tally.mismatches, 0u);
        EXPECT_EQ(tally.gaps, 0u);
        EXPECT_EQ(tally.dropped, 0u);
    }
    EXPECT_EQ(publisher->stats().dropped, 0u);
}

TEST_F(TopicTest, StoppedSubscriberStallsNobodyGrowsNothingAndThenSeesTheLatest) {
    auto publisher = Publisher::create(*context_, {.name = "test.topic.latest", .subscriber_policy = Policy::anyone,
                                                   .sample_size = 1024, .sample_count = 64});
    ASSERT_TRUE(publisher) << publisher.error().describe();
    constexpr uint64_t kSamples = 2000;
    constexpr uint32_t kStoppedDepth = 4;
    Peer reader = spawn_subscriber(kNobody, "test.topic.latest", Overflow::keep_latest, 32, kSamples);
    Peer stopped = spawn_subscriber(kSecondUid, "test.topic.latest", Overflow::keep_latest, kStoppedDepth, kSamples);
    TopicSubscribed subscribed{};
    ASSERT_TRUE(reader.read(subscribed));
    ASSERT_EQ(subscribed.result, 0);
    ASSERT_TRUE(stopped.read(subscribed));
    ASSERT_EQ(subscribed.result, 0);
    ASSERT_TRUE(wait_for_subscribers(*publisher, 2));
    stopped.signal(SIGSTOP);

    // Every publish goes through at once: latest-N never waits for the stopped reader.
    const auto start = std::chrono::steady_clock::now();
    uint32_t most_in_use = 0;
    for (uint64_t sequence = 1; sequence <= kSamples; ++sequence) {
        publish_range(*publisher, sequence, sequence);
        if (sequence % 100 == 0) most_in_use = std::max(most_in_use, publisher->stats().samples_in_use);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
    // What is in use never passes the reservations: the queues, what readers hold, the loans.
    EXPECT_LE(most_in_use, 32u + 4 + kStoppedDepth + 4 + 2);

    TopicTally fast{};
    ASSERT_TRUE(reader.read(fast));
    EXPECT_EQ(fast.status, 0);
    EXPECT_EQ(fast.last_sequence, kSamples);
    EXPECT_EQ(fast.mismatches, 0u);
    EXPECT_EQ(fast.received + fast.dropped, kSamples);

    // Resumed, the stopped subscriber finds the latest kStoppedDepth samples, byte for byte.
    stopped.signal(SIGCONT);
    TopicTally late{};
    ASSERT_TRUE(stopped.read(late));
    EXPECT_EQ(late.status, 0);
    EXPECT_EQ(late.first_sequence, kSamples - kStoppedDepth + 1);
    EXPECT_EQ(late.received, kStoppedDepth);
    EXPECT_EQ(late.mismatches, 0u);
    EXPECT_EQ(late.dropped, kSamples - kStoppedDepth);
}

TEST_F(TopicTest, KilledSubscribersHeldSamplesComeBackAtOnce) {
    auto publisher = Publisher::create(*context_, {.name = "test.topic.kill", .subscriber_policy = Policy::anyone,
                                                   .sample_size = 1024, .sample_count = 16});
    ASSERT_TRUE(publisher) << publisher.error().describe();
    Peer holder = Peer::spawn("topic_holder", peer_args(loader_.options(), "test.topic.kill", 4));
    int64_t result = -1;
    ASSERT_TRUE(holder.read(result));
    ASSERT_EQ(result, 0);
    ASSERT_TRUE(wait_for_subscribers(*publisher, 1));
    publish_range(*publisher, 1, 4);
    int64_t held = 0;
    ASSERT_TRUE(holder.read(held));
    ASSERT_EQ(held, 4);
    EXPECT_EQ(publisher->stats().samples_in_use, 4u);

    holder.kill_and_wait();
    ASSERT_TRUE(wait_for_subscribers(*publisher, 0));
    EXPECT_EQ(publisher->stats().samples_in_use, 0u);
    // The pool is whole again: every sample can be loaned and published.
    publish_range(*publisher, 5, 40);
}

TEST_F(TopicTest, PublishersDeathReachesEverySubscriberOnceAndARestartedOneIsFoundAgain) {
    Peer first = Peer::spawn("topic_publisher", peer_args(loader_.options(), uid_t{0}, "test.topic.restart", 0u, 0u, 0u));
    int64_t result = -1;
    ASSERT_TRUE(first.read(result));
    ASSERT_EQ(result, 0);
    constexpr int kSubscribers = 4;
    std::vector<Subscriber> subscribers;
    std::vector<std::unique_ptr<NoticeBox>> boxes;
    std::vector<DeathSubscription> watches;
    for (int i = 0; i < kSubscribers; ++i) {
        auto subscriber = Subscriber::open(*context_, "test.topic.restart");
        ASSERT_TRUE(subscriber) << subscriber.error().describe();
        auto sample = subscriber->take(std::chrono::seconds(30));
        ASSERT_TRUE(sample) << sample.error().describe();
        boxes.push_back(std::make_unique<NoticeBox>());
        auto watch = subscriber->on_publisher_death(boxes.back()->callback());
        ASSERT_TRUE(watch);
        watches.push_back(std::move(*watch));
        subscribers.push_back(std::move(*subscriber));
    }

    first.kill_and_wait();
    for (auto& box : boxes) EXPECT_TRUE(box->wait_for(1, std::chrono::seconds(30)));
    for (auto& subscriber : subscribers) {
        // What was queued before the death may still be read; then the end is named.
        Result<ReceivedSample> sample;
        do sample = subscriber.take(std::chrono::seconds(30));
        while (sample);
        EXPECT_EQ(sample.error().code, Errc::dead_object) << sample.error().describe();
        EXPECT_FALSE(subscriber.publisher_alive());
    }
    std::this_thread::sleep_for(200ms);  // a second notice would have come by now
    for (auto& box : boxes) EXPECT_EQ(box->size(), 1u);

    Peer second = Peer::spawn("topic_publisher", peer_args(loader_.options(), uid_t{0}, "test.topic.restart", 0u, 0u, 0u));
    ASSERT_TRUE(second.read(result));
    ASSERT_EQ(result, 0);
    for (auto& subscriber : subscribers) {
        auto again = subscriber.resubscribe(*context_);
        ASSERT_TRUE(again) << again.error().describe();
        auto sample = subscriber.take(std::chrono::seconds(30));
        ASSERT_TRUE(sample) << sample.error().describe();
        EXPECT_TRUE(subscriber.publisher_alive());
    }
}

}  // namespace
}  // namespace liteipc::testing
