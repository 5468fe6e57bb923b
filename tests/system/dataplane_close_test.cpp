// What a client published before it went is served: oneway messages sent just before an orderly
// close, an exit without one, or a SIGKILL all reach the handler, in order, once each; then the
// connection's fds and mappings in the service are gone. Over both transports.
#include <thread>

#include "dataplane_peers.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

struct CloseCase {
    Mode mode;
    SenderEnding ending;
    uint32_t messages;  // 1: to an idle service, whose worker sees the doorbell and the hangup at once
};

std::vector<CloseCase> close_cases() {
    std::vector<CloseCase> cases;
    for (Mode mode : {Mode::direct, Mode::mediated})
        for (SenderEnding ending : {SenderEnding::close, SenderEnding::exit, SenderEnding::sigkill})
            for (uint32_t messages : {1u, 200u}) cases.push_back({mode, ending, messages});
    return cases;
}

class PublishedBeforeClose : public WithLoader<>, public ::testing::WithParamInterface<CloseCase> {
protected:
    PublishedBeforeClose() : WithLoader("pbc") {}
};

// The sequence numbers the service served so far.
std::vector<uint32_t> served_by(Peer& service) {
    std::vector<uint32_t> served;
    uint32_t count = 0;
    if (!service.send('q') || !service.read(count)) return served;
    served.resize(count);
    for (uint32_t& sequence : served)
        if (!service.read(sequence)) return {};
    return served;
}

TEST_P(PublishedBeforeClose, EveryMessageIsServedInOrderOnceAndTheConnectionGoes) {
    const CloseCase param = GetParam();
    const std::string name = "pbc.sequence";
    ServiceOptions options{.name = name, .workers = 1, .reply_pool_bytes = 64 * 1024, .mode = param.mode};
    Peer service = Peer::spawn("sequence_service", peer_args(loader_.options(), options));
    char started = 0;
    ASSERT_TRUE(service.read(started));
    ASSERT_EQ(started, 'y');
    std::this_thread::sleep_for(100ms);
    const Holdings baseline = holdings_of(service.pid());

    // The service takes 1 ms a message: when the sender goes, up to a ring's worth is still queued.
    const uint32_t kMessages = param.messages;
    Peer sender =
        Peer::spawn("sequence_sender", peer_args(loader_.options(), name, kMessages, static_cast<int>(param.ending)));
    if (param.ending == SenderEnding::exit) {
        const int status = sender.wait();
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "sender status " << status;
    } else {
        char sent = 0;
        ASSERT_TRUE(sender.read(sent));
        ASSERT_EQ(sent, param.ending == SenderEnding::close ? 'c' : 's');
        if (param.ending == SenderEnding::sigkill) sender.kill_and_wait();
    }
    const auto gone = std::chrono::steady_clock::now();

    std::vector<uint32_t> served = served_by(service);
    while (served.size() < kMessages && std::chrono::steady_clock::now() - gone < 10s) {
        std::this_thread::sleep_for(20ms);
        served = served_by(service);
    }
    const auto drained_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - gone).count();
    ASSERT_EQ(served.size(), kMessages) << "the service served " << served.size() << " of " << kMessages;
    for (uint32_t i = 0; i < kMessages; ++i) ASSERT_EQ(served[i], i) << "message " << i;

    // Then the connection goes: its socket and its three mappings, nothing else.
    const Holdings after = settle(service.pid(), baseline.fds, baseline.mappings);
    EXPECT_EQ(after.fds, baseline.fds);
    EXPECT_EQ(after.mappings, baseline.mappings) << "new mappings:\n" << new_mappings(baseline, after);
    EXPECT_EQ(served_by(service).size(), kMessages) << "a message served twice";
    std::cout << "last message served " << drained_ms << " ms after the sender went\n";
}

INSTANTIATE_TEST_SUITE_P(
    Endings, PublishedBeforeClose,
    ::testing::ValuesIn(close_cases()),
    [](const ::testing::TestParamInfo<CloseCase>& info) {
        const char* ending = info.param.ending == SenderEnding::close  ? "Close"
                             : info.param.ending == SenderEnding::exit ? "Exit"
                                                                       : "Sigkill";
        return std::string(info.param.mode == Mode::mediated ? "Mediated" : "Direct") + ending +
               std::to_string(info.param.messages);
    });

}  // namespace
}  // namespace liteipc::testing
