// The subscriber processes of idl_topic_test.cpp (roles of liteipc_idl_topic_peer, tests/support/peer.h).
#include "peer_role.h"
#include "sensor_events_recorder.h"
#include "test_processes.h"

namespace liteipc::testing {

// Subscribes to an ISensorEvents topic as `uid` and reports its subscribe result (0 or the Errc),
// then one Delivery per receive(), with the record of the call it ran, until the publisher is gone
// or nothing comes for 30 s.
LITEIPC_PEER_ROLE(sensor_events_subscriber) {
    ContextOptions context_options = read_context_options(args);
    const auto uid = static_cast<uid_t>(args.number());
    const std::string topic = args.text();
    SubscribeOptions options{.overflow = Overflow::block_publisher};
    options.depth = static_cast<uint32_t>(args.number());
    if (uid != 0 && !become_group_member(uid)) return report(int64_t{-1}) ? 100 : 101;
    auto context = Context::open(context_options);
    if (!context) return report(int64_t{-1}) ? 100 : 101;
    OHOS::Test::SensorEventsRecorder recorder;
    auto subscriber = OHOS::Test::SensorEventsTopicSubscriber::open(*context, topic, recorder, options);
    if (!report(int64_t{subscriber ? 0 : static_cast<int64_t>(subscriber.error().code)}) || !subscriber) return 0;
    for (;;) {
        const auto received = subscriber->receive(std::chrono::seconds(30));
        OHOS::Test::Delivery delivery{received ? 0 : static_cast<int64_t>(received.error().code), 0};
        if (received) delivery.length = recorder.calls.back().size();
        if (!report(delivery)) return 101;
        if (received && !write_all(kPeerReportFd, recorder.calls.back().data(), delivery.length)) return 101;
        if (!received && (received.error().code == Errc::dead_object || received.error().code == Errc::timed_out)) return 0;
    }
}

}  // namespace liteipc::testing
