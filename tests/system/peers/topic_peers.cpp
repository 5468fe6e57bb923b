// Roles of the topic tests' peers (tests/system/topic_test.cpp): subscribers that check every
// byte, a subscriber that holds samples and waits to be killed, a publisher that can be killed.
#include <sys/socket.h>

#include "liteipc/topic.h"
#include "peer_role.h"
#include "transport/topic_layout.h"
#include "transport/topic_reader.h"
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

// Publishes `topic` as `uid` (anyone may subscribe; who may publish: the policy given), a sample
// every millisecond, until killed. Reports 0 once the topic exists (or the Errc).
LITEIPC_PEER_ROLE(topic_publisher) {
    no_core_dumps();
    ContextOptions context_options = read_context_options(args);
    const auto uid = static_cast<uid_t>(args.number());
    const std::string topic = args.text();
    TopicOptions options{.name = topic, .subscriber_policy = Policy::anyone, .sample_size = 1024};
    options.publisher_policy = static_cast<Policy>(args.number());
    options.publisher_uid_min = static_cast<uint32_t>(args.number());
    options.publisher_uid_max = static_cast<uint32_t>(args.number());
    if (uid != 0 && !become_group_member(uid)) return report(int64_t{-1}) ? 100 : 101;
    auto context = Context::open(context_options);
    if (!context) return report(int64_t{-1}) ? 100 : 101;
    auto publisher = Publisher::create(*context, options);
    if (!publisher) std::fprintf(stderr, "topic_publisher: %s\n", publisher.error().describe().c_str());
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

// Subscribes over a bare connection (the subscribe call Subscriber makes), takes `hold` samples and
// keeps them, reports how many, and when told closes the connection without unsubscribing (as a process
// that closes the socket, or loses the object, would) and reports 0; then waits to be killed with
// the samples still mapped.
LITEIPC_PEER_ROLE(topic_connection_closer) {
    ContextOptions context_options = read_context_options(args);
    const std::string topic = args.text();
    const auto hold = static_cast<uint32_t>(args.number());
    auto context = Context::open(context_options);
    if (!context) return report(int64_t{-1}) ? 100 : 101;
    auto opened = Connection::open(*context, topic, {.request_pool_bytes = 64 * 1024, .slots = 4});
    if (!opened) return report(static_cast<int64_t>(opened.error().code)) ? 0 : 101;
    std::optional<Connection> connection(std::move(*opened));
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0) return report(int64_t{-1}) ? 0 : 101;
    detail::UniqueFd ours(pair[0]), theirs(pair[1]);
    Result<std::unique_ptr<detail::TopicReader>> reader = fail(Errc::closed, "not subscribed");
    {
        Request request(*connection);
        request.writer().write_uint32(detail::kTopicVersion);
        request.writer().write_uint32(hold);  // depth
        request.writer().write_uint32(hold);  // max_held
        request.writer().write_uint32(static_cast<uint32_t>(Overflow::block_publisher));
        request.writer().write_uint32(0);  // history
        request.writer().write_fd(theirs.get());
        auto reply = connection->call(detail::kTopicSubscribeCode, request, std::chrono::seconds(30));
        if (!reply || reply->status() != 0) return report(int64_t{-2}) ? 0 : 101;
        Reader in = reply->reader();
        (void)in.read_uint64();
        const int pool = in.read_fd(), queue = in.read_fd(), region = in.read_fd();
        if (in.ok()) reader = detail::TopicReader::attach(pool, queue, region, hold);
    }
    if (!reader) return report(int64_t{-3}) ? 0 : 101;
    if (!report(int64_t{0})) return 101;
    uint32_t held = 0;
    while (held < hold) {
        auto taken = (*reader)->try_take();
        if (!taken) break;
        if (*taken) ++held;
        else (*reader)->wait(std::chrono::microseconds(10), detail::Deadline::after(std::chrono::seconds(30)));
    }
    int64_t go = 0;
    if (!report(static_cast<int64_t>(held)) || !receive(go)) return 101;
    connection.reset();  // no unsubscribe: only the connection's end tells the publisher
    report(int64_t{0});
    for (;;) ::pause();
}

}  // namespace liteipc::testing
