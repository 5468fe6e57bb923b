#!/usr/bin/env bash
# Builds every target with a sanitizer and runs the unit and system tests under it.
#   scripts/test-sanitized.sh address   ASan + UBSan, the first report aborts the process
#   scripts/test-sanitized.sh thread    TSan
# Every process (tests, test peers, the loader they start) writes its reports to its own file
# under $BUILD/sanitizer-reports; any report fails the run, even one from a process whose exit
# status no test looks at. Extra arguments go to ctest (e.g. -R system.CallTest).
set -euo pipefail
cd "$(dirname "$0")/.."
SANITIZER=${1:?usage: $0 address|thread [ctest arguments]}
shift
case "$SANITIZER" in
  address) BUILD=${BUILD_DIR:-build-asan} ;;
  thread) BUILD=${BUILD_DIR:-build-tsan} ;;
  *) echo "test-sanitized: unknown sanitizer '$SANITIZER' (address or thread)" >&2; exit 2 ;;
esac

scripts/deps.sh
if [ "$(id -u)" -eq 0 ]; then scripts/setup-env.sh; fi
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLITEIPC_SANITIZE="$SANITIZER" \
      -DLITEIPC_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target liteipc_unit_tests liteipc_system_tests liteipc-loader liteipc_test_peer

REPORTS="$PWD/$BUILD/sanitizer-reports"
rm -rf "$REPORTS"
mkdir -p "$REPORTS"
# log_path: one file per process (<prefix>.<pid>), so reports from peers and the loader are kept.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1:log_path=$REPORTS/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$REPORTS/ubsan"
export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:history_size=4:log_path=$REPORTS/tsan"
# The reports name files and lines.
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer || true)}

status=0
ctest --test-dir "$BUILD" -L 'unit|system' --output-on-failure --timeout 1200 "$@" || status=$?

shopt -s nullglob
reports=("$REPORTS"/*)
if [ ${#reports[@]} -gt 0 ]; then
  for report in "${reports[@]}"; do
    echo "==== $report"
    cat "$report"
  done
  echo "test-sanitized ($SANITIZER): ${#reports[@]} process(es) reported; see above and $REPORTS" >&2
  status=1
fi
if [ "$status" -eq 0 ]; then echo "test-sanitized ($SANITIZER): clean"; fi
exit "$status"
