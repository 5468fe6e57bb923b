# Sourced by the scripts that test an installation: one "ok" or "FAIL" line per check, a count at
# the end. The caller sets `work` (a scratch directory) and `checks_name` (its name in the count).
passed=0
failed=0

pass() { echo "  ok    $1"; passed=$((passed + 1)); }
failure() { echo "  FAIL  $1"; failed=$((failed + 1)); [[ -n ${2:-} && -f $2 ]] && sed 's/^/        /' "$2" | tail -20; }
# check NAME COMMAND...: runs the command, its output in $work/last.log (shown when it fails).
check() {
    local name=$1; shift
    if "$@" >"$work/last.log" 2>&1; then pass "$name"; else failure "$name" "$work/last.log"; fi
}
# transcript NAME COMMAND...: as check, and the whole output is shown whatever the result.
transcript() {
    local name=$1; shift
    if "$@" >"$work/last.log" 2>&1; then pass "$name"; else echo "  FAIL  $name"; failed=$((failed + 1)); fi
    sed 's/^/        /' "$work/last.log"
}
finish() {
    echo "$checks_name: $passed passed, $failed failed"
    [[ $failed -eq 0 ]]
    exit
}
