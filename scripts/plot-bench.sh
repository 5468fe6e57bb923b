#!/usr/bin/env bash
# Draws one ipc_bench run as two PNGs, one panel per regime (busy: receivers spin; blocking:
# receivers sleep), the commit, date and host in each title:
#   - round-trip time against payload size for every transport (log-log);
#   - liteipc's round trip over each peer's, by size (below 1: liteipc is faster; log y).
#
#   scripts/plot-bench.sh [bench-results.csv] [bench-rtt.png] [bench-rtt-ratio.png]
set -euo pipefail
csv=${1:-bench-results.csv}
png=${2:-${csv%.csv}-rtt.png}
ratio_png=${3:-${png%.png}-ratio.png}
[[ -f $csv ]] || { echo "plot-bench: no $csv (run scripts/bench.sh first)" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "plot-bench: gnuplot missing (apt-get install gnuplot-nox)" >&2; exit 1; }

commit=$(git -C "$(dirname "$0")/.." rev-parse --short HEAD 2>/dev/null || echo unknown)
stamp="commit $commit, $(date -u -r "$csv" '+%Y-%m-%d %H:%M UTC'), $(hostname)"

data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
# Per regime and transport: payload bytes, median RTT in us (successful rows only). Then per regime
# and peer: payload bytes, liteipc's median over the peer's, where both ran.
awk -F, -v dir="$data" 'NR > 1 && $4 == "ok" && $6 != "" {
    print $2, $6 >> (dir "/" $1 "__" $3 ".dat")
    rtt[$1 "," $2 "," $3] = $6
    seen[$1 "," $2 "," $3] = 1
}
END {
    for (key in seen) {
        split(key, k, ",")
        if (k[3] == "liteipc") continue
        mine = rtt[k[1] "," k[2] ",liteipc"]
        if (mine == "" || rtt[key] <= 0) continue
        print k[2], mine / rtt[key] >> (dir "/ratio_" k[1] "__" k[3] ".dat")
    }
}' "$csv"

# One gnuplot panel per regime from the files named <prefix><regime>__<transport>.dat.
panels() {
    local prefix=$1 what=$2
    for regime in busy blocking; do
        local lines=()
        for f in "$data/$prefix${regime}__"*.dat; do
            [[ -e $f ]] || continue
            sort -n -o "$f" "$f"
            local name=${f##*__}; name=${name%.dat}
            local width=1; [[ $name == liteipc* ]] && width=3  # liteipc and liteipc-mediated
            lines+=("'$f' using 1:2 with linespoints lw $width title '$name'")
        done
        [[ ${#lines[@]} -gt 0 ]] || continue
        local who; who=$([[ $regime == busy ]] && echo spinning || echo sleeping)
        echo "set title \"$what, receivers $who\\n$stamp\"; plot $(IFS=,; echo "${lines[*]}")"
    done
}

draw() {
    local out=$1 ylabel=$2 extra=$3; shift 3
    local plots=("$@")
    {
        echo "set terminal pngcairo size 1400,$((520 * ${#plots[@]})) font 'sans,10'"
        echo "set output '$out'"
        echo "set multiplot layout ${#plots[@]},1"
        echo "set logscale xy; set grid; set key outside right"
        echo "set xlabel 'payload (bytes)'; set ylabel '$ylabel'"
        echo "$extra"
        printf '%s\n' "${plots[@]}"
        echo "unset multiplot"
    } | gnuplot
    echo "plot-bench: $out"
}

mapfile -t absolute < <(panels "" "round trip")
[[ ${#absolute[@]} -gt 0 ]] || { echo "plot-bench: no round-trip rows in $csv" >&2; exit 1; }
draw "$png" "median RTT (us)" "" "${absolute[@]}"

mapfile -t ratios < <(panels "ratio_" "liteipc round trip / peer round trip")
if [[ ${#ratios[@]} -gt 0 ]]; then
    draw "$ratio_png" "liteipc / peer (below 1: liteipc faster)" "set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 2" "${ratios[@]}"
else
    echo "plot-bench: no liteipc rows in $csv: no ratio plot"
fi
