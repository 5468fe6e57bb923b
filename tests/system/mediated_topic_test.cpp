// Mediated topics: every publish passes the kernel's send program, which stamps the publisher for
// each subscriber in a ring only the kernel writes. Subscribers of another uid see the publisher's
// true pid and uid; a publisher that writes its queue by hand, or runs the program with records
// outside its pool, is refused (a named line, a counter) while an honest publisher on another topic
// goes on being delivered; `liteipc list` and `status` name the mode.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "liteipc/topic.h"
#include "liteipc_abi.h"
#include "test_processes.h"
#include "topic_protocol.h"

namespace liteipc::testing {
namespace {

using Json = nlohmann::json;

constexpr uid_t kPublisherUid = 65533;

class MediatedTopicTest : public WithLoader<> {
protected:
    MediatedTopicTest() : WithLoader("med-topic", /*needs_group=*/true) {}

    // A peer publishing mediated `topic` as `uid`, once the topic exists.
    Peer spawn_publisher(const char* role, uid_t uid, const std::string& topic) {
        Peer peer = Peer::spawn(role, peer_args(loader_.options(), uid, topic));
        int64_t created = -9999;
        EXPECT_TRUE(peer.read(created)) << role << " reported nothing";
        EXPECT_EQ(created, 0) << role << " could not create " << topic;
        return peer;
    }

    // A subscriber that asked for nothing special: the loader tells it the topic is mediated.
    Subscriber subscribe(const std::string& topic) {
        auto subscriber = Subscriber::open(*context_, topic, {.depth = 4, .max_held = 2});
        EXPECT_TRUE(subscriber) << subscriber.error().describe();
        return std::move(*subscriber);
    }

    std::pair<std::string, int> cli(const std::string& args) {
        return run_command("LITEIPC_SOCKET=" + loader_.socket() + " LITEIPC_PIN_ROOT=" + loader_.pin_root() + " " +
                           LITEIPC_CLI_PATH + " " + args + " 2>&1");
    }

    uint64_t stamps_refused() {
        auto text = context_->loader_status();
        EXPECT_TRUE(text) << text.error().describe();
        return text ? Json::parse(*text)["refused"]["stamp_refused"].get<uint64_t>() : 0;
    }
};

// Takes samples until one comes stamped by `pid`, as uid `uid`; false if none did in 30 s.
::testing::AssertionResult stamped_by(Subscriber& subscriber, pid_t pid, uid_t uid) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        auto sample = subscriber.take(std::chrono::seconds(30));
        if (!sample) return ::testing::AssertionFailure() << sample.error().describe();
        if (!sample->stamped()) return ::testing::AssertionFailure() << "a sample without a stamp was handed over";
        int32_t claimed = 0;
        std::memcpy(&claimed, sample->data().data(), std::min(sample->data().size(), sizeof claimed));
        if (sample->publisher_pid() != static_cast<uint32_t>(pid) || sample->publisher_uid() != uid || claimed != pid)
            return ::testing::AssertionFailure() << "stamped pid " << sample->publisher_pid() << " uid "
                                                 << sample->publisher_uid() << ", the bytes say " << claimed
                                                 << "; the publisher is pid " << pid << " uid " << uid;
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "no sample in 30 s";
}

TEST_F(MediatedTopicTest, SubscribersSeeThePublishersTruePidAndUidAndTheCliNamesTheMode) {
    Peer publisher = spawn_publisher("mediated_publisher", kPublisherUid, "test.medtopic.true");
    Subscriber subscriber = subscribe("test.medtopic.true");
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(stamped_by(subscriber, publisher.pid(), kPublisherUid));
    EXPECT_EQ(subscriber.refused(), 0u);

    auto [list, list_status] = cli("list");
    EXPECT_EQ(list_status, 0) << list;
    EXPECT_NE(list.find("mediated-topic"), std::string::npos) << list;
    auto [shown, shown_status] = cli("status test.medtopic.true -j");
    ASSERT_EQ(shown_status, 0) << shown;
    EXPECT_EQ(Json::parse(shown)["service"]["mode"], "mediated-topic") << shown;

    // A topic that is not mediated carries no stamp.
    auto plain = Publisher::create(*context_, {.name = "test.medtopic.plain", .subscriber_policy = Policy::anyone,
                                               .sample_size = 64});
    ASSERT_TRUE(plain) << plain.error().describe();
    Subscriber plain_subscriber = subscribe("test.medtopic.plain");
    ASSERT_TRUE(plain->publish_copy(std::as_bytes(std::span("x", 1))));
    auto sample = plain_subscriber.take(std::chrono::seconds(30));
    ASSERT_TRUE(sample) << sample.error().describe();
    EXPECT_FALSE(sample->stamped());
    EXPECT_EQ(sample->publisher_pid(), 0u);
}

// The forger (uid nobody) writes its own queue by hand after the kernel stamped a sample and runs
// the send program itself with records outside its pool; the subscriber, which asked for nothing
// special, refuses each hand-written entry with a line, the kernel refuses and counts each record,
// and an honest publisher of another uid on another topic is delivered throughout.
TEST_F(MediatedTopicTest, AForgingPublisherIsRefusedAndAnHonestOneOnAnotherTopicGoesOn) {
    CapturedLog log;
    Peer honest = spawn_publisher("mediated_publisher", kPublisherUid, "test.medtopic.honest");
    Peer forger = spawn_publisher("forging_publisher", kNobody, "test.medtopic.forged");
    Subscriber honest_subscriber = subscribe("test.medtopic.honest");
    Subscriber victim = subscribe("test.medtopic.forged");
    const uint64_t refused_before = stamps_refused();
    auto step = [&](TopicForgery what) {
        TopicForgeryReport out;
        EXPECT_TRUE(forger.send(what) && forger.read(out)) << "the forger stopped";
        EXPECT_EQ(out.result, 0) << "the forger could not take step " << static_cast<uint32_t>(what);
        return out;
    };

    // An entry whose size is not the one the kernel stamped: refused, and handed back.
    step(TopicForgery::wrong_size);
    auto taken = victim.try_take();
    ASSERT_TRUE(taken) << taken.error().describe();
    EXPECT_FALSE(*taken) << "a sample unlike its stamp was handed over";
    EXPECT_EQ(victim.refused(), 1u);
    EXPECT_TRUE(log.contains("its stamp slot")) << "no line for the entry unlike its stamp";
    EXPECT_TRUE(stamped_by(honest_subscriber, honest.pid(), kPublisherUid));

    // An entry claiming a sequence the kernel never stamped.
    step(TopicForgery::unstamped_sequence);
    taken = victim.try_take();
    ASSERT_TRUE(taken) << taken.error().describe();
    EXPECT_FALSE(*taken) << "a sample without a stamp was handed over";
    EXPECT_EQ(victim.refused(), 2u);
    EXPECT_TRUE(log.contains("without the kernel's stamp")) << "no line for the unstamped entry";

    // Records outside the pool, and a sequence stamped already: the kernel refuses and counts each.
    TopicForgeryReport records = step(TopicForgery::kernel_records);
    EXPECT_EQ(records.slot_past_end, -ERANGE);
    EXPECT_EQ(records.wrapping_length, -ERANGE);
    EXPECT_EQ(records.stale_sequence, -EALREADY);
    EXPECT_EQ(stamps_refused(), refused_before + 3);

    // What is left: the forger's next honest sample arrives stamped as itself, and the honest
    // publisher was never disturbed.
    TopicForgeryReport fair = step(TopicForgery::honest);
    auto sample = victim.try_take();
    ASSERT_TRUE(sample) << sample.error().describe();
    ASSERT_TRUE(*sample) << "the honest sample after the forgeries did not arrive";
    EXPECT_EQ(sample->sequence(), fair.sequence);
    EXPECT_TRUE(sample->stamped());
    EXPECT_EQ(sample->publisher_pid(), static_cast<uint32_t>(forger.pid()));
    EXPECT_EQ(sample->publisher_uid(), kNobody);
    EXPECT_EQ(victim.refused(), 2u);
    EXPECT_TRUE(stamped_by(honest_subscriber, honest.pid(), kPublisherUid));
    EXPECT_EQ(honest_subscriber.refused(), 0u);
}

// The stamps of a subscription share one ring: its depth is capped so that they always fit.
TEST_F(MediatedTopicTest, ASubscriptionDeeperThanTheStampRingHoldsIsRefused) {
    auto publisher = Publisher::create(*context_, {.name = "test.medtopic.depth", .subscriber_policy = Policy::anyone,
                                                   .sample_size = 64, .sample_count = 2048, .mediated = true});
    ASSERT_TRUE(publisher) << publisher.error().describe();
    auto too_deep = Subscriber::open(*context_, "test.medtopic.depth", {.depth = LITEIPC_MEDIATED_TOPIC_DEPTH + 1});
    ASSERT_FALSE(too_deep);
    EXPECT_EQ(too_deep.error().code, Errc::invalid_argument) << too_deep.error().describe();
    auto deepest = Subscriber::open(*context_, "test.medtopic.depth", {.depth = LITEIPC_MEDIATED_TOPIC_DEPTH});
    ASSERT_TRUE(deepest) << deepest.error().describe();
    // A full queue of stamps fits: every one of depth samples arrives stamped.
    for (uint32_t i = 0; i < LITEIPC_MEDIATED_TOPIC_DEPTH; ++i)
        ASSERT_TRUE(publisher->publish_copy(std::as_bytes(std::span("y", 1)))) << i;
    for (uint32_t i = 0; i < LITEIPC_MEDIATED_TOPIC_DEPTH; ++i) {
        auto sample = deepest->try_take();
        ASSERT_TRUE(sample && *sample) << "sample " << i;
        EXPECT_TRUE(sample->stamped());
    }
    EXPECT_EQ(publisher->stats().unstamped, 0u);
}

}  // namespace
}  // namespace liteipc::testing
