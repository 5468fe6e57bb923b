// Every connect reaches a registered service, however it races the registration: a client that
// finds the name the moment it exists and connects at once gets its channel.
#include <thread>

#include "dataplane_peers.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;

class ConnectRace : public WithLoader<> {
protected:
    ConnectRace() : WithLoader("race") {}
};

TEST_F(ConnectRace, AConnectDuringRegistrationIsNeverLost) {
    const int rounds = 1000;
    // The service process registers "race.<n>", serves until told the round is over, unregisters.
    Peer service = Peer::spawn("race_service", peer_args(loader_.options(), rounds));
    ASSERT_GT(service.pid(), 0);

    int lost = 0;
    for (int round = 0; round < rounds && lost == 0; ++round) {
        const std::string name = "race." + std::to_string(round);
        // Poll for the name and connect the moment it answers.
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        std::optional<Connection> connection;
        while (!connection && std::chrono::steady_clock::now() < give_up) {
            auto opened = Connection::open(*context_, name, {.timeout = 3000ms});
            if (opened) {
                connection.emplace(std::move(*opened));
            } else if (opened.error().code != Errc::not_found) {
                ADD_FAILURE() << "round " << round << ": " << opened.error().describe();
                ++lost;
                break;
            }
        }
        if (!connection) {
            ++lost;
            break;
        }
        Request request(*connection);
        auto reply = connection->call(7, request, 3000ms);
        ASSERT_TRUE(reply) << "round " << round << ": " << reply.error().describe();
        EXPECT_EQ(reply->reader().read_uint32(), 7u);
        connection.reset();
        ASSERT_TRUE(service.send('n')) << "round " << round << ": the service process is gone";
    }
    EXPECT_EQ(lost, 0);
    if (lost == 0) {
        const int status = service.wait();
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "service process status " << status;
    }
}

}  // namespace
}  // namespace liteipc::testing
