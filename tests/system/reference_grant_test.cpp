// A service reference handed on again after its receiver's grant was withdrawn grants it again:
// a grant can end without its grantor being told (the owner withdraws it, the receiver's pid is
// another process's by now), so the runtime asks the loader each time it hands a reference on.
// The receiver is the newer-API peer (tests/system/peers/new_api_service.c), which calls back
// what it is sent; the service is mediated, so the kernel checks the grant at every message.
#include <cstdlib>

#include "liteipc/ipc.h"
#include "loader_fixture.h"
#include "c_api_processes.h"
#include "peers/peer_protocol.h"

namespace liteipc::testing {
namespace {

class ReferenceGrantTest : public WithLoader<> {
protected:
    ReferenceGrantTest() : WithLoader("refgrant") {}
    void TearDown() override {
        ::unsetenv("LITEIPC_SOCKET");
        ::unsetenv("LITEIPC_PIN_ROOT");
    }
};

// PEER_CALL_BACK: hands `adder` to the peer, which calls it with n; what it answered, or -1.
int32_t call_back_through(Connection& peer, const Service& adder, int32_t n) {
    Request request(peer);
    request.writer().write_service(SvcIdentity{adder.handle(), 0, 0});
    request.writer().write_int32(n);
    auto reply = peer.call(PEER_CALL_BACK, request);
    if (!reply) return -100;
    Reader reader = reply->reader();
    return reader.read_int32();
}

TEST_F(ReferenceGrantTest, AReferenceHandedAgainAfterItsGrantWasWithdrawnGrantsAgain) {
    ::setenv("LITEIPC_SOCKET", loader_.socket().c_str(), 1);
    ::setenv("LITEIPC_PIN_ROOT", loader_.pin_root().c_str(), 1);
    PeerProgram peer(LITEIPC_PEER_NEW_API);
    ServiceOptions options{.name = "test.ref.adder", .policy = Policy::pids};
    options.mode = Mode::mediated;
    auto adder = Service::start(*context_, options, [](Call& call) {
        const int32_t n = call.request().read_int32();
        call.reply().write_int32(n + 1);
        return 0;
    });
    ASSERT_TRUE(adder) << adder.error().describe();
    auto to_peer = Connection::open(*context_, "liteipc.context");
    ASSERT_TRUE(to_peer) << to_peer.error().describe();

    ASSERT_EQ(call_back_through(*to_peer, *adder, 41), 42) << "the reference granted the peer";
    ASSERT_TRUE(adder->revoke_pid(static_cast<uint32_t>(peer.pid())));
    EXPECT_EQ(call_back_through(*to_peer, *adder, 1), 2) << "handed again, it grants again";
}

}  // namespace
}  // namespace liteipc::testing
