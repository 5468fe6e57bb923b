// Roles of the topic tests' peers (tests/system/topic_test.cpp): subscribers that check every
// byte, a subscriber that holds samples and waits to be killed, a publisher that can be killed.
#include "liteipc/topic.h"
#include "peer_role.h"
#include "test_processes.h"
#include "topic_protocol.h"

namespace liteipc::testing {

// Subscribes as `uid` and reads until the sample of sequence `last`, checking each one's bytes.
// Reports TopicSubscribed, then TopicTally.
LITEIPC_PEER_ROLE(topic_subscriber) {
    ContextOptions context_options = read_context_options(args);
    const auto uid = static_cast<uid_t>(args.number());
    const std::string topic = args.text();
    SubscribeOptions options;
    options.overflow = static_cast<Overflow>(args.number());
    options.depth = static_cast<uint32_t>(args.number());
    const uint64_t last = args.number();
    TopicSubscribed subscribed{-1, ::getpid()};
    if (uid != 0 && !become_group_member(uid)) return report(subscribed) ? 100 : 101;
    auto context = Context::open(context_options);
    if (!context) return report(subscribed) ? 100 : 101;
    auto subscriber = Subscriber::open(*context, topic, options);
    subscribed.result = subscriber ? 0 : static_cast<int64_t>(subscriber.error().code);
    if (!report(subscribed) || !subscriber) return 0;
    TopicTally tally;
    while (tally.last_sequence < last) {
        auto sample = subscriber->take(std::chrono::seconds(30));
        if (!sample) {
            tally.status = static_cast<int64_t>(sample.error().code);
            break;
        }
        const uint64_t sequence = sample->sequence();
        if (tally.received == 0) tally.first_sequence = sequence;
        if (tally.received > 0 && sequence != tally.last_sequence + 1) ++tally.gaps;
        auto bytes = sample->data();
        bool same = bytes.size() == topic_sample_size(sequence);
        for (size_t i = 0; same && i < bytes.size(); ++i) same = bytes[i] == stream_byte(sequence, i);
        if (!same) ++tally.mismatches;
        ++tally.received;
        tally.last_sequence = sequence;
    }
    tally.dropped = subscriber->dropped();
    return report(tally) ? 0 : 101;
}

// Subscribes (anyone may), takes `hold` samples and keeps them; reports how many it holds, then
// waits to be killed.
LITEIPC_PEER_ROLE(topic_holder) {
    ContextOptions context_options = read_context_options(args);
    const std::string topic = args.text();
    const auto hold = static_cast<uint32_t>(args.number());
    auto context = Context::open(context_options);
    if (!context) return report(int64_t{-1}) ? 100 : 101;
    auto subscriber = Subscriber::open(*context, topic, {.depth = hold, .max_held = hold});
    if (!report(int64_t{subscriber ? 0 : static_cast<int64_t>(subscriber.error().code)}) || !subscriber) return 0;
    std::vector<ReceivedSample> held;
    while (held.size() < hold) {
        auto sample = subscriber->take(std::chrono::seconds(30));
        if (!sample) break;
        held.push_back(std::move(*sample));
    }
    report(static_cast<int64_t>(held.size()));
    for (;;) ::pause();
}

// Publishes `topic` (anyone may subscribe), a sample every millisecond, until killed. Reports
// 0 once the topic exists (or the Errc).
LITEIPC_PEER_ROLE(topic_publisher) {
    no_core_dumps();
    ContextOptions context_options = read_context_options(args);
    const std::string topic = args.text();
    auto context = Context::open(context_options);
    if (!context) return report(int64_t{-1}) ? 100 : 101;
    auto publisher = Publisher::create(*context, {.name = topic, .subscriber_policy = Policy::anyone, .sample_size = 1024});
    if (!report(int64_t{publisher ? 0 : static_cast<int64_t>(publisher.error().code)}) || !publisher) return 0;
    for (;;) {
        auto sample = publisher->loan();
        if (sample) {
            const uint64_t sequence = publisher->stats().published + 1;
            const uint64_t size = topic_sample_size(sequence);
            for (size_t i = 0; i < size; ++i) sample->data()[i] = stream_byte(sequence, i);
            (void)publisher->publish(*sample, size);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

}  // namespace liteipc::testing
