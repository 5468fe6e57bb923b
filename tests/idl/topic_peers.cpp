// The subscriber processes of idl_topic_test.cpp (roles of liteipc_idl_topic_peer, tests/support/peer.h).
#include "peer_role.h"
#include "sensor_events_recorder.h"
#include "test_processes.h"

namespace liteipc::testing {

// Subscribes to an ISensorEvents topic as `uid` and reports its subscribe result (0 or the Errc).
// Then receives until the publisher is gone or nothing comes for 30 s, and reports one Delivery per
// receive(), with the record of the call it ran (all at the end: a test reads them once it has
// published, and a pipe would not hold them meanwhile).
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
    std::vector<int64_t> outcomes;  // 0: the next of recorder.calls
    for (;;) {
        const auto received = subscriber->receive(std::chrono::seconds(30));
        outcomes.push_back(received ? 0 : static_cast<int64_t>(received.error().code));
        if (!received && (received.error().code == Errc::dead_object || received.error().code == Errc::timed_out)) break;
    }
    size_t next_call = 0;
    for (int64_t outcome : outcomes) {
        const std::string empty;
        const std::string& record = outcome == 0 ? recorder.calls[next_call++] : empty;
        if (!report(OHOS::Test::Delivery{outcome, record.size()}) || !write_all(kPeerReportFd, record.data(), record.size()))
            return 101;
    }
    return 0;
}

}  // namespace liteipc::testing
