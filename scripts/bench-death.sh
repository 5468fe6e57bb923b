#!/usr/bin/env bash
# Build death_bench and run it as root: SIGKILL of a liteipc service -> the on_death callback and
# the failure (dead object) of a call pending on it, against the raw
# kernel floor (a ringbuf fed by the benchmark's own sched_process_exit program) and waitpid, on
# the same kills, in one run. It starts and stops its own liteipc-loader on a private pin root.
#
#   scripts/bench-death.sh                    200 kills, per-kill figures in death-results.csv
#   scripts/bench-death.sh --kills 50 --csv /tmp/d.csv
#   BUILD_DIR=/tmp/b scripts/bench-death.sh   build somewhere else (default: build-bench)
#   JOBS=1 scripts/bench-death.sh             parallel build jobs (default: 2)
#
# Every argument goes to death_bench (death_bench --help lists them).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$repo/build-bench}"
jobs="${JOBS:-2}"

log="$build_dir/death-bench-build.log"
mkdir -p "$build_dir"
# Configure every time (quick once configured): a build tree made before bench/death existed
# has no death_bench target until it is regenerated.
if [[ -f "$build_dir/CMakeCache.txt" ]]; then
  configure=(cmake -S "$repo" -B "$build_dir")
else
  configure=(cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo
             -DLITEIPC_BUILD_TESTS=OFF -DLITEIPC_BUILD_BENCH=ON)
fi
if ! "${configure[@]}" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "bench-death.sh: configuring $build_dir failed (full log: $log)" >&2
  exit 1
fi
if ! cmake --build "$build_dir" -j"$jobs" --target death_bench liteipc-loader >>"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "bench-death.sh: building death_bench failed (full log: $log)" >&2
  exit 1
fi

bench="$build_dir/bench/death/death_bench"
echo "death_bench: $bench $*" >&2
if [[ $EUID -ne 0 ]]; then
  exec sudo -- "$bench" "$@"
fi
exec "$bench" "$@"
