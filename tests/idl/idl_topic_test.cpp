// An all-oneway IDL interface carried on a topic (ISensorEvents.idl, liteipc-idl --topic), through
// a real loader: the publisher here, subscriber processes of two uids (topic_peers.cpp) whose
// implementations record every call; each records what a local recorder of the same calls holds,
// byte for byte and in order. A call past the sample size is refused and nothing published; forged
// samples are named errors on the subscriber, which goes on with the next one.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <functional>
#include <optional>

#include "loader_fixture.h"
#include "sensor_events_recorder.h"
#include "test_processes.h"

namespace OHOS::Test {
namespace {

using liteipc::Errc;
using liteipc::testing::Peer;
using namespace std::chrono_literals;

constexpr uid_t kSecondUid = 65533;

class IdlTopicTest : public liteipc::testing::WithLoader<> {
protected:
    IdlTopicTest() : WithLoader("idltopic", /*needs_group=*/true) {}

    // The topic's publisher, or nullopt (a failure recorded).
    std::optional<SensorEventsTopicPublisher> create(liteipc::TopicOptions options) {
        auto publisher = SensorEventsTopicPublisher::create(*context_, std::move(options));
        if (!publisher) {
            ADD_FAILURE() << publisher.error().describe();
            return std::nullopt;
        }
        publisher->set_timeout(30s);
        return std::move(*publisher);
    }

    // A subscriber process as `uid`, subscribed once this returns.
    Peer subscribe(uid_t uid, const std::string& topic, uint32_t depth = 8) {
        Peer peer = Peer::spawn("sensor_events_subscriber",
                                liteipc::testing::peer_args(loader_.options(), uid, topic, depth));
        int64_t subscribed = -1;
        EXPECT_TRUE(peer.read(subscribed));
        EXPECT_EQ(subscribed, 0) << "uid " << uid;
        return peer;
    }

    // Waits until the publisher counts `count` subscribers (a subscribe ends in its worker).
    static bool wait_for_subscribers(liteipc::Publisher& publisher, uint32_t count) {
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (publisher.stats().subscribers != count) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(5ms);
        }
        return true;
    }

    // The peer's next Delivery and the record that comes with it.
    static std::pair<int64_t, std::string> next_delivery(Peer& peer) {
        Delivery delivery{};
        if (!peer.read(delivery)) return {-1, "no report"};
        std::string record(delivery.length, '\0');
        if (!liteipc::testing::read_all(peer.report_fd(), record.data(), record.size(), 60s)) return {-1, "short record"};
        return {delivery.status, std::move(record)};
    }

    // Every record in `expected` came, in order, then the publisher's end (dead_object).
    static void expect_calls(Peer& peer, const std::vector<std::string>& expected) {
        for (size_t i = 0; i < expected.size(); ++i) {
            auto [status, record] = next_delivery(peer);
            ASSERT_EQ(status, 0) << "call " << i << ": " << record;
            ASSERT_EQ(record, expected[i]) << "call " << i;
        }
        EXPECT_EQ(next_delivery(peer).first, static_cast<int64_t>(Errc::dead_object));
    }
};

TEST_F(IdlTopicTest, EveryCallReachesEverySubscriberOfTwoUidsInOrderByteForByte) {
    auto publisher = create({.name = "test.idl.topic.fanout", .subscriber_policy = liteipc::Policy::uid_list, .sample_size = 4096});
    ASSERT_TRUE(publisher);
    ASSERT_TRUE(publisher->publisher().allow_uid(liteipc::testing::kNobody));
    ASSERT_TRUE(publisher->publisher().allow_uid(kSecondUid));
    std::vector<Peer> subscribers;
    for (int i = 0; i < 4; ++i)
        subscribers.push_back(subscribe(i % 2 ? kSecondUid : liteipc::testing::kNobody, "test.idl.topic.fanout"));
    ASSERT_TRUE(wait_for_subscribers(publisher->publisher(), 4));

    SensorEventsRecorder expected;
    constexpr uint32_t kCalls = 300;
    for (uint32_t n = 1; n <= kCalls; ++n) {
        auto published = make_call(*publisher, n);
        ASSERT_TRUE(published) << n << ": " << published.error().describe();
        ASSERT_TRUE(make_call(expected, n));
    }
    EXPECT_EQ(publisher->publisher().stats().published, kCalls);
    publisher.reset();  // the end every subscriber sees after the last call
    for (auto& peer : subscribers) expect_calls(peer, expected.calls);
}

TEST_F(IdlTopicTest, ACallPastTheSampleSizeIsRefusedAndTheTopicGoesOn) {
    // 512 bytes: the header (16), the code (4), the sensor (4), the byte[]'s object (24), its bytes
    // padded to 4 and the offsets table (4): 460 bytes of pixels fit, 461 do not.
    auto publisher = create({.name = "test.idl.topic.size", .subscriber_policy = liteipc::Policy::anyone, .sample_size = 512});
    ASSERT_TRUE(publisher);
    Peer peer = subscribe(liteipc::testing::kNobody, "test.idl.topic.size");
    ASSERT_TRUE(wait_for_subscribers(publisher->publisher(), 1));

    SensorEventsRecorder expected;
    const std::vector<uint8_t> fits(460, 0xab), one_more(461, 0xcd);
    ASSERT_TRUE(publisher->OnLabel(1, "before"));
    ASSERT_TRUE(expected.OnLabel(1, "before"));
    auto largest = publisher->OnFrame(2, fits);
    ASSERT_TRUE(largest) << largest.error().describe();
    ASSERT_TRUE(expected.OnFrame(2, fits));
    const auto before = publisher->publisher().stats();
    auto refused = publisher->OnFrame(3, one_more);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::invalid_argument) << refused.error().describe();
    auto too_long = publisher->OnLabel(4, std::string(600, 'y'));
    ASSERT_FALSE(too_long);
    EXPECT_EQ(too_long.error().code, Errc::invalid_argument) << too_long.error().describe();
    // Nothing was published and the loaned samples went back.
    EXPECT_EQ(publisher->publisher().stats().published, before.published);
    EXPECT_LE(publisher->publisher().stats().samples_in_use, before.samples_in_use);
    ASSERT_TRUE(publisher->OnLabel(5, "after"));
    ASSERT_TRUE(expected.OnLabel(5, "after"));
    publisher.reset();
    expect_calls(peer, expected.calls);
}

// A sample of `code` and `fill`'s values, as a publisher of another build could write one.
std::vector<std::byte> forged(uint32_t code, const std::function<void(liteipc::Writer&)>& fill = {}) {
    std::vector<std::byte> buffer(1024);
    liteipc::Writer w(buffer);
    w.write_uint32(code);
    if (fill) fill(w);
    const auto message = w.seal();
    return {message.begin(), message.end()};
}

TEST_F(IdlTopicTest, ForgedSamplesAreNamedErrorsAndTheNextCallIsDelivered) {
    auto publisher = create({.name = "test.idl.topic.forged", .subscriber_policy = liteipc::Policy::anyone, .sample_size = 1024});
    ASSERT_TRUE(publisher);
    Peer peer = subscribe(kSecondUid, "test.idl.topic.forged");
    ASSERT_TRUE(wait_for_subscribers(publisher->publisher(), 1));
    auto& raw = publisher->publisher();
    const auto batch = static_cast<uint32_t>(ISensorEvents::Code::OnBatch);
    const auto reading = static_cast<uint32_t>(ISensorEvents::Code::OnReading);

    const std::vector<std::byte> whole = forged(reading, [](liteipc::Writer& w) {
        w.write_int32(1);
        w.write_double(2.0);
        w.write_int64(3);
    });
    const std::vector<std::pair<std::vector<std::byte>, Errc>> bad = {
        {std::vector<std::byte>(whole.begin(), whole.begin() + 10), Errc::malformed},   // cut inside the header
        {std::vector<std::byte>(whole.begin(), whole.end() - 8), Errc::malformed},      // cut inside the arguments
        {forged(99), Errc::unknown_method},                                             // no method of that code
        {forged(batch, [](liteipc::Writer& w) { w.write_uint32(1u << 30); }), Errc::malformed},  // count past the sample
        {forged(reading, [](liteipc::Writer& w) { w.write_int32(1); }), Errc::malformed},       // arguments missing
    };
    SensorEventsRecorder expected;
    for (uint32_t n = 0; n < bad.size(); ++n) {
        ASSERT_TRUE(raw.publish_copy(bad[n].first, 30s));
        ASSERT_TRUE(make_call(*publisher, n));  // a good call after each forged one
        ASSERT_TRUE(make_call(expected, n));
    }
    publisher.reset();
    for (uint32_t n = 0; n < bad.size(); ++n) {
        auto [status, record] = next_delivery(peer);
        EXPECT_EQ(status, static_cast<int64_t>(bad[n].second)) << "forged sample " << n;
        auto [good, call] = next_delivery(peer);
        ASSERT_EQ(good, 0) << "the call after forged sample " << n;
        EXPECT_EQ(call, expected.calls[n]) << "the call after forged sample " << n;
    }
    EXPECT_EQ(next_delivery(peer).first, static_cast<int64_t>(Errc::dead_object));
}

// What a sequenceable's marshal may write into a sample: inline byte arrays, not an fd or a service
// reference (publish_call refuses those, as --topic refuses them in declared types).
TEST(IdlTopicSample, CarriesInlineBuffersButNoFdOrServiceReference) {
    auto sealed = [](const std::function<void(liteipc::Writer&)>& fill) {
        static std::array<std::byte, 1024> buffer;
        liteipc::Writer w(buffer);
        w.write_uint32(1);
        fill(w);
        const auto message = w.seal();
        return liteipc::idl::carried_by_topic(message, w.object_count());
    };
    const std::vector<uint8_t> bytes(300, 1);
    EXPECT_TRUE(sealed([](liteipc::Writer& w) { w.write_int32(5); }));
    EXPECT_TRUE(sealed([&](liteipc::Writer& w) {
        w.write_buffer(std::as_bytes(std::span(bytes)));
        w.write_buffer(std::as_bytes(std::span(bytes).first(8)));
    }));
    EXPECT_FALSE(sealed([&](liteipc::Writer& w) {
        w.write_buffer(std::as_bytes(std::span(bytes)));
        w.write_fd(STDIN_FILENO);
    }));
    EXPECT_FALSE(sealed([](liteipc::Writer& w) { w.write_service(SvcIdentity{3, 0, 0}); }));
}

}  // namespace
}  // namespace OHOS::Test
