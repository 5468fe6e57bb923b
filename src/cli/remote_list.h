// `liteipc list --remote`: what the cluster offers and where, as the local bridge sees it (its
// status service): every host found in the store, its address and exports, which of them this
// host imports and under which name, the records ignored, and whether etcd answers.
//
// Why the bridge and not etcd itself: reaching etcd takes the bridge's etcd client certificate,
// which a member of the liteipc group must not hold (it could write records); and what matters
// to a client here is what this host's bridge found and imports, not only what is stored.
#pragma once

#include "call_command.h"

namespace liteipc::cli {

// Uses CallCommandOptions' address, timeout, json and service (the bridge's status service). An exit
// status (liteipc(1)).
int run_list_remote(const CallCommandOptions& options);

}  // namespace liteipc::cli
