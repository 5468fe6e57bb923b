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
    int next_round[2];
    ASSERT_EQ(::pipe(next_round), 0);
    std::fflush(nullptr);
    const pid_t child = ::fork();
    if (child == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::close(next_round[1]);
        auto context = Context::open(loader_.options());
        if (!context) ::_exit(100);
        for (int round = 0; round < rounds; ++round) {
            auto service = Service::start(*context, {.name = "race." + std::to_string(round), .workers = 1}, answer_code);
            if (!service) ::_exit(101);
            char done;
            if (::read(next_round[0], &done, 1) != 1) ::_exit(102);
        }
        ::_exit(0);
    }
    ::close(next_round[0]);

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
        ASSERT_EQ(::write(next_round[1], "n", 1), 1);
    }
    EXPECT_EQ(lost, 0);
    ::close(next_round[1]);
    int status = 0;
    if (lost != 0) ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
    if (lost == 0) EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "service process status " << status;
}

}  // namespace
}  // namespace liteipc::testing
