#!/usr/bin/env bash
# The chaos test for as long as asked (seconds; default 600): services, clients and the loader
# killed, stopped and restarted under full load, then every invariant checked. Needs root.
#   scripts/chaos.sh 1800            LITEIPC_CHAOS_SEED=7 scripts/chaos.sh 120
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_WANTED=${1:-600}
BUILD=${BUILD_DIR:-build}

scripts/deps.sh
scripts/setup-env.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target liteipc_chaos_test liteipc_test_peer liteipc-loader
LITEIPC_CHAOS_SECONDS="$SECONDS_WANTED" "$BUILD"/tests/liteipc_chaos_test
