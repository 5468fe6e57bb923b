#!/usr/bin/env bash
# Rules of the house that a reader would otherwise have to enforce, checked on the sources.
#
#   scripts/check-house.sh [SOURCE_DIR]
#
# Each rule is one function that prints a FAIL line per offence; the script fails if any did.
set -uo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# One place per process talks to the kernel plane. In libliteipc that is src/runtime/kernel/:
# its kernel seam runs the BPF programs and its RingBuffer is the one user of libbpf's ring
# buffer API, which the loader and the CLI share. The loader runs its own proc_ctl program in
# src/loader/kernel_plane.cpp. Tests and benches are processes of their own (the tests run
# pinned programs with forged contexts on purpose) and are not checked.
check_kernel_seam() {
    local file
    while IFS= read -r file; do
        case $file in
            src/runtime/kernel/ring_buffer.cpp) ;;
            *) fail "$file uses libbpf's ring buffer API: use detail::RingBuffer (src/runtime/kernel/ring_buffer.h)" ;;
        esac
    done < <(grep -rlE 'ring_buffer__[a-z_]+\(' src)
    while IFS= read -r file; do
        case $file in
            src/runtime/kernel/kernel_seam.cpp | src/loader/kernel_plane.cpp) ;;
            *) fail "$file runs a BPF program: go through detail::KernelSeam (src/runtime/kernel/kernel_seam.h)" ;;
        esac
    done < <(grep -rlE 'bpf_prog_test_run(_opts)?\(' src)
}

# No source file over 600 lines: past that a reader loses the thread. The generated golden files
# under tests/idl/golden are liteipc-idl's output, compared byte for byte, and are not checked.
check_file_lengths() {
    local lines file
    while read -r lines file; do
        [[ $file == total ]] && continue
        if ((lines > 600)); then fail "$file has $lines lines (at most 600: split it by role)"; fi
    done < <(find src bpf include bench tests -type f \( -name '*.c' -o -name '*.cpp' -o -name '*.h' \) \
                 -not -path 'tests/idl/golden/*' -print0 | xargs -0 wc -l)
}

check_kernel_seam
check_file_lengths
if ((failures > 0)); then
    echo "check-house: $failures failures"
    exit 1
fi
echo "check-house: ok"
