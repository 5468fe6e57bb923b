#!/usr/bin/env bash
# The C API round trip (bench/capi): a private liteipc-loader on its own pin root and socket, a C
# API service in a child process, medians of 20000 small calls and 2000 calls carrying 64 KiB
# data buffers each way. As root.
#   scripts/bench-capi.sh [BUILD_DIR]     (default: build-bench, configured with the benchmarks)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-bench}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLITEIPC_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target capi_bench liteipc-loader
pin_root=/sys/fs/bpf/liteipc-capi-bench-$$
socket=$(mktemp -u /tmp/liteipc-capi-bench.XXXXXX.sock)
"$build/src/loader/liteipc-loader" --pin-root "$pin_root" --socket "$socket" >/dev/null 2>&1 &
loader=$!
cleanup() {
    kill "$loader" 2>/dev/null && wait "$loader" 2>/dev/null
    "$build/src/loader/liteipc-loader" --unload --pin-root "$pin_root" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.05; done
LITEIPC_SOCKET=$socket LITEIPC_PIN_ROOT=$pin_root "$build/bench/capi/capi_bench"
