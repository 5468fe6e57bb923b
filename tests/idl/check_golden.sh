#!/usr/bin/env bash
# liteipc-idl's output for each test interface, compared with golden/<interface>/ file by file.
#   check_golden.sh LITEIPC_IDL TESTS_IDL_DIR OUT_DIR [--update]
# --update rewrites the golden files from the current output (review the diff before committing).
set -euo pipefail
tool=$1 dir=$2 out=$3 update=${4:-}
failures=0
for idl in "$dir"/*.idl; do
    name=$(basename "$idl" .idl)
    rm -rf "${out:?}/$name" && mkdir -p "$out/$name"
    "$tool" --out "$out/$name" "$idl"
    if [[ $update == --update ]]; then
        rm -rf "${dir:?}/golden/$name" && mkdir -p "$dir/golden/$name" && cp "$out/$name"/* "$dir/golden/$name/"
        continue
    fi
    if ! diff -ru "$dir/golden/$name" "$out/$name"; then
        echo "FAIL: $name differs from golden/$name (check_golden.sh ... --update once the change is meant)"
        failures=$((failures + 1))
    fi
done
echo "golden: $failures failures"
[[ $failures -eq 0 ]]
