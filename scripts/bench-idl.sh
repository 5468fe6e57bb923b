#!/usr/bin/env bash
# Generated proxies and stubs against hand-written calls (bench/idl): a private liteipc-loader on
# its own pin root and socket, both services in a child process, called by turns. As root.
#   scripts/bench-idl.sh [BUILD_DIR]     (default: build-bench, configured with the benchmarks)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-bench}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLITEIPC_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target idl_bench liteipc-loader
pin_root=/sys/fs/bpf/liteipc-idl-bench-$$
socket=$(mktemp -u /tmp/liteipc-idl-bench.XXXXXX.sock)
"$build/src/loader/liteipc-loader" --pin-root "$pin_root" --socket "$socket" >/dev/null 2>&1 &
loader=$!
cleanup() {
    kill "$loader" 2>/dev/null && wait "$loader" 2>/dev/null
    "$build/src/loader/liteipc-loader" --unload --pin-root "$pin_root" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.05; done
LITEIPC_SOCKET=$socket LITEIPC_PIN_ROOT=$pin_root "$build/bench/idl/idl_bench"
