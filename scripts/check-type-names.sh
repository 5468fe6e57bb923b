#!/usr/bin/env bash
# One name per role: lists the type names defined more than once in src/ and the public C++
# headers (include/liteipc/*.h), and fails if there is any. A reader who meets `Reply` should not
# have to ask which of two it is.
#
#   scripts/check-type-names.sh [REPOSITORY]      (ctest runs it as unit.type_names)
#
# Counted: classes, structs, unions, enums and aliases (using/typedef) at namespace or class scope,
# found by universal-ctags; types local to a function are not. Not counted as a second definition:
#  - a nested `Impl` (the pimpl idiom: it is always its owner's, Connection::Impl);
#  - an alias that repeats another's target word for word (`using json = nlohmann::ordered_json`
#    in each CLI file names one thing);
#  - the C idiom `typedef struct X X;` beside the definition of struct X.
# Exit status 0 when every name is defined once, 1 when some are not (each listed with where),
# 2 when ctags is missing.
set -uo pipefail
repo=$(realpath "${1:-$(dirname "$0")/..}")
cd "$repo" || exit 2
if ! command -v ctags >/dev/null || ! ctags --version 2>/dev/null | grep -q 'Universal Ctags'; then
    echo "check-type-names: universal-ctags is missing (apt-get install universal-ctags; scripts/deps.sh)" >&2
    exit 2
fi

headers=(include/liteipc/*.h)
found=$(mktemp /tmp/check-type-names.XXXXXX)
trap 'rm -f "$found"' EXIT
# kind|name|scope kind|file:line, one line per type defined outside a function.
ctags -R -x --languages=C,C++ --langmap=C++:+.h --kinds-C=gstu --kinds-C++=cgstu \
      --_xformat='%K|%N|%{scopeKind}|%F:%n' src "${headers[@]}" 2>/dev/null |
    awk -F'|' '$3 != "function" && $3 != "prototype" && !($2 == "Impl" && $3 != "namespace" && $3 != "")' |
    while IFS='|' read -r kind name _ where; do
        # What an alias stands for, so that two aliases of one target count once; any other
        # definition is its own.
        target=$where
        if [ "$kind" = typedef ]; then
            line=$(sed -n "${where##*:}p" "${where%:*}")
            if [[ $line =~ typedef[[:space:]]+(struct|union|enum)[[:space:]]+$name[[:space:]]+$name[[:space:]]*\; ]]; then
                continue  # the C idiom: the struct's own definition is counted
            fi
            target=$(sed -E 's/.*=//; s/;.*//; s/[[:space:]]+//g' <<<"$line")
        fi
        echo "$name|$kind:$target|$where"
    done | sort -t'|' -k1,1 -k2,2 >"$found"

# A name is defined twice when it has two entries that are not one alias repeated.
duplicates=$(awk -F'|' '
    { key = $1 "|" $2; if (!(key in seen)) { seen[key] = 1; meanings[$1]++ } }
    END { for (n in meanings) if (meanings[n] > 1) print n }' "$found" | sort)

if [ -z "$duplicates" ]; then
    echo "check-type-names: $(cut -d'|' -f1 "$found" | sort -u | wc -l) type names, each defined once"
    exit 0
fi
echo "check-type-names: type names defined more than once (rename one, saying which side holds it and when):"
while read -r name; do
    echo "  $name"
    awk -F'|' -v n="$name" '$1 == n { sub(/:.*/, "", $2); print "    " $3 "  (" $2 ")" }' "$found"
done <<<"$duplicates"
exit 1
