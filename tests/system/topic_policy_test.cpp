// Who may publish on a topic, and what a subscription holds until its connection ends: a publisher
// of a uid outside the topic's publisher policy cannot take the topic after its publisher's death
// (one uid past the policy's range is refused, the range's edge is admitted, the subscribers keep
// waiting and find the admitted one), the kernel refuses a subscribe to a holder the topic's record
// does not admit, a reloaded name policy withdraws a publisher it no longer admits, and a
// subscription whose connection closes without an unsubscribe gives back what it held.
// A topic's publisher policy is not in the loader's config: the name policy is, and a reload that
// no longer gives the name to the publisher's uid withdraws it (TopicReloadTest).
#include <bpf/bpf.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "liteipc/topic.h"
#include "liteipc_abi.h"
#include "process_state.h"
#include "test_processes.h"
#include "topic_protocol.h"
#include "trust_support.h"

namespace liteipc::testing {
namespace {

using Json = nlohmann::json;

// The publisher policy under test: uids 65533..65534 may publish; 65532 is one past it.
constexpr uid_t kRangeLow = 65533;
constexpr uid_t kRangeHigh = 65534;
constexpr uid_t kOnePast = 65532;

std::pair<std::string, int> run_cli(const Loader& loader, const std::string& args) {
    return run_command("LITEIPC_SOCKET=" + loader.socket() + " LITEIPC_PIN_ROOT=" + loader.pin_root() + " " +
                       LITEIPC_CLI_PATH + " " + args + " 2>&1");
}

class TopicPolicyTest : public WithLoader<> {
protected:
    TopicPolicyTest() : WithLoader("topic-policy", /*needs_group=*/true) {}

    // A publisher process as `uid` asking for publishers uid_range kRangeLow..kRangeHigh; its result.
    std::pair<Peer, int64_t> spawn_publisher(uid_t uid, const std::string& topic) {
        Peer peer = Peer::spawn("topic_publisher", peer_args(loader_.options(), uid, topic,
                                                             static_cast<uint32_t>(Policy::uid_range), kRangeLow, kRangeHigh));
        int64_t result = -1;
        EXPECT_TRUE(peer.read(result));
        return {std::move(peer), result};
    }

    // A publisher process as `uid` asking for publishers uid_list (the topic's list decides); its result.
    std::pair<Peer, int64_t> spawn_open(uid_t uid, const std::string& topic) {
        Peer peer = Peer::spawn("topic_publisher", peer_args(loader_.options(), uid, topic,
                                                             static_cast<uint32_t>(Policy::uid_list), 0u, 0u));
        int64_t result = -1;
        EXPECT_TRUE(peer.read(result));
        return {std::move(peer), result};
    }

    Json status() {
        auto text = context_->loader_status();
        EXPECT_TRUE(text) << text.error().describe();
        return text ? Json::parse(*text) : Json::object();
    }

    Json service_named(const std::string& name) {
        const Json document = status();
        for (const auto& s : document["services"])
            if (s["name"] == name) return s;
        return Json();
    }
};

TEST_F(TopicPolicyTest, AUidOnePastThePublisherPolicyCannotTakeTheTopicAfterItsPublisherDies) {
    const std::string topic = "test.topic.guarded";
    auto [first, created] = spawn_publisher(kRangeHigh, topic);
    ASSERT_EQ(created, 0);
    auto subscriber = Subscriber::open(*context_, topic);
    ASSERT_TRUE(subscriber) << subscriber.error().describe();
    ASSERT_TRUE(subscriber->take(std::chrono::seconds(30)));

    // list and status show who may publish.
    Json entry = service_named(topic);
    EXPECT_EQ(entry["publisher_policy"], LITEIPC_POLICY_UID_RANGE);
    EXPECT_EQ(entry["publisher_uid_min"], kRangeLow);
    EXPECT_EQ(entry["publisher_uid_max"], kRangeHigh);
    auto [list, list_status] = run_cli(loader_, "list");
    EXPECT_EQ(list_status, 0) << list;
    EXPECT_NE(list.find("PUBLISHERS"), std::string::npos) << list;
    EXPECT_NE(list.find("uid-range 65533..65534"), std::string::npos) << list;
    auto [shown, shown_status] = run_cli(loader_, "status " + topic);
    EXPECT_NE(shown.find("publishers uid-range 65533..65534"), std::string::npos) << shown;

    first.kill_and_wait();
    Result<ReceivedSample> sample;
    do sample = subscriber->take(std::chrono::seconds(30));
    while (sample);
    ASSERT_EQ(sample.error().code, Errc::dead_object) << sample.error().describe();

    // The name is free under the name policy (unlisted names: anyone), not under the topic's.
    auto [squatter, squatted] = spawn_publisher(kOnePast, topic);
    EXPECT_EQ(squatted, static_cast<int64_t>(Errc::permission_denied));
    const int plain = run_peer<1>("register_name_as", peer_args(loader_.options(), kOnePast, topic.c_str()))[0];
    EXPECT_EQ(plain, static_cast<int>(Errc::permission_denied)) << "nor as a plain service";
    EXPECT_TRUE(service_named(topic).is_null()) << "nobody holds the name";
    EXPECT_EQ(status()["refused"]["publisher_policy"], 2u);
    auto again = subscriber->resubscribe(*context_);
    EXPECT_FALSE(again);

    // What is left: the range's edge may take it, and the waiting subscriber finds it.
    auto [second, retaken] = spawn_publisher(kRangeLow, topic);
    ASSERT_EQ(retaken, 0);
    again = subscriber->resubscribe(*context_);
    ASSERT_TRUE(again) << again.error().describe();
    sample = subscriber->take(std::chrono::seconds(30));
    ASSERT_TRUE(sample) << sample.error().describe();
    EXPECT_EQ(service_named(topic)["uid"], kRangeLow);
    EXPECT_EQ(status()["refused"]["publisher_refused"], 0u) << "the loader refused; the kernel had nothing to refuse";
}

TEST_F(TopicPolicyTest, ALaterPublisherAsksForTheTopicsPolicyAndAVacantTopicWithNobodyWaitingGoes) {
    const std::string topic = "test.topic.same-policy";
    auto [first, created] = spawn_publisher(kRangeHigh, topic);
    ASSERT_EQ(created, 0);
    first.kill_and_wait();
    // Nobody subscribed: the record went with the publisher, and any policy may start the topic anew.
    Peer other = Peer::spawn("topic_publisher", peer_args(loader_.options(), kOnePast, topic,
                                                          static_cast<uint32_t>(Policy::same_uid), 0, 0));
    int64_t result = -1;
    ASSERT_TRUE(other.read(result));
    EXPECT_EQ(result, 0);
    auto subscriber = Subscriber::open(*context_, topic);
    ASSERT_TRUE(subscriber) << subscriber.error().describe();
    other.kill_and_wait();
    // Now a subscriber waits: a publisher asking for another policy is refused, even of the same uid.
    Peer wider = Peer::spawn("topic_publisher", peer_args(loader_.options(), kOnePast, topic,
                                                          static_cast<uint32_t>(Policy::anyone), 0, 0));
    ASSERT_TRUE(wider.read(result));
    EXPECT_EQ(result, static_cast<int64_t>(Errc::already_exists));
    auto [outsider, refused] = spawn_publisher(kRangeHigh, topic);
    EXPECT_EQ(refused, static_cast<int64_t>(Errc::permission_denied)) << "same_uid meant uid 65532";
}

TEST_F(TopicPolicyTest, AUidListOfPublishersOutlivesItsPublisherAndTheLoadersRestart) {
    const std::string topic = "test.topic.listed";
    std::optional<Publisher> publisher;
    {
        TopicOptions options{.name = topic, .subscriber_policy = Policy::anyone, .publisher_policy = Policy::uid_list};
        auto created = Publisher::create(*context_, options);
        ASSERT_TRUE(created) << created.error().describe();
        publisher.emplace(std::move(*created));
    }
    ASSERT_TRUE(publisher->allow_publisher_uid(kRangeLow));
    auto subscriber = Subscriber::open(*context_, topic);  // this process waits for the topic from now on
    ASSERT_TRUE(subscriber) << subscriber.error().describe();
    publisher.reset();  // withdrawn: the topic keeps its list for its subscriber
    EXPECT_EQ(service_named(topic)["name"], nullptr);

    loader_.stop();
    ASSERT_TRUE(loader_.start());
    auto [outsider, refused] = spawn_open(kRangeHigh, topic);
    EXPECT_EQ(refused, static_cast<int64_t>(Errc::permission_denied)) << "65534 is not on the list";
    auto [listed, taken] = spawn_open(kRangeLow, topic);
    ASSERT_EQ(taken, 0) << "65533 is on the list the first publisher made";
    auto again = subscriber->resubscribe(*context_);
    ASSERT_TRUE(again) << again.error().describe();
    EXPECT_TRUE(subscriber->take(std::chrono::seconds(30)));
    EXPECT_EQ(service_named(topic)["publisher_policy"], LITEIPC_POLICY_UID_LIST);
}

TEST_F(TopicPolicyTest, TheKernelRefusesASubscribeWhenTheTopicsHolderIsNoAdmittedPublisher) {
    const std::string topic = "test.topic.kernel";
    auto [publisher, created] = spawn_publisher(kRangeHigh, topic);
    ASSERT_EQ(created, 0);
    // Root narrows the pinned record under the loader's feet: the holder is no longer admitted.
    int topics = bpf_obj_get((loader_.pin_root() + "/topics").c_str());
    ASSERT_GE(topics, 0);
    liteipc_name_key key{};
    std::memcpy(key.name, topic.data(), topic.size());
    liteipc_topic record{};
    ASSERT_EQ(bpf_map_lookup_elem(topics, &key, &record), 0);
    const liteipc_topic original = record;
    record.uid_max = kRangeHigh - 1;  // one short of the holder,
    record.creator_uid = kRangeLow;   // which is no longer the creator either
    ASSERT_EQ(bpf_map_update_elem(topics, &key, &record, BPF_EXIST), 0);
    auto refused = Subscriber::open(*context_, topic);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::permission_denied) << refused.error().describe();
    EXPECT_NE(refused.error().describe().find("publisher policy"), std::string::npos) << refused.error().describe();
    EXPECT_EQ(status()["refused"]["publisher_refused"], 1u);
    // Restored, the same subscribe passes.
    ASSERT_EQ(bpf_map_update_elem(topics, &key, &original, BPF_EXIST), 0);
    ::close(topics);
    auto subscriber = Subscriber::open(*context_, topic);
    ASSERT_TRUE(subscriber) << subscriber.error().describe();
    EXPECT_TRUE(subscriber->take(std::chrono::seconds(30)));
}

TEST_F(TopicPolicyTest, AConnectionClosedWithoutUnsubscribeGivesBackItsSamplesAndItsQueue) {
    auto publisher = Publisher::create(*context_, {.name = "test.topic.closed", .subscriber_policy = Policy::anyone,
                                                   .sample_size = 1024, .sample_count = 16});
    ASSERT_TRUE(publisher) << publisher.error().describe();
    const TopicStats before = publisher->stats();
    Peer closer = Peer::spawn("topic_connection_closer", peer_args(loader_.options(), "test.topic.closed", 4));
    int64_t result = -1;
    ASSERT_TRUE(closer.read(result));
    ASSERT_EQ(result, 0);
    auto wait_for = [&](auto condition) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!condition())
            if (std::chrono::steady_clock::now() > deadline) return false;
            else std::this_thread::sleep_for(5ms);
        return true;
    };
    ASSERT_TRUE(wait_for([&] { return publisher->stats().subscribers == 1; }));
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(publisher->publish_copy(std::as_bytes(std::span("sample"))));
    int64_t held = 0;
    ASSERT_TRUE(closer.read(held));
    ASSERT_EQ(held, 4);
    EXPECT_EQ(publisher->stats().samples_in_use, 4u);

    ASSERT_TRUE(closer.send(int64_t{1}));
    ASSERT_TRUE(closer.read(result));  // its connection is closed; the process lives on
    ASSERT_TRUE(wait_for([&] { return publisher->stats().subscribers == 0; }));
    ASSERT_TRUE(wait_for([&] { return publisher->stats().samples_in_use == before.samples_in_use; }));
    EXPECT_GT(status_kb(closer.pid(), "VmRSS"), 0) << "the subscriber's process lives on";
    // The pool is whole again: all 16 samples can be loaned at once past what the queue reserved.
    std::vector<Sample> loans;
    for (int i = 0; i < 2; ++i) {
        auto loan = publisher->loan(std::chrono::seconds(5));
        ASSERT_TRUE(loan) << loan.error().describe();
        loans.push_back(std::move(*loan));
    }
    loans.clear();
    // A new subscription gets the whole reservation again.
    auto subscriber = Subscriber::open(*context_, "test.topic.closed", {.depth = 12, .max_held = 2});
    ASSERT_TRUE(subscriber) << subscriber.error().describe();
}

// ---- a reloaded name policy ----

std::string reload_policy(uid_t owner) {
    return "own test.topic.reload by uid:" + std::to_string(owner) + "\nunlisted_names = anyone\n";
}

class TopicReloadTest : protected WithConfig, public WithLoader<> {
protected:
    TopicReloadTest() : WithConfig(reload_policy(kRangeHigh)), WithLoader("topic-reload", true, loader_args()) {}

    // A publisher as `uid` that lets anyone publish: only the name policy decides; its result.
    std::pair<Peer, int64_t> spawn_open_publisher(uid_t uid) {
        Peer peer = Peer::spawn("topic_publisher", peer_args(loader_.options(), uid, "test.topic.reload",
                                                             static_cast<uint32_t>(Policy::anyone), 0u, 0u));
        int64_t result = -1;
        EXPECT_TRUE(peer.read(result));
        return {std::move(peer), result};
    }
};

TEST_F(TopicReloadTest, AReloadThatNoLongerGivesTheNameToThePublisherWithdrawsItAndItsSubscribersHearOnce) {
    auto [publisher, created] = spawn_open_publisher(kRangeHigh);
    ASSERT_EQ(created, 0);
    auto subscriber = Subscriber::open(*context_, "test.topic.reload");
    ASSERT_TRUE(subscriber) << subscriber.error().describe();
    ASSERT_TRUE(subscriber->take(std::chrono::seconds(30)));
    NoticeBox notices;
    auto watch = subscriber->on_publisher_death(notices.callback());
    ASSERT_TRUE(watch);

    config.rewrite(reload_policy(kRangeLow));
    ASSERT_EQ(::kill(loader_.pid(), SIGHUP), 0);
    ASSERT_TRUE(notices.wait_for(1, std::chrono::seconds(30))) << "the withdrawn publisher's subscribers hear of it";
    Result<ReceivedSample> sample;
    do sample = subscriber->take(std::chrono::seconds(30));
    while (sample);
    EXPECT_EQ(sample.error().code, Errc::dead_object) << sample.error().describe();
    // The uid the policy no longer names cannot come back; the one it names now takes the topic.
    auto [again, refused] = spawn_open_publisher(kRangeHigh);
    EXPECT_EQ(refused, static_cast<int64_t>(Errc::name_not_allowed));
    auto [successor, taken] = spawn_open_publisher(kRangeLow);
    ASSERT_EQ(taken, 0);
    auto resubscribed = subscriber->resubscribe(*context_);
    ASSERT_TRUE(resubscribed) << resubscribed.error().describe();
    EXPECT_TRUE(subscriber->take(std::chrono::seconds(30)));
    EXPECT_EQ(notices.size(), 1u);
}

}  // namespace
}  // namespace liteipc::testing
