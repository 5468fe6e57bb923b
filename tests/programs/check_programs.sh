#!/usr/bin/env bash
# What an administrator reads about each installed program, checked on the built programs and
# the manual pages in docs/man/:
#  - `--help` prints usage on stdout and exits 0, `--version` prints "NAME VERSION" (the project's
#    version) and exits 0, an unknown option exits 2 with the usage on stderr;
#  - every installed program and the loader's config file has a page; each page renders without
#    a warning (groff -ww, as lintian checks), has a NAME line lexgrog reads (what mandb indexes),
#    and Debian's sections: NAME, SYNOPSIS, DESCRIPTION, OPTIONS, EXIT STATUS, FILES (programs in
#    section 8 also SIGNALS where they handle any), SEE ALSO.
#
#   check_programs.sh VERSION MAN_DIR NAME=PROGRAM...
set -uo pipefail
version=$1 man_dir=$2
shift 2
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for pair in "$@"; do
    name=${pair%%=*} program=${pair#*=}
    out=$("$program" --help 2>/dev/null); status=$?
    [[ $status -eq 0 && $out == usage:* ]] || fail "$name --help: status $status, output: ${out:0:80}"
    out=$("$program" --version 2>/dev/null); status=$?
    [[ $status -eq 0 && $out == "$name $version"* ]] || fail "$name --version: status $status, '$out' (want '$name $version')"
    err=$("$program" --no-such-option 2>&1 >/dev/null); status=$?
    [[ $status -eq 2 && $err == *usage* ]] || fail "$name --no-such-option: status $status, stderr: ${err:0:80}"
    [[ -f $man_dir/$name.1 || -f $man_dir/$name.8 ]] || fail "$name has no page in $man_dir"
done
[[ -f $man_dir/loader.conf.5 ]] || fail "loader.conf has no page in $man_dir"

for page in "$man_dir"/*.[1-8]; do
    base=$(basename "$page")
    warnings=$(LC_ALL=C.UTF-8 groff -man -ww -z "$page" 2>&1)
    [[ -z $warnings ]] || fail "$base: groff: $warnings"
    warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
    [[ -z $warnings ]] || fail "$base: man -l: $warnings"
    lexgrog "$page" >/dev/null 2>&1 || fail "$base: lexgrog reads no NAME line"
    wanted=(NAME SYNOPSIS DESCRIPTION "SEE ALSO")
    case $base in
        *.1|*.8) wanted+=(OPTIONS "EXIT STATUS") ;;&
        *.5|*.8) wanted+=(FILES) ;;&
        liteipc-loader.8|liteipc-bridge.8) wanted+=(SIGNALS) ;;
    esac
    [[ $base == liteipc.7 ]] && wanted=(NAME DESCRIPTION "SEE ALSO")
    for section in "${wanted[@]}"; do
        grep -q "^\.SH \"\?$section\"\?\$" "$page" || fail "$base: no $section section"
    done
done

echo "checked $# programs and $(ls "$man_dir"/*.[1-8] | wc -l) pages: $failures failures"
[[ $failures -eq 0 ]]
