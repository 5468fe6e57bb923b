#!/usr/bin/env bash
# Runs one benchmark program against a private liteipc-loader on its own pin root and socket
# (LITEIPC_SOCKET and LITEIPC_PIN_ROOT name it), then stops and unloads it. As root.
#   scripts/bench-on-loader.sh TARGET PROGRAM [BUILD_DIR]
# TARGET is the CMake target, PROGRAM its path under the build directory; BUILD_DIR defaults to
# build-bench, configured with the benchmarks.
set -euo pipefail
target=$1 program=$2
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${3:-$root/build-bench}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLITEIPC_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target "$target" liteipc-loader
pin_root=/sys/fs/bpf/liteipc-$target-$$
socket=$(mktemp -u "/tmp/liteipc-$target.XXXXXX.sock")
"$build/src/loader/liteipc-loader" --pin-root "$pin_root" --socket "$socket" >/dev/null 2>&1 &
loader=$!
cleanup() {
    kill "$loader" 2>/dev/null && wait "$loader" 2>/dev/null
    "$build/src/loader/liteipc-loader" --unload --pin-root "$pin_root" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.05; done
LITEIPC_SOCKET=$socket LITEIPC_PIN_ROOT=$pin_root "$build/$program"
