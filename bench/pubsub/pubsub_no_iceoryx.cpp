// Built without libiceoryx-posh-dev: the run compares liteipc with the floor only, and says so.
#include <cstdio>

#include "pubsub_peers.h"

namespace liteipc::bench {

std::unique_ptr<PubSubPeer> make_iceoryx_peer() {
    std::printf("pubsub_bench: built without iceoryx (apt install libiceoryx-posh-dev iceoryx)\n");
    return nullptr;
}

}  // namespace liteipc::bench
