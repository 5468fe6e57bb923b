// The dispatcher: a service's workers over many connections, their doorbells and hangups, and a
// hostile client that cannot take the service down.
#include "channel_peers.h"

namespace liteipc::detail::testing {
namespace {


// The client's end of the connection's socket closes (an orderly close, or its death): the
// dispatcher hears the hangup at once and the connection goes.
TEST(Dispatcher, DropsAConnectionWhoseClientHangsUp) {
    auto regions = ChannelRegions::create({.slot_count = 4});
    ASSERT_TRUE(regions);
    auto fds = regions->for_service();
    ASSERT_TRUE(fds);
    auto server = ChannelServer::attach(fds->view());
    ASSERT_TRUE(server) << server.error().describe();
    Dispatcher dispatcher(test_service, {.workers = 2, .spin = {}});
    ASSERT_TRUE(dispatcher.start());
    std::atomic<int> hangups{0};
    ASSERT_TRUE(dispatcher.add(*server, fds->doorbell.get(), service_socket_of(*regions), [&] {
        ++hangups;
        dispatcher.remove(server->get());
    }));
    EXPECT_EQ(dispatcher.connection_count(), 1u);
    std::this_thread::sleep_for(10ms);  // let the workers fall asleep

    regions->client_socket.reset();  // the client's end: the only one left
    const auto deadline = Clock::now() + 2s;
    while (dispatcher.connection_count() != 0 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(dispatcher.connection_count(), 0u);
    EXPECT_EQ(hangups.load(), 1);
    EXPECT_TRUE((*server)->dead());
    dispatcher.stop();
}

// One eventfd per connection: a call on any of many connections wakes a sleeping worker, which
// serves it; idle connections cost nothing while the workers sleep.
TEST(Dispatcher, ServesManyConnections) {
    constexpr int kConnections = 300;  // past the 127 one futex_waitv could watch
    std::vector<ChannelRegions> regions;
    std::vector<ChannelClient> clients;
    Dispatcher dispatcher(test_service, {.workers = 2, .spin = {}});
    ASSERT_TRUE(dispatcher.start());
    for (int i = 0; i < kConnections; ++i) {
        auto created = ChannelRegions::create({.slot_count = 2, .request_pool_size = 4096, .reply_pool_size = 4096});
        ASSERT_TRUE(created) << created.error().describe();
        auto service_fds = created->for_service();
        auto client_fds = created->for_client();
        ASSERT_TRUE(service_fds && client_fds);
        auto server = ChannelServer::attach(service_fds->view());
        ASSERT_TRUE(server) << server.error().describe();
        ASSERT_TRUE(dispatcher.add(*server, service_fds->doorbell.get(), service_socket_of(*created)));
        auto client = ChannelClient::attach(client_fds->view(), {.spin = {}});
        ASSERT_TRUE(client) << client.error().describe();
        clients.push_back(std::move(*client));
        regions.push_back(std::move(*created));
    }
    EXPECT_EQ(dispatcher.connection_count(), std::size_t{kConnections});
    for (int round = 0; round < 2; ++round) {
        for (int i = kConnections - 1; i >= 0; i -= 7) {
            std::this_thread::sleep_for(100us);  // often enough, the workers sleep before the call
            const std::string text = "c" + std::to_string(i);
            auto reply = clients[i].call(kEcho, bytes_of(text), {.deadline = Deadline::after(5s)});
            ASSERT_TRUE(reply) << "connection " << i << ": " << reply.error().describe();
            EXPECT_EQ(std::string(reinterpret_cast<const char*>(reply->payload().data()), reply->payload().size()), text);
        }
    }
    dispatcher.stop();
}

// A service that answers with crafted replies, then scribbles over the whole ctrl region.


// A client that pushes bad indices and malformed descriptors, then scribbles over the ctrl region:
// the service rejects what it can name, drops the rest, and keeps running.
TEST(Channel, HostileClientCannotCrashTheService) {
    auto regions = ChannelRegions::create({.slot_count = 8, .request_pool_size = 1 << 20, .reply_pool_size = 1 << 20});
    ASSERT_TRUE(regions);
    StoppableChild service = start_service(*regions, {.workers = 2});
    auto ctrl = Mapping::map_whole(regions->ctrl.get(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(ctrl);
    auto view = ControlView::attach(ctrl->data(), ctrl->size());
    ASSERT_TRUE(view);

    auto publish = [&](uint32_t index) {
        ASSERT_TRUE(view->push(index, Deadline::after(1s)));
        view->ring_doorbell(regions->doorbell.get());
    };
    auto await_reply = [&](uint32_t index) {
        const auto deadline = Clock::now() + 2s;
        while (sequence_of(view->slot(index).reply).load() != sequence_of(view->slot(index).request).load() &&
               Clock::now() < deadline) {
            std::this_thread::sleep_for(100us);
        }
        return view->slot(index).reply;
    };

    publish(9999);  // no such slot
    publish(0);     // a slot with no open request
    MessageDescriptor request{};
    request.code = kEcho;
    request.call_sequence = 7;
    request.payload_kind = static_cast<uint16_t>(PayloadKind::pool);
    request.pool_offset = (1u << 20) - 100;
    request.payload_length = 4096;  // beyond the end of the request pool
    std::memcpy(&view->slot(1).request, &request, sizeof request);  // call_sequence 7 opens it
    publish(1);
    MessageDescriptor reply = await_reply(1);
    EXPECT_NE(reply.flags & kFlagRejected, 0u);
    EXPECT_EQ(reply.status, -EBADMSG);
    EXPECT_EQ(reply.call_sequence, 7u);

    request.payload_kind = static_cast<uint16_t>(PayloadKind::inline_bytes);
    request.payload_length = 5000;
    std::memcpy(&view->slot(2).request, &request, sizeof request);  // call_sequence 7 opens it
    publish(2);
    EXPECT_NE(await_reply(2).flags & kFlagRejected, 0u);

    // A well-formed request still works after all that.
    request.payload_length = 3;
    std::memcpy(request.inline_payload, "abc", 3);
    std::memcpy(&view->slot(3).request, &request, sizeof request);  // call_sequence 7 opens it
    publish(3);
    reply = await_reply(3);
    EXPECT_EQ(reply.flags & kFlagRejected, 0u);
    EXPECT_EQ(reply.status, 3);

    std::mt19937_64 random(1);
    for (int round = 0; round < 200; ++round) {
        for (std::size_t i = 0; i + 8 <= ctrl->size(); i += 8) {
            const uint64_t noise = random();
            std::memcpy(ctrl->data() + i, &noise, 8);
        }
        const uint64_t one = 1;
        ASSERT_EQ(::write(regions->doorbell.get(), &one, sizeof one), 8);
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_TRUE(service.running());
    EXPECT_EQ(service.stop(), 0) << "the service must stop cleanly, not hang or crash";
}

}  // namespace
}  // namespace liteipc::detail::testing
