// The importing half: one child process per imported service. It watches the remote service,
// registers remote.<peer>.<service> here once the remote answers, and forwards each local call.
// When the peer is lost (watch ended, connection broken, keepalive expired) the child exits:
// the kernel reports its death, so local clients see exactly what a service's death gives
// (pending calls end with dead_object, death callbacks fire once). The parent starts it again.
#pragma once

#include <functional>

#include "config.h"

namespace liteipc::bridge {

// Exit statuses of an import child, read by its parent.
inline constexpr int kExitStopped = 0;    // SIGTERM: the bridge stops
inline constexpr int kExitFailed = 1;     // a local failure (config, loader, registration)
inline constexpr int kExitNotReady = 3;   // the remote service is not there (yet): try again later
inline constexpr int kExitPeerLost = 4;   // the peer or its service went away while we served
inline constexpr int kExitNameTaken = 5;  // another process holds remote.<peer>.<service>

// Runs the child for `import` until the peer is lost or `wait_for_stop` returns (the bridge's stop
// signals, taken in main.cpp); returns its exit status.
int run_import_child(const BridgeConfig& config, const Import& import, const std::function<void()>& wait_for_stop);

}  // namespace liteipc::bridge
