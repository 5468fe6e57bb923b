#!/usr/bin/env bash
# The export policy, checked on the built libraries: libliteipc.so and libliteipc_skeleton.so
# export their public API and nothing else.
#
#   check_exports.sh CXX INCLUDE_DIR GENERATED_INCLUDE_DIR LIBLITEIPC LIBLITEIPC_SKELETON
#
# What "public" means comes from the headers, not from a list kept by hand:
#  - no exported symbol is an internal one (liteipc::detail::, liteipc::capi::, a class's Impl);
#  - every C function a public header marks LITEIPC_API is exported, by libliteipc_skeleton for
#    liteipc/rpc/ (IpcIoInit, which both C APIs declare, by libliteipc), else by libliteipc;
#  - every exported C function and every exported liteipc:: symbol belongs to a declaration a
#    public header marks LITEIPC_API (a function, or a member of a marked class);
#  - every library function that the public headers' inline code calls (compiled with
#    -fkeep-inline-functions) is exported: a program that includes them links.
set -uo pipefail
cxx=$1 include=$2 generated_include=$3 liteipc=$4 skeleton=$5
work=$(mktemp -d /tmp/liteipc-exports.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

exported() { nm -D --defined-only "$1" | awk '$2 ~ /^[TWVBDRu]$/ {print $3}' | sort -u; }
exported "$liteipc" >"$work/liteipc.raw"
exported "$skeleton" >"$work/skeleton.raw"
c++filt <"$work/liteipc.raw" >"$work/liteipc.sym"
c++filt <"$work/skeleton.raw" >"$work/skeleton.sym"
echo "libliteipc.so exports $(wc -l <"$work/liteipc.sym") symbols, libliteipc_skeleton.so $(wc -l <"$work/skeleton.sym")"

# 1. Nothing internal.
for lib in liteipc skeleton; do
    if grep -E 'liteipc::(detail|capi)::|::Impl\b|::State\b|::Owner\b' "$work/$lib.sym" >"$work/internal"; then
        fail "lib$lib exports internal symbols:"; sed 's/^/    /' "$work/internal" | head -20
    fi
done

# The declarations marked LITEIPC_API: C functions (liteipc/lite, liteipc/rpc, async.h, broadcast.h), C++
# functions and classes (the rest of liteipc/).
public_headers=$(find "$include/liteipc" -name '*.h')
c_headers=$(find "$include/liteipc/lite" "$include/liteipc/rpc" -name '*.h'; echo "$include/liteipc/async.h"; echo "$include/liteipc/broadcast.h")
marked_functions() { grep -hoE 'LITEIPC_API [^(;]*[ *&]([A-Za-z_][A-Za-z0-9_]*)\(' "$@" | sed -E 's/.*[ *&]([A-Za-z_][A-Za-z0-9_]*)\($/\1/' | sort -u; }
# shellcheck disable=SC2086 # lists of paths
marked_functions $c_headers >"$work/c_functions"
marked_functions $(find "$include/liteipc/rpc" -name '*.h') >"$work/c_rpc_functions"
cxx_headers=$(echo "$public_headers" | grep -vE '/(lite|rpc)/|/(async|broadcast)\.h$')
# shellcheck disable=SC2086
marked_functions $cxx_headers >"$work/cxx_functions"
# shellcheck disable=SC2086
grep -hoE '(class|struct) LITEIPC_API [A-Za-z_][A-Za-z0-9_]*' $cxx_headers | awk '{print $3}' | sort -u >"$work/cxx_classes"
echo "public headers mark $(wc -l <"$work/c_functions") C functions, $(wc -l <"$work/cxx_functions") C++ functions, $(wc -l <"$work/cxx_classes") C++ classes"
[[ -s $work/c_functions && -s $work/cxx_classes ]] || fail "no LITEIPC_API declaration found under $include"

# 2. Every marked C function exported by its library.
while read -r name; do
    if grep -qx "$name" "$work/c_rpc_functions" && ! grep -qx "$name" "$work/skeleton.raw"; then
        # Declared by the newer C API: the skeleton's, unless libliteipc (the older API) has it.
        grep -qx "$name" "$work/liteipc.raw" || fail "libliteipc_skeleton.so does not export $name"
    elif ! grep -qx "$name" "$work/c_rpc_functions" && ! grep -qx "$name" "$work/liteipc.raw"; then
        fail "libliteipc.so does not export $name"
    fi
done <"$work/c_functions"

# 3. Every exported symbol is a marked declaration (or what the compiler emits for one).
classes_re=$(paste -sd'|' "$work/cxx_classes")
functions_re=$(paste -sd'|' "$work/cxx_functions")
for lib in liteipc skeleton; do
    # C symbols: not mangled, and not a name reserved to the toolchain (__bss_start, a sanitizer's
    # __odr_asan_gen_*). std:: instantiations are vague linkage the compiler emits for the public
    # types (std::expected<Service, Error>...): not checked.
    grep -vE '^_Z' "$work/$lib.raw" | grep -vE '^_(init|fini|edata|end)$|^__' |
        grep -vxF -f "$work/c_functions" >"$work/stray_c"
    if [[ -s $work/stray_c ]]; then fail "lib$lib exports C symbols no public header declares:"; sed 's/^/    /' "$work/stray_c"; fi
    grep -E '(^|[ <(,])liteipc::' "$work/$lib.sym" | grep -vE '^(std::|void std::|typeinfo for std::|typeinfo name for std::|vtable for std::|guard variable for std::)' |
        grep -vE "^((typeinfo|typeinfo name|vtable) for )?liteipc::(($classes_re)(::|$)|($functions_re)(\[abi:[a-z0-9]+\])?\()" >"$work/stray_cxx"
    if [[ -s $work/stray_cxx ]]; then fail "lib$lib exports liteipc:: symbols no public header marks:"; sed 's/^/    /' "$work/stray_cxx" | head -20; fi
done

# 4. What the public headers' inline code calls is exported (by libliteipc).
{
    for h in $cxx_headers; do
        case $h in */version.h.in) continue ;; esac
        echo "#include \"${h#"$include"/}\""
    done
} >"$work/all_headers.cpp"
if "$cxx" -std=c++23 -fkeep-inline-functions -I"$include" -I"$generated_include" -I"$include/liteipc/lite" \
       -c "$work/all_headers.cpp" -o "$work/all_headers.o" 2>"$work/compile.log"; then
    nm -u "$work/all_headers.o" | awk '{print $2}' | grep -E '^_ZN?K?7liteipc' | sort -u >"$work/needed"
    while read -r symbol; do
        grep -qx "$symbol" "$work/liteipc.raw" || fail "inline code of the public headers calls $(echo "$symbol" | c++filt), which libliteipc.so does not export"
    done <"$work/needed"
    echo "the public headers' inline code calls $(wc -l <"$work/needed") library functions"
else
    fail "the public headers do not compile together:"; sed 's/^/    /' "$work/compile.log" | head -20
fi

if [[ $failures -ne 0 ]]; then echo "$failures failure(s)"; exit 1; fi
echo "export policy holds"
