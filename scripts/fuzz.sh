#!/usr/bin/env bash
# Fuzzes the marshalling reader (C++ Reader and IpcIo C face) and the IDL parser with libFuzzer +
# ASan + UBSan.
#   scripts/fuzz.sh [seconds]     (default 60, for each target)
# Builds with clang in build-fuzz/, starts from the committed seeds in fuzz/corpus/<target>/, keeps
# new inputs in fuzz/corpus-run/<target>/ (ignored by git) and fails on any finding; the crashing
# input is left in build-fuzz/findings/.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
jobs="${FUZZ_BUILD_JOBS:-2}"

if ! command -v clang++ >/dev/null 2>&1; then
    echo "fuzz.sh: clang++ not found; install clang and libclang-rt-dev (Debian: clang-14 libclang-rt-14-dev)" >&2
    exit 1
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DLITEIPC_BUILD_FUZZ=ON -DLITEIPC_BUILD_TESTS=OFF -DLITEIPC_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target parcel_fuzz idl_fuzz

for target in parcel idl; do
    mkdir -p "$root/fuzz/corpus-run/$target" "$build/findings"
    echo "fuzz.sh: running ${target}_fuzz for ${seconds}s"
    # libFuzzer exits non-zero on a crash, a leak, a timeout or a sanitizer report.
    "$build/fuzz/${target}_fuzz" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/findings/" \
        "$root/fuzz/corpus-run/$target" "$root/fuzz/corpus/$target"
done
echo "fuzz.sh: no findings in ${seconds}s per target"
