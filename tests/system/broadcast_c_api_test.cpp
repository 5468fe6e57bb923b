// The Broadcast-shaped C API (liteipc/broadcast.h): a provider's topic, consumers notified with the
// published bytes, ModifyConsumer and Unsubscribe returning what they replaced or removed.
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <vector>

#include "c_api_fixture.h"
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

}  // namespace
}  // namespace liteipc::testing
