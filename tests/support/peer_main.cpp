// liteipc_test_peer <role> [args...]: one process of a system or chaos test, spawned by it.
#include <sys/prctl.h>

#include <csignal>
#include <cstdio>
#include <map>
#include <string>

#include "peer_role.h"

namespace liteipc::testing {

static std::map<std::string, PeerRoleBody>& roles() {
    static std::map<std::string, PeerRoleBody> all;
    return all;
}

PeerRoleRegistration::PeerRoleRegistration(const char* name, PeerRoleBody body) { roles()[name] = body; }

}  // namespace liteipc::testing

int main(int argc, char** argv) {
    using namespace liteipc::testing;
    if (argc < 2 || !roles().contains(argv[1])) {
        std::fprintf(stderr, "usage: liteipc_test_peer <role> [args...]; roles:");
        for (auto& [name, body] : roles()) std::fprintf(stderr, " %s", name.c_str());
        std::fprintf(stderr, "\n");
        return 2;
    }
    // A peer never outlives the test that started it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() == 1) return 3;
    PeerArgs args(std::vector<std::string>(argv + 2, argv + argc));
    return roles()[argv[1]](args);
}
