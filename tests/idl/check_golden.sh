#!/usr/bin/env bash
# liteipc-idl's output for each test interface, compared with golden/<interface>/ file by file.
#   check_golden.sh LITEIPC_IDL TESTS_IDL_DIR OUT_DIR [--update]
# --update rewrites the golden files from the current output (review the diff before committing).
# C++ and C for every interface.
set -euo pipefail
tool=$1 dir=$2 out=$3 update=${4:-}
failures=0
for idl in "$dir"/*.idl; do
    name=$(basename "$idl" .idl)
    languages=CXX,C
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
# An interface C cannot carry (a byte[] inside a container) is refused by name and position, and
# nothing is written.
rm -rf "${out:?}/refused" && mkdir -p "$out/refused"
printf 'interface OHOS.Test.IChunks {\n    void Put([in] List<byte[]> chunks);\n}\n' >"$out/IChunks.idl"
if err=$("$tool" --languages C --out "$out/refused" "$out/IChunks.idl" 2>&1); then
    echo "FAIL: IChunks.idl (List<byte[]>) was generated for C"
    failures=$((failures + 1))
elif [[ $err != *"IChunks.idl:2:14: 'byte[]' inside 'List<byte[]>' has no C form"* || -n $(ls -A "$out/refused") ]]; then
    echo "FAIL: IChunks.idl for C: wrong refusal ($err), or files written"
    failures=$((failures + 1))
fi
echo "golden: $failures failures"
[[ $failures -eq 0 ]]
