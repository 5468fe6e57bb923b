// One kill: a service child started and registered, a connection to it, a death subscription,
// a call pending on it from a thread of its own; then SIGKILL, and a bounded wait for the floor,
// the callback and the pending call (and waitpid, timed) to see it.
#pragma once

#include <string>
#include <vector>

#include "cycle.h"
#include "floor.h"
#include "liteipc/context.h"
#include "options.h"

namespace liteipc::bench::death {

// What every cycle of a run uses.
struct Run {
    const Options& options;
    Context& watcher;
    Floor& floor;
    Observations& observations;
    std::string self_exe;           // re-executed as the service child
    std::string socket, pin_root;   // of the run's loader
    std::vector<DeathSubscription> subscriptions;  // kept to the end: a duplicate would show
};

enum class CycleEnd {
    killed,  // c.started: the child was killed with its call in flight
    failed,  // before the kill (said on stderr); the next cycle may run
    stop,    // no pipe or no process: no further cycle can run
};

CycleEnd run_cycle(Run& run, int index, Cycle& c);

}  // namespace liteipc::bench::death
