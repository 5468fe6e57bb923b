#!/usr/bin/env bash
# The bench gate: a short interleaved ipc_bench run (64 B and 1 MiB, liteipc against the in-place
# and copying shared-memory floors, 3 rounds, medians) that fails when liteipc crosses a guard
# loose enough for a noisy shared host but tight enough to catch a lost zero-copy or fast path
# (the guards: bench/rtt/report.cpp, kGuards; why: docs/BENCHMARKS.md). The gate fails only when
# a guard is crossed in three runs in a row: a noisy moment of a shared host (a VM moving between
# its fast and slow states mid-run) should not fail a build, and a lost zero-copy or fast path
# crosses every time.
#
#   scripts/bench-check.sh            build ipc_bench in build/ (BUILD_DIR) if needed, run the gate
#
# Needs root (the run starts its own liteipc-loader). Exit 0: passed; 1: a job failed or the
# build did; 3: a guard was crossed in each of three runs.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
started=$SECONDS

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target ipc_bench >/dev/null
bench=$build/bench/rtt/ipc_bench
csv=$(mktemp --suffix=.csv)
trap 'rm -f "$csv"' EXIT

for attempt in 1 2 3; do
  status=0
  "$bench" --gate --csv "$csv" || status=$?
  if [[ $status -ne 3 ]]; then break; fi
  [[ $attempt -lt 3 ]] && echo "bench-check: a guard was crossed (run $attempt of 3); running the gate again"
done
case $status in
  0) echo "bench-check: passed ($((SECONDS - started)) s)" ;;
  3) echo "bench-check: FAILED: a guard crossed in three runs in a row ($((SECONDS - started)) s)" >&2 ;;
  *) echo "bench-check: FAILED: ipc_bench exited $status ($((SECONDS - started)) s)" >&2 ;;
esac
exit "$status"
