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

# A service that stays up while we look at the kernel's tables...
"$BUILD"/examples/liteipc-cpp-echo_service &
echo_service=$!
sleep 0.5
echo
echo "demo: liteipc status, with an echo service running:"
"$BUILD"/src/cli/liteipc status
echo
echo "demo: the pinned maps carry BTF, so bpftool prints named fields:"
bpftool map show pinned /sys/fs/bpf/liteipc/procs
bpftool map dump pinned /sys/fs/bpf/liteipc/services
slot=$("$BUILD"/src/cli/liteipc status --json | sed -n 's/.*"slot":\([0-9]*\),"pid":'"$echo_service"'.*/\1/p')
bpftool map lookup pinned /sys/fs/bpf/liteipc/procs key $((slot & 255)) $((slot >> 8)) 0 0
"$BUILD"/examples/liteipc-cpp-echo_client
kill "$echo_service"; wait "$echo_service" 2>/dev/null || true

# ...then the tour: calls, zero-copy, fd passing, and a death observed by the kernel.
echo
"$BUILD"/examples/liteipc-demo
