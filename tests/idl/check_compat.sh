#!/usr/bin/env bash
# liteipc-idl's version rules, as CI holds the project's interfaces to them:
#  - each test interface (tests/idl/*.idl) serves clients of its last frozen version
#    (tests/idl/versions/NAME/N.idl), checked by freezing it onto a copy of versions/;
#  - against compat/base.idl, an appended method is accepted and a reordered, retyped, removed or
#    newly oneway method is refused, each with its own message.
#   check_compat.sh LITEIPC_IDL TESTS_IDL_DIR WORK_DIR
set -uo pipefail
tool=$1 dir=$2 work=$3
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

rm -rf "${work:?}" && mkdir -p "$work" && cp -r "$dir/versions" "$work/versions"
for idl in "$dir"/*.idl; do
    out=$("$tool" --freeze "$work/versions" "$idl" 2>&1) || fail "$(basename "$idl"): $out"
    echo "$out"
    [[ $out == *unchanged* ]] || echo "note: $(basename "$idl") changed since its last frozen version (freeze it: liteipc-idl --freeze tests/idl/versions $(basename "$idl"))"
done

"$tool" --check-compat "$dir/compat/base.idl" "$dir/compat/appended.idl" || fail "an appended method was refused"
for change in reordered retyped removed made_oneway; do
    if err=$("$tool" --check-compat "$dir/compat/base.idl" "$dir/compat/$change.idl" 2>&1); then
        fail "$change.idl was accepted"
    else
        echo "refused $change.idl: ${err%%$'\n'*}"
        [[ $err == *"incompatible with"* ]] || fail "$change.idl: no reason given: $err"
    fi
done
echo "compat: $failures failures"
[[ $failures -eq 0 ]]
