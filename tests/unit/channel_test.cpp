// Channels between real processes: the service runs in a forked child and sees the request pool only
// through a read-only mapping; hostile peers are played by raw writes into the ctrl region.
#include "channel_peers.h"

namespace liteipc::detail::testing {
namespace {

// ---------------------------------------------------------------------------------------------

TEST(ChannelLayout, AttachValidatesTheHeader) {
    const ChannelGeometry geometry = ChannelGeometry::for_slots(64);
    EXPECT_EQ(geometry.ring_capacity, 64u);
    std::vector<std::byte> region(geometry.region_size + 64);
    std::byte* base = region.data() + (64 - reinterpret_cast<uintptr_t>(region.data()) % 64) % 64;
    ASSERT_TRUE(initialize_ctrl_region({base, geometry.region_size}, 64));
    auto view = ControlView::attach(base, geometry.region_size);
    ASSERT_TRUE(view) << view.error().describe();
    EXPECT_EQ(view->slot_count(), 64u);

    EXPECT_EQ(ControlView::attach(base, geometry.region_size - 1).error().code, Errc::malformed);
    auto* header = reinterpret_cast<ChannelHeader*>(base);
    header->slot_count = 100000;
    EXPECT_EQ(ControlView::attach(base, geometry.region_size).error().code, Errc::malformed);
    header->slot_count = 32;  // geometry no longer matches the slot count
    EXPECT_EQ(ControlView::attach(base, geometry.region_size).error().code, Errc::malformed);
    header->magic = 0;
    EXPECT_EQ(ControlView::attach(base, geometry.region_size).error().code, Errc::malformed);
}

// A ctrl region laid out by another release (a loader or peer of channel layout 3, or of the next
// layout) is refused by both halves with a named error: its slots are never read through our struct.
TEST(ChannelLayout, BothHalvesRefuseAnotherChannelVersion) {
    // Fresh regions per attempt: a writer's attach seals its pool, once.
    auto regions_of_version = [](uint32_t version) {
        auto regions = ChannelRegions::create({.slot_count = 8, .request_pool_size = 1 << 20, .reply_pool_size = 1 << 20});
        EXPECT_TRUE(regions) << regions.error().describe();
        auto ctrl = Mapping::map_whole(regions->ctrl.get(), PROT_READ | PROT_WRITE);
        EXPECT_TRUE(ctrl);
        reinterpret_cast<ChannelHeader*>(ctrl->data())->version = version;
        return std::move(*regions);
    };
    for (const uint32_t version : {kChannelVersion - 1, kChannelVersion + 1}) {
        const ChannelRegions regions = regions_of_version(version);
        auto client_fds = regions.for_client();
        auto service_fds = regions.for_service();
        ASSERT_TRUE(client_fds && service_fds);
        auto client = ChannelClient::attach(client_fds->view());
        ASSERT_FALSE(client) << "version " << version;
        EXPECT_EQ(client.error().code, Errc::abi_mismatch) << client.error().describe();
        EXPECT_NE(client.error().message.find("version " + std::to_string(version)), std::string::npos)
            << client.error().message;
        auto service = ChannelServer::attach(service_fds->view());
        ASSERT_FALSE(service) << "version " << version;
        EXPECT_EQ(service.error().code, Errc::abi_mismatch) << service.error().describe();
    }
    // Regions of this release's version attach: only the version was wrong.
    const ChannelRegions regions = regions_of_version(kChannelVersion);
    auto client_fds = regions.for_client();
    ASSERT_TRUE(client_fds);
    auto client = ChannelClient::attach(client_fds->view());
    EXPECT_TRUE(client) << client.error().describe();
}

TEST(ChannelRegions, AttachRefusesRegionsThatCanBeResized) {
    auto ctrl = create_memfd("ctrl", ChannelGeometry::for_slots(4).region_size);
    auto request_pool = create_memfd("request", 4096);
    auto reply_pool = create_memfd("reply", 4096);
    ASSERT_TRUE(ctrl && request_pool && reply_pool);
    auto mapping = Mapping::map_whole(ctrl->get(), PROT_READ | PROT_WRITE);
    ASSERT_TRUE(mapping);
    ASSERT_TRUE(initialize_ctrl_region(mapping->bytes(), 4));
    const ChannelFds fds{ctrl->get(), request_pool->get(), reply_pool->get()};
    auto client = ChannelClient::attach(fds);
    ASSERT_FALSE(client);
    EXPECT_EQ(client.error().code, Errc::permission_denied);
    EXPECT_EQ(ChannelServer::attach(fds).error().code, Errc::permission_denied);
}

TEST(ChannelRegions, ReaderCannotWriteThePeersPool) {
    auto connection = connect_client({.slot_count = 4, .request_pool_size = 1 << 20, .reply_pool_size = 1 << 20});
    StoppableChild child = StoppableChild::start([&](int) {
        auto fds = connection.regions.for_service();
        if (!fds) return 1;
        // Keep only what a service gets: drop every read-write fd to the request pool.
        ::close(connection.regions.request_pool.get());
        ::close(connection.client_fds.request_pool.get());

        auto view = Mapping::map_whole(fds->request_pool.get(), PROT_READ);
        if (!view) return 2;
        if (::mprotect(view->data(), view->size(), PROT_READ | PROT_WRITE) == 0 || errno != EACCES) return 3;
        void* writable = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fds->request_pool.get(), 0);
        if (writable != MAP_FAILED || errno != EACCES) return 4;

        // Re-opening the read-only fd O_RDWR through /proc works for a memfd; the writer's seal is what
        // stops it from being used to write.
        char path[64];
        std::snprintf(path, sizeof path, "/proc/self/fd/%d", fds->request_pool.get());
        UniqueFd reopened{::open(path, O_RDWR)};
        if (reopened) {
            writable = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, reopened.get(), 0);
            if (writable != MAP_FAILED || errno != EPERM) return 5;
            if (::pwrite(reopened.get(), "x", 1, 0) >= 0 || errno != EPERM) return 6;
            if (::ftruncate(reopened.get(), 0) == 0 || errno != EPERM) return 7;
        }
        // Nobody can shrink the shared ctrl region under the other side either.
        if (::ftruncate(fds->ctrl.get(), 0) == 0 || errno != EPERM) return 8;
        return 0;
    });
    EXPECT_EQ(child.stop(), 0);
}

TEST(Channel, SingleCallRoundTrip) {
    auto connection = connect_client({.slot_count = 8});
    StoppableChild service = start_service(connection.regions);
    auto reply = connection.client.call(kEcho, bytes_of("hello"), {.deadline = Deadline::after(5s)});
    ASSERT_TRUE(reply) << reply.error().describe();
    EXPECT_EQ(reply->status(), 5);
    EXPECT_EQ(text_of(reply->payload()), "hello");
    EXPECT_EQ(service.stop(), 0);
}

TEST(Channel, ManyThreadsEachGetTheirOwnReply) {
    constexpr int kThreads = 8;
    constexpr int kCalls = 10000;
    auto connection = connect_client({.slot_count = 64, .request_pool_size = 4 << 20, .reply_pool_size = 4 << 20});
    StoppableChild service = start_service(connection.regions, {.workers = 2});

    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kCalls; ++i) {
                std::string message = "thread " + std::to_string(t) + " call " + std::to_string(i);
                if (i % 100 == 0) message.append(1000, static_cast<char>('a' + t));  // through the pools
                auto reply = connection.client.call(kEcho, bytes_of(message), {.deadline = Deadline::after(10s)});
                if (!reply || reply->status() != static_cast<int32_t>(message.size()) ||
                    text_of(reply->payload()) != message) {
                    if (failures.fetch_add(1) < 5) {
                        ADD_FAILURE() << "thread " << t << " call " << i << ": "
                                      << (reply ? text_of(reply->payload()) : reply.error().describe());
                    }
                }
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(connection.client.request_pool_stats().used_bytes, 0u);
    EXPECT_EQ(service.stop(), 0);
}

TEST(Channel, OnewayCallsAreDeliveredAndTheirSlotsReclaimed) {
    constexpr uint64_t kOneways = 1000;  // far more than the slots: they must come back
    auto connection = connect_client({.slot_count = 16});
    StoppableChild service = start_service(connection.regions, {.workers = 2});
    const std::string payload(500, 'o');  // through the request pool
    for (uint64_t i = 0; i < kOneways; ++i) {
        auto sent = connection.client.call(kCount, bytes_of(payload),
                                           {.flags = kFlagOneway, .deadline = Deadline::after(5s)});
        ASSERT_TRUE(sent) << sent.error().describe();
        EXPECT_EQ(sent->payload().size(), 0u);
    }
    uint64_t count = 0;
    const auto deadline = Clock::now() + 5s;
    while (count < kOneways && Clock::now() < deadline) {
        auto reply = connection.client.call(kGetCount, {}, {.deadline = Deadline::after(5s)});
        ASSERT_TRUE(reply) << reply.error().describe();
        ASSERT_EQ(reply->payload().size(), sizeof count);
        std::memcpy(&count, reply->payload().data(), sizeof count);
    }
    EXPECT_EQ(count, kOneways);
    EXPECT_EQ(service.stop(), 0);
}

TEST(Channel, InlineAndPoolPayloadsUpTo64MiB) {
    constexpr uint64_t kPool = 72ull << 20;
    auto connection = connect_client({.slot_count = 8, .request_pool_size = kPool, .reply_pool_size = kPool});
    StoppableChild service = start_service(connection.regions);
    // The service reads and writes every byte: 64 MiB each way takes tens of seconds under
    // ThreadSanitizer on a loaded 2-core machine, so the deadline is generous.
    const auto deadline = 90s;
    for (uint64_t size : {0ull, 1ull, 191ull, 192ull, 193ull, 4096ull, 1ull << 20, 64ull << 20}) {
        SCOPED_TRACE("payload of " + std::to_string(size) + " bytes");
        Result<ReceivedReply> reply;
        if (size > (1u << 20)) {
            // Written once, in place, in the request pool.
            auto buffer = connection.client.allocate_payload(size, Deadline::after(5s));
            ASSERT_TRUE(buffer) << buffer.error().describe();
            fill_pattern(buffer->bytes(), 1);
            reply = connection.client.call_in_place(kPattern, std::move(*buffer), {.deadline = Deadline::after(deadline)});
        } else {
            std::vector<std::byte> payload(size);
            fill_pattern(payload, 1);
            reply = connection.client.call(kPattern, payload, {.deadline = Deadline::after(deadline)});
        }
        ASSERT_TRUE(reply) << reply.error().describe();
        EXPECT_EQ(reply->status(), 0) << "the service saw a corrupted request";
        ASSERT_EQ(reply->payload().size(), size);
        EXPECT_TRUE(check_pattern(reply->payload(), 2));
    }
    EXPECT_EQ(connection.client.request_pool_stats().used_bytes, 0u);
    EXPECT_EQ(service.stop(), 0);
}

TEST(Channel, PoolExhaustionIsACleanError) {
    auto connection = connect_client({.slot_count = 8, .request_pool_size = 1 << 20, .reply_pool_size = 1 << 20});
    StoppableChild service = start_service(connection.regions);
    ChannelClient& client = connection.client;

    // Larger than the whole pool: refused at once, whatever the deadline.
    const std::vector<std::byte> huge(2 << 20);
    auto start = Clock::now();
    auto refused = client.call(kEcho, huge, {.deadline = Deadline::after(5s)});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::no_memory);
    EXPECT_LT(Clock::now() - start, 1s);

    // Full: waits for space until the deadline, then no_memory.
    std::vector<PayloadBuffer> held;
    for (int i = 0; i < 3; ++i) {
        auto buffer = client.allocate_payload(300 << 10);
        ASSERT_TRUE(buffer) << buffer.error().describe();
        held.push_back(std::move(*buffer));
    }
    start = Clock::now();
    auto full = client.allocate_payload(300 << 10, Deadline::after(50ms));
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error().code, Errc::no_memory);
    EXPECT_GE(Clock::now() - start, 50ms);
    held.pop_back();
    EXPECT_TRUE(client.allocate_payload(300 << 10));

    // The service's reply pool: a reply larger than the pool fails at once, with no_memory.
    auto ask_reply = [&](uint64_t size, std::chrono::milliseconds timeout = 5s) {
        return client.call(kReplySize, std::as_bytes(std::span(&size, 1)), {.deadline = Deadline::after(timeout)});
    };
    start = Clock::now();
    auto too_large = ask_reply(2 << 20);
    ASSERT_FALSE(too_large);
    EXPECT_EQ(too_large.error().code, Errc::no_memory);
    EXPECT_LT(Clock::now() - start, 1s);
    // A held reply keeps its block: the next reply waits for space, then fails with no_memory;
    // once the first is released, the service reclaims its block.
    auto first = ask_reply(600 << 10);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->status(), 0);
    start = Clock::now();
    auto second = ask_reply(600 << 10, 400ms);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, Errc::no_memory);
    EXPECT_GE(Clock::now() - start, 200ms);
    EXPECT_EQ(first->payload()[12345], std::byte{0x5a});
    first->release();
    auto third = ask_reply(600 << 10);
    ASSERT_TRUE(third);
    EXPECT_EQ(third->status(), 0);
    ASSERT_EQ(third->payload().size(), 600u << 10);
    EXPECT_EQ(third->payload()[12345], std::byte{0x5a});
    EXPECT_EQ(service.stop(), 0);
}

TEST(Channel, ACallerWaitingForPoolSpaceHoldsUpNoOtherCaller) {
    // No service answers: a oneway call holds the whole request pool, so a caller that needs pool
    // space waits for that call's answer, 1 ms at a time, until its deadline. Meanwhile calls that
    // need no pool space (inline oneway ones) go out at their own pace: the waiter holds none of
    // the client's locks while it sleeps. (It once did: a send then waited for the rest of the
    // waiter's 1 ms look, nine sends in ten longer than 100 us.)
    constexpr uint32_t kSends = 100;
    auto connection = connect_client({.slot_count = kSends + 1, .request_pool_size = 64 << 10});
    ChannelClient& client = connection.client;
    auto whole_pool = client.allocate_payload(64 << 10);
    ASSERT_TRUE(whole_pool) << whole_pool.error().describe();
    ASSERT_TRUE(client.call_in_place(kCount, std::move(*whole_pool),
                                     {.flags = kFlagOneway, .deadline = Deadline::after(5s)}));

    Result<PayloadBuffer> starved = fail(Errc::closed, "not run");
    const auto waiter_start = Clock::now();
    std::thread waiter([&] { starved = client.allocate_payload(1 << 10, Deadline::after(3s)); });
    std::this_thread::sleep_for(100ms);  // the waiter is in its wait by now
    // Sends spread over 200 ms, each at some point of the waiter's looks.
    uint32_t sent = 0, slow = 0;
    for (; sent < kSends; ++sent) {
        std::this_thread::sleep_for(2ms);
        const auto start = Clock::now();
        auto call = client.call(kCount, bytes_of("inline"), {.flags = kFlagOneway, .deadline = Deadline::after(5s)});
        if (Clock::now() - start > 100us) ++slow;
        if (!call) {
            ADD_FAILURE() << "send " << sent << ": " << call.error().describe();
            break;
        }
    }
    const bool waiter_still_waiting = Clock::now() - waiter_start < 3s;
    waiter.join();
    std::printf("%u of %u sends took over 100 us while a caller waited for pool space\n", slow, sent);
    EXPECT_EQ(sent, kSends);
    // A send alone takes microseconds; a loaded host's preemptions make a few slow.
    EXPECT_LT(slow, kSends * 3 / 10) << slow << " of " << sent << " sends waited behind the pool-space waiter";
    EXPECT_TRUE(waiter_still_waiting) << "the waiter gave up before the sends ended: they were not measured against it";
    // The waiter itself ends as before: no space came, no_memory at its deadline.
    ASSERT_FALSE(starved);
    EXPECT_EQ(starved.error().code, Errc::no_memory);
    EXPECT_GE(Clock::now() - waiter_start, 3s);
}

TEST(Channel, EverySlotAcrossTheFreeMapIsUsedAndAWaitingCallerIsWokenByARelease) {
    // 65 slots: the free map's second word holds one. All of them go to calls in flight, one more
    // call finds none until its deadline, and a caller that waits for a slot gets the first released.
    constexpr uint32_t kSlots = 65;
    auto connection = connect_client({.slot_count = kSlots});
    ChannelClient& client = connection.client;
    std::vector<AsyncCall> calls(kSlots);
    for (uint32_t i = 0; i < kSlots; ++i) {
        const std::string message = "in flight " + std::to_string(i);
        ASSERT_TRUE(client.call(kEcho, bytes_of(message), {.deadline = Deadline::after(10s), .async = &calls[i]}))
            << "call " << i;
        ASSERT_TRUE(calls[i].pending());
    }
    auto no_slot = client.call(kEcho, bytes_of("one past"), {.deadline = Deadline::after(50ms)});
    ASSERT_FALSE(no_slot);
    EXPECT_EQ(no_slot.error().code, Errc::timed_out);
    EXPECT_NE(no_slot.error().message.find("slots"), std::string::npos) << no_slot.error().describe();

    // The service first: a fork while the waiter's thread runs could copy a lock it holds into the
    // child. Answering frees no slot; the caller's finish_async below does.
    StoppableChild service = start_service(connection.regions);
    Result<ReceivedReply> waited = fail(Errc::closed, "not run");
    std::thread waiter([&] { waited = client.call(kEcho, bytes_of("waited"), {.deadline = Deadline::after(10s)}); });
    std::this_thread::sleep_for(50ms);  // the waiter is in its wait: every slot is still held
    for (uint32_t i = 0; i < kSlots; ++i) {
        auto reply = client.finish_async(calls[i], Deadline::after(10s));
        ASSERT_TRUE(reply) << "call " << i << ": " << reply.error().describe();
        EXPECT_EQ(text_of(reply->payload()), "in flight " + std::to_string(i));
    }
    waiter.join();
    ASSERT_TRUE(waited) << waited.error().describe();
    EXPECT_EQ(text_of(waited->payload()), "waited");
    // Every slot came back: the whole map can be claimed again.
    for (uint32_t i = 0; i < kSlots; ++i) {
        ASSERT_TRUE(client.call(kEcho, bytes_of("again"), {.deadline = Deadline::after(10s), .async = &calls[i]}));
    }
    for (uint32_t i = 0; i < kSlots; ++i) ASSERT_TRUE(client.finish_async(calls[i], Deadline::after(10s)));
    EXPECT_EQ(service.stop(), 0);
}

TEST(Channel, TimesOutWhenTheServiceNeverAnswers) {
    auto connection = connect_client({.slot_count = 2});  // no service at all
    ChannelClient& client = connection.client;
    auto start = Clock::now();
    auto reply = client.call(kEcho, bytes_of("anyone?"), {.deadline = Deadline::after(100ms)});
    const auto waited = Clock::now() - start;
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, Errc::timed_out);
    EXPECT_GE(waited, 100ms);
    EXPECT_LT(waited, 2s);

    // The abandoned slot stays taken until the service answers; the other one goes to a oneway call;
    // then the slot table is full and a call times out waiting for a slot.
    ASSERT_TRUE(client.call(kCount, {}, {.flags = kFlagOneway, .deadline = Deadline::after(1s)}));
    start = Clock::now();
    auto no_slot = client.call(kEcho, bytes_of("x"), {.deadline = Deadline::after(50ms)});
    ASSERT_FALSE(no_slot);
    EXPECT_EQ(no_slot.error().code, Errc::timed_out);
    EXPECT_NE(no_slot.error().message.find("slots"), std::string::npos) << no_slot.error().describe();
    EXPECT_LT(Clock::now() - start, 2s);
}

TEST(Channel, PendingCallsFailPromptlyWhenThePeerIsMarkedDead) {
    auto connection = connect_client({.slot_count = 1});  // no service
    ChannelClient& client = connection.client;
    Result<ReceivedReply> waiting_for_reply, waiting_for_slot;
    std::thread first([&] { waiting_for_reply = client.call(kEcho, bytes_of("a"), {}); });
    std::this_thread::sleep_for(30ms);
    std::thread second([&] { waiting_for_slot = client.call(kEcho, bytes_of("b"), {}); });
    std::this_thread::sleep_for(30ms);

    const auto marked = Clock::now();
    client.mark_dead();
    first.join();
    second.join();
    EXPECT_LT(Clock::now() - marked, 500ms);
    ASSERT_FALSE(waiting_for_reply);
    EXPECT_EQ(waiting_for_reply.error().code, Errc::dead_object);
    ASSERT_FALSE(waiting_for_slot);
    EXPECT_EQ(waiting_for_slot.error().code, Errc::dead_object);
    auto later = client.call(kEcho, bytes_of("c"), {});
    ASSERT_FALSE(later);
    EXPECT_EQ(later.error().code, Errc::dead_object);
}

TEST(Channel, CallFailsWithDeadObjectWhenTheServiceProcessIsKilled) {
    auto connection = connect_client({.slot_count = 8});
    StoppableChild service = start_service(connection.regions);
    ASSERT_TRUE(connection.client.call(kEcho, bytes_of("up?"), {.deadline = Deadline::after(5s)}));

    Result<ReceivedReply> pending;
    std::thread caller([&] { pending = connection.client.call(kSleep, {}, {}); });
    std::this_thread::sleep_for(50ms);
    service.kill_now();
    const auto reported = Clock::now();
    connection.client.mark_dead();  // what the kernel's death record will trigger
    caller.join();
    EXPECT_LT(Clock::now() - reported, 500ms);
    ASSERT_FALSE(pending);
    EXPECT_EQ(pending.error().code, Errc::dead_object);
}
TEST(Channel, HostileServiceYieldsNamedErrorsNeverACrash) {
    enum Crafted : uint32_t { kWrongSequence = 11, kOutsidePool, kLongInline, kUnknownKind, kRejected, kSilent, kScribble };
    auto connection = connect_client({.slot_count = 8, .request_pool_size = 1 << 20, .reply_pool_size = 1 << 20});
    StoppableChild hostile = StoppableChild::start([&](int stop_fd) {
        auto ctrl = Mapping::map_whole(connection.regions.ctrl.get(), PROT_READ | PROT_WRITE);
        if (!ctrl) return 1;
        auto view = ControlView::attach(ctrl->data(), ctrl->size());
        if (!view) return 2;
        ::fcntl(stop_fd, F_SETFL, O_NONBLOCK);
        std::mt19937_64 random(42);
        for (;;) {
            char byte;
            if (::read(stop_fd, &byte, 1) == 0) return 0;
            uint32_t index = 0;
            if (!view->pop(index)) {
                std::this_thread::sleep_for(100us);
                continue;
            }
            if (index >= view->slot_count()) continue;
            CallSlot& slot = view->slot(index);
            MessageDescriptor reply{};
            reply.call_sequence = slot.request.call_sequence;
            switch (slot.request.code) {
                case kWrongSequence: reply.call_sequence += 1000; break;
                case kOutsidePool:
                    reply.payload_kind = static_cast<uint16_t>(PayloadKind::pool);
                    reply.pool_offset = (1ull << 20) - 8;
                    reply.payload_length = 4096;
                    break;
                case kLongInline:
                    reply.payload_kind = static_cast<uint16_t>(PayloadKind::inline_bytes);
                    reply.payload_length = 100000;
                    break;
                case kUnknownKind: reply.payload_kind = 77; break;
                case kRejected: reply.flags = kFlagRejected; break;
                case kSilent: continue;
                case kScribble:
                    for (int round = 0; round < 300; ++round) {
                        for (std::size_t i = 0; i + 8 <= ctrl->size(); i += 8) {
                            const uint64_t noise = random();
                            std::memcpy(ctrl->data() + i, &noise, 8);
                        }
                        for (uint32_t s = 0; s < view->slot_count(); ++s) futex_wake(sequence_futex(view->slot(s).reply));
                        std::this_thread::sleep_for(1ms);
                    }
                    continue;
            }
            // Crafted, but published as a service does: the body first, the sequence last.
            const uint64_t crafted_sequence = std::exchange(reply.call_sequence, slot.reply.call_sequence);
            std::memcpy(&slot.reply, &reply, sizeof reply);
            sequence_of(slot.reply).store(crafted_sequence, std::memory_order_release);
            futex_wake(sequence_futex(slot.reply));
        }
    });

    ChannelClient& client = connection.client;
    for (uint32_t code : {kWrongSequence, kOutsidePool, kLongInline, kUnknownKind, kRejected}) {
        auto reply = client.call(code, bytes_of("request"), {.deadline = Deadline::after(5s)});
        ASSERT_FALSE(reply) << "code " << code;
        EXPECT_EQ(reply.error().code, Errc::malformed) << reply.error().describe();
    }
    auto silent = client.call(kSilent, bytes_of("request"), {.deadline = Deadline::after(50ms)});
    ASSERT_FALSE(silent);
    EXPECT_EQ(silent.error().code, Errc::timed_out);

    // While the ctrl region fills with noise, every call ends in time with a named outcome.
    ASSERT_TRUE(client.call(kScribble, {}, {.flags = kFlagOneway, .deadline = Deadline::after(1s)}));
    std::atomic<int> unnamed{0}, late{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
        callers.emplace_back([&] {
            const auto end = Clock::now() + 400ms;
            while (Clock::now() < end) {
                const auto start = Clock::now();
                auto reply = client.call(kEcho, bytes_of(std::string(300, 'x')), {.deadline = Deadline::after(30ms)});
                if (Clock::now() - start > 1s) ++late;
                if (!reply && reply.error().code != Errc::malformed && reply.error().code != Errc::timed_out) {
                    ++unnamed;
                }
            }
        });
    }
    for (auto& caller : callers) caller.join();
    EXPECT_EQ(unnamed.load(), 0);
    EXPECT_EQ(late.load(), 0);
    client.mark_dead();
    EXPECT_EQ(hostile.stop(), 0);
}

}  // namespace
}  // namespace liteipc::detail::testing
