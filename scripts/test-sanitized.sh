#!/usr/bin/env bash
# Builds every target with a sanitizer and runs the unit and system tests under it.
#   scripts/test-sanitized.sh address   ASan + UBSan, the first report aborts the process
#   scripts/test-sanitized.sh thread    TSan
# Every process (tests, test peers, the loader they start) reports to the test's stderr; any report
# in any test's output fails the run, even one from a process whose exit status no test looks at.
# Extra arguments go to ctest (e.g. -R system.CallTest).
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
cmake --build "$BUILD" -j"$(nproc)" --target liteipc_unit_tests liteipc_system_tests liteipc_skeleton_tests liteipc-loader liteipc_test_peer \
      liteipc_bridge_tests

export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# atexit_sleep_ms=0: TSan otherwise sleeps 1 s in exit(), and the tests time how soon a death is seen.
export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:atexit_sleep_ms=0"
# The reports name files and lines.
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer || true)}

status=0
ctest --test-dir "$BUILD" -L 'unit|system' --output-on-failure --timeout 1200 "$@" || status=$?

# Test peers and the loader write to the test's stderr, which ctest keeps for every test, passed
# or not: a report there fails the run even when no test looked at that process's exit status.
LOG="$BUILD/Testing/Temporary/LastTest.log"
REPORTS="$BUILD/sanitizer-reports.txt"
grep -n -B2 -A40 -E 'runtime error:|ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|ThreadSanitizer: ' "$LOG" > "$REPORTS" || true
if [ -s "$REPORTS" ]; then
  count=$(grep -c -E 'runtime error:|ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|ThreadSanitizer: ' "$LOG" || true)
  echo "test-sanitized ($SANITIZER): $count report(s) in $LOG (all of them in $REPORTS)" >&2
  status=1
fi
if [ "$status" -eq 0 ]; then echo "test-sanitized ($SANITIZER): clean"; fi
exit "$status"
