#!/usr/bin/env bash
# liteipc-idl's output for each test interface, compared with golden/<interface>/ file by file.
#   check_golden.sh LITEIPC_IDL TESTS_IDL_DIR OUT_DIR [--update]
# --update rewrites the golden files from the current output (review the diff before committing).
# C++ for every interface; C too for those C carries (c_interfaces below).
set -euo pipefail
tool=$1 dir=$2 out=$3 update=${4:-}
c_interfaces=" IPlainTypes IListener ICallback "
failures=0
for idl in "$dir"/*.idl; do
    name=$(basename "$idl" .idl)
    languages=CXX
    [[ $c_interfaces == *" $name "* ]] && languages=CXX,C
    rm -rf "${out:?}/$name" && mkdir -p "$out/$name"
    "$tool" --languages "$languages" --versions "$dir/versions" --out "$out/$name" "$idl"
    if [[ $update == --update ]]; then
        rm -rf "${dir:?}/golden/$name" && mkdir -p "$dir/golden/$name" && cp "$out/$name"/* "$dir/golden/$name/"
        continue
    fi
    if ! diff -ru "$dir/golden/$name" "$out/$name"; then
        echo "FAIL: $name differs from golden/$name (check_golden.sh ... --update once the change is meant)"
        failures=$((failures + 1))
    fi
done
# An interface C cannot carry is refused by name and position, and nothing is written.
rm -rf "${out:?}/refused" && mkdir -p "$out/refused"
if err=$("$tool" --languages C --out "$out/refused" "$dir/IAllTypes.idl" 2>&1); then
    echo "FAIL: IAllTypes.idl (sequenceables, nested containers) was generated for C"
    failures=$((failures + 1))
elif [[ $err != *"IAllTypes.idl:"*"has no C form"* || -n $(ls -A "$out/refused") ]]; then
    echo "FAIL: IAllTypes.idl for C: wrong refusal ($err), or files written"
    failures=$((failures + 1))
fi
echo "golden: $failures failures"
[[ $failures -eq 0 ]]
