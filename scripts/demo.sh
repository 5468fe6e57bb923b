#!/usr/bin/env bash
# The main job: builds liteipc, prepares the host, starts liteipc-loader and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build}

scripts/deps.sh
scripts/setup-env.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"

SOCKET=/run/liteipc/liteipc.sock
started=""
if ! "$BUILD"/src/cli/liteipc status >/dev/null 2>&1; then
  "$BUILD"/src/loader/liteipc-loader --foreground --log-level info &
  started=$!
  for _ in $(seq 100); do [ -S "$SOCKET" ] && break; sleep 0.05; done
  echo "demo: liteipc-loader started (pid $started)"
fi
cleanup() { if [ -n "$started" ]; then kill "$started"; wait "$started" 2>/dev/null || true; fi; }
trap cleanup EXIT

"$BUILD"/examples/liteipc-demo
echo
echo "demo: the pinned maps, as bpftool sees them:"
bpftool map show pinned /sys/fs/bpf/liteipc/procs
bpftool map dump pinned /sys/fs/bpf/liteipc/services | head -40
