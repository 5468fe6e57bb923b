#!/usr/bin/env bash
# Draws round-trip time against payload size for every transport of one ipc_bench run, one
# panel per regime (busy: receivers spin; blocking: receivers sleep), log-log, as a PNG.
#
#   scripts/plot-bench.sh [bench-results.csv] [bench-rtt.png]
set -euo pipefail
csv=${1:-bench-results.csv}
png=${2:-${csv%.csv}-rtt.png}
[[ -f $csv ]] || { echo "plot-bench: no $csv (run scripts/bench.sh first)" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "plot-bench: gnuplot missing (apt-get install gnuplot-nox)" >&2; exit 1; }

data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
# One file per regime and transport: payload bytes, median RTT in us (successful rows only).
awk -F, -v dir="$data" 'NR > 1 && $4 == "ok" && $6 != "" {
    file = dir "/" $1 "__" $3 ".dat"
    print $2, $6 >> file
}' "$csv"

plots=()
for regime in busy blocking; do
    lines=()
    for f in "$data/${regime}__"*.dat; do
        [[ -e $f ]] || continue
        sort -n -o "$f" "$f"
        name=${f##*__}; name=${name%.dat}
        width=1; [[ $name == liteipc* ]] && width=3  # liteipc and liteipc-mediated
        lines+=("'$f' using 1:2 with linespoints lw $width title '$name'")
    done
    [[ ${#lines[@]} -gt 0 ]] || continue
    plots+=("set title 'round trip, receivers $([[ $regime == busy ]] && echo spinning || echo sleeping)'; plot $(IFS=,; echo "${lines[*]}")")
done
[[ ${#plots[@]} -gt 0 ]] || { echo "plot-bench: no round-trip rows in $csv" >&2; exit 1; }

{
    echo "set terminal pngcairo size 1400,$((520 * ${#plots[@]})) font 'sans,10'"
    echo "set output '$png'"
    echo "set multiplot layout ${#plots[@]},1"
    echo "set logscale xy; set grid; set key outside right"
    echo "set xlabel 'payload (bytes)'; set ylabel 'median RTT (us)'"
    printf '%s\n' "${plots[@]}"
    echo "unset multiplot"
} | gnuplot
echo "plot-bench: $png"
