#!/usr/bin/env bash
# liteipc-idl's output for each test interface, compared with golden/<interface>/ file by file.
#   check_golden.sh LITEIPC_IDL TESTS_IDL_DIR OUT_DIR [--update]
# --update rewrites the golden files from the current output (review the diff before committing).
# C++ and C for every interface; ISensorEvents with --topic as well.
set -euo pipefail
tool=$1 dir=$2 out=$3 update=${4:-}
failures=0
for idl in "$dir"/*.idl; do
    name=$(basename "$idl" .idl)
    languages=CXX,C
    topic=()
    [[ $name == ISensorEvents ]] && topic=(--topic)
    rm -rf "${out:?}/$name" && mkdir -p "$out/$name"
    "$tool" --languages "$languages" "${topic[@]}" --versions "$dir/versions" --out "$out/$name" "$idl"
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
# What a topic cannot carry is refused by name and position (--topic), and nothing is written.
refused() {  # refused NAME IDL-TEXT EXPECTED-ERROR
    rm -rf "${out:?}/refused" && mkdir -p "$out/refused"
    printf '%b' "$2" >"$out/$1.idl"
    if err=$("$tool" --topic --out "$out/refused" "$out/$1.idl" 2>&1); then
        echo "FAIL: $1.idl was generated for a topic"
        failures=$((failures + 1))
    elif [[ $err != *"$3"* || -n $(ls -A "$out/refused") ]]; then
        echo "FAIL: $1.idl for a topic: wrong refusal ($err), or files written"
        failures=$((failures + 1))
    fi
}
refused ITwoWay 'interface OHOS.Test.ITwoWay {\n    [oneway] void Note([in] int a);\n    int Ask([in] int a);\n}\n' \
    "ITwoWay.idl:3:5: 'Ask' is not oneway: a topic carries oneway methods only"
refused IWithFd '[oneway] interface OHOS.Test.IWithFd {\n    void Share([in] int a, [in] List<FileDescriptor> fds);\n}\n' \
    "IWithFd.idl:2:28: 'FileDescriptor' in parameter 'fds' cannot travel on a topic"
refused IWithListener 'interface OHOS.Test.IListener;\n[oneway] interface OHOS.Test.IWithListener {\n    void Watch([in] IListener listener);\n}\n' \
    "IWithListener.idl:3:16: 'IListener' in parameter 'listener' cannot travel on a topic"
refused ICreate '[oneway] interface OHOS.Test.ICreate {\n    void create([in] int a);\n}\n' \
    "ICreate.idl:2:5: 'create' is reserved in the generated topic classes"
echo "golden: $failures failures"
[[ $failures -eq 0 ]]
