// The Broadcast-shaped C API (liteipc/broadcast.h): a provider's topic, consumers notified with the
// published bytes, ModifyConsumer and Unsubscribe returning what they replaced or removed.
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <vector>

#include "c_api_fixture.h"
#include "../support/peer.h"
#include "test_processes.h"
#include "liteipc/broadcast.h"
#include "liteipc_adapter.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

struct Inbox {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::vector<uint8_t>> received;
};
Inbox g_first, g_second;

void notify_into(Inbox& inbox, const uint8_t* data, uint32_t len) {
    std::lock_guard lock(inbox.mutex);
    inbox.received.emplace_back(data, data + len);
    inbox.changed.notify_all();
}
void first_notify(LiteIpcConsumer*, const char*, const uint8_t* data, uint32_t len) { notify_into(g_first, data, len); }
void second_notify(LiteIpcConsumer*, const char*, const uint8_t* data, uint32_t len) { notify_into(g_second, data, len); }

bool wait_for(Inbox& inbox, std::size_t count) {
    std::unique_lock lock(inbox.mutex);
    return inbox.changed.wait_for(lock, 30s, [&] { return inbox.received.size() >= count; });
}

class BroadcastCApiTest : public CApiTest {
protected:
    BroadcastCApiTest() : CApiTest("broadcast") {}
};

TEST_F(BroadcastCApiTest, ConsumersGetEveryPublishedByteAndCanBeSwappedAndRemoved) {
    ASSERT_NE(open(), nullptr);
    ASSERT_EQ(LiteIpcBroadcastAddTopic("test.broadcast", 256, LITEIPC_POLICY_SAME_UID), LITEIPC_OK);
    EXPECT_EQ(LiteIpcBroadcastAddTopic("test.broadcast", 256, LITEIPC_POLICY_SAME_UID), LITEIPC_EEXIST);
    LiteIpcConsumer first{"first", first_notify, nullptr};
    LiteIpcConsumer second{"second", second_notify, nullptr};
    ASSERT_EQ(LiteIpcBroadcastSubscribe("test.broadcast", &first), LITEIPC_OK);

    const uint8_t message[] = "temperature 21.5";
    ASSERT_TRUE(LiteIpcBroadcastPublish("test.broadcast", message, sizeof message));
    ASSERT_TRUE(wait_for(g_first, 1));
    EXPECT_EQ(g_first.received[0], std::vector<uint8_t>(message, message + sizeof message));
    // One past the sample size is refused, and nothing arrives.
    std::vector<uint8_t> too_big(257, 7);
    EXPECT_FALSE(LiteIpcBroadcastPublish("test.broadcast", too_big.data(), 257));

    EXPECT_EQ(LiteIpcBroadcastModifyConsumer("test.broadcast", &first, &second), &first);
    EXPECT_EQ(LiteIpcBroadcastModifyConsumer("test.broadcast", &first, &second), nullptr);
    ASSERT_TRUE(LiteIpcBroadcastPublish("test.broadcast", message, 4));
    ASSERT_TRUE(wait_for(g_second, 1));
    EXPECT_EQ(g_second.received[0], std::vector<uint8_t>(message, message + 4));
    EXPECT_EQ(g_first.received.size(), 1u);

    EXPECT_EQ(LiteIpcBroadcastUnsubscribe("test.broadcast", &second), &second);
    EXPECT_EQ(LiteIpcBroadcastUnsubscribe("test.broadcast", &second), nullptr);
    EXPECT_EQ(LiteIpcBroadcastRemoveTopic("test.broadcast"), LITEIPC_OK);
    EXPECT_FALSE(LiteIpcBroadcastPublish("test.broadcast", message, 4));
}

// Publishes: the pid of each sample's publisher (broadcast_publisher sends its own).
Inbox g_pids;
void pid_notify(LiteIpcConsumer*, const char*, const uint8_t* data, uint32_t len) { notify_into(g_pids, data, len); }

// The publisher of the last sample received, once one came at or after `count` samples.
int32_t publisher_after(std::size_t count) {
    if (!wait_for(g_pids, count + 1)) return -1;
    std::lock_guard lock(g_pids.mutex);
    const auto& last = g_pids.received.back();
    int32_t pid = -1;
    if (last.size() == sizeof pid) std::memcpy(&pid, last.data(), sizeof pid);
    return pid;
}

// LiteIpcBroadcastAddTopicWithOptions' publisher policy: uids 65533..65534 may publish. After the
// first publisher dies, one uid past the range is refused with LITEIPC_EPERM and the range's other
// edge takes the topic; the C subscriber, which kept the policy alive, gets its samples.
TEST_F(BroadcastCApiTest, APublisherOutsideThePublisherPolicyIsRefusedAndOneInsideTakesTheTopic) {
    if (!::getgrnam("liteipc")) GTEST_SKIP() << "group liteipc missing (scripts/setup-env.sh creates it)";
    constexpr const char* kTopic = "test.broadcast.publishers";
    auto publisher = [&](uid_t uid) {
        Peer peer = Peer::spawn("broadcast_publisher", peer_args(uid, kTopic, uint32_t{LITEIPC_POLICY_UID_RANGE}, 65533u, 65534u, 0u));
        int64_t added = -9999;
        EXPECT_TRUE(peer.read(added)) << "the publisher as uid " << uid << " reported nothing";
        return std::pair{std::move(peer), added};
    };
    auto [first, first_added] = publisher(65534);
    ASSERT_EQ(first_added, LITEIPC_OK);
    ASSERT_NE(open(), nullptr);
    LiteIpcConsumer reader{"reader", pid_notify, nullptr};
    ASSERT_EQ(LiteIpcBroadcastSubscribe(kTopic, &reader), LITEIPC_OK);
    ASSERT_EQ(publisher_after(0), first.pid());
    first.kill_and_wait();

    auto [outside, outside_added] = publisher(65532);
    EXPECT_EQ(outside_added, LITEIPC_EPERM) << "uid 65532 is one past the publisher policy";

    auto [inside, inside_added] = publisher(65533);
    ASSERT_EQ(inside_added, LITEIPC_OK);
    std::size_t seen = 0;
    {
        std::lock_guard lock(g_pids.mutex);
        seen = g_pids.received.size();
    }
    // The reader thread subscribes again by itself; the new publisher's samples arrive.
    auto deadline = std::chrono::steady_clock::now() + 30s;
    int32_t from = -1;
    while (from != inside.pid() && std::chrono::steady_clock::now() < deadline) from = publisher_after(seen++);
    EXPECT_EQ(from, inside.pid());
    EXPECT_NE(LiteIpcBroadcastUnsubscribe(kTopic, &reader), nullptr);
}

// Notify's view of the kernel's stamp: {pid, uid} of each sample's publisher, or nothing.
Inbox g_stamps;
void stamp_notify(LiteIpcConsumer*, const char*, const uint8_t*, uint32_t) {
    uint32_t who[2] = {0, 0};
    const bool stamped = LiteIpcBroadcastGetPublisher(&who[0], &who[1]);
    const auto* bytes = reinterpret_cast<const uint8_t*>(who);
    notify_into(g_stamps, bytes, stamped ? sizeof who : 0);
}

// A mediated topic in C: Notify reads the publisher as the kernel stamped it; outside Notify
// LiteIpcBroadcastGetPublisher says there is nothing to read.
TEST_F(BroadcastCApiTest, AMediatedTopicsConsumerReadsThePublishersKernelStampedPidAndUid) {
    if (!::getgrnam("liteipc")) GTEST_SKIP() << "group liteipc missing (scripts/setup-env.sh creates it)";
    constexpr const char* kTopic = "test.broadcast.mediated";
    Peer publisher = Peer::spawn("broadcast_publisher", peer_args(65533u, kTopic, uint32_t{LITEIPC_POLICY_SAME_UID}, 0u, 0u, 1u));
    int64_t added = -9999;
    ASSERT_TRUE(publisher.read(added));
    ASSERT_EQ(added, LITEIPC_OK);
    ASSERT_NE(open(), nullptr);
    LiteIpcConsumer reader{"stamps", stamp_notify, nullptr};
    ASSERT_EQ(LiteIpcBroadcastSubscribe(kTopic, &reader), LITEIPC_OK);
    ASSERT_TRUE(wait_for(g_stamps, 1));
    {
        std::lock_guard lock(g_stamps.mutex);
        const std::vector<uint8_t>& first = g_stamps.received[0];
        ASSERT_EQ(first.size(), 2 * sizeof(uint32_t)) << "Notify found no stamp";
        uint32_t who[2];
        std::memcpy(who, first.data(), sizeof who);
        EXPECT_EQ(who[0], static_cast<uint32_t>(publisher.pid()));
        EXPECT_EQ(who[1], 65533u);
    }
    uint32_t pid = 0, uid = 0;
    EXPECT_FALSE(LiteIpcBroadcastGetPublisher(&pid, &uid)) << "outside Notify";
    EXPECT_NE(LiteIpcBroadcastUnsubscribe(kTopic, &reader), nullptr);
}

TEST_F(BroadcastCApiTest, OptionsThatAreTooShortOrOutOfRangeAreRefused) {
    ASSERT_NE(open(), nullptr);
    LiteIpcTopicOptions options{};
    options.size = 4;  // not even maxLen
    options.maxLen = 64;
    EXPECT_EQ(LiteIpcBroadcastAddTopicWithOptions("test.broadcast.short", &options), LITEIPC_EINVAL);
    EXPECT_EQ(LiteIpcBroadcastAddTopicWithOptions("test.broadcast.short", nullptr), LITEIPC_EINVAL);
    options.size = sizeof options;
    options.publisherPolicy = LITEIPC_POLICY_PIDS + 1;
    EXPECT_EQ(LiteIpcBroadcastAddTopicWithOptions("test.broadcast.short", &options), LITEIPC_EINVAL);
    options.publisherPolicy = LITEIPC_POLICY_SAME_UID;
    options.mediated = 2;
    EXPECT_EQ(LiteIpcBroadcastAddTopicWithOptions("test.broadcast.short", &options), LITEIPC_EINVAL);
    options.mediated = 0;
    // A caller built before the publisher fields: they read as zero (same uid), and the topic works.
    options.size = offsetof(LiteIpcTopicOptions, publisherPolicy);
    EXPECT_EQ(LiteIpcBroadcastAddTopicWithOptions("test.broadcast.short", &options), LITEIPC_OK);
    EXPECT_EQ(LiteIpcBroadcastRemoveTopic("test.broadcast.short"), LITEIPC_OK);
}

}  // namespace
}  // namespace liteipc::testing
