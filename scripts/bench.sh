#!/usr/bin/env bash
# Build ipc_bench and run it: round trip and throughput of liteipc's peers (and liteipc, when
# its transport is registered), one run, tables and ratios on stdout, all figures in a CSV.
#
#   scripts/bench.sh                      full run (a few minutes on 2 cores)
#   scripts/bench.sh --quick              CI run (well under a minute)
#   scripts/bench.sh --sizes 64,1m --transports shm-futex,unix-seqpacket
#   BUILD_DIR=/tmp/b scripts/bench.sh     build somewhere else (default: build-bench)
#   JOBS=1 scripts/bench.sh               parallel build jobs (default: 2)
#
# Every argument goes to ipc_bench (ipc_bench --help lists them). The CSV lands in the current
# directory as bench-results.csv unless --csv says otherwise.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$repo/build-bench}"
jobs="${JOBS:-2}"

# Configure once; later runs only rebuild the benchmark.
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLITEIPC_BUILD_TESTS=OFF -DLITEIPC_BUILD_BENCH=ON
fi
log="$build_dir/bench-build.log"
if ! cmake --build "$build_dir" -j"$jobs" --target ipc_bench >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "bench.sh: building ipc_bench failed (full log: $log)" >&2
  exit 1
fi

bench="$build_dir/bench/rtt/ipc_bench"
echo "ipc_bench: $bench $*" >&2
exec "$bench" "$@"
