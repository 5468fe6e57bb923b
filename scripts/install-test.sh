#!/usr/bin/env bash
# Installs liteipc into a temporary prefix and uses it the way a user's project would:
# CMake find_package(liteipc), pkg-config, the installed CLI and, as root, the installed loader.
#
#   scripts/install-test.sh [BUILD_DIR]     (default: build-install in the source tree)
#
# Environment: JOBS (default 2); LITEIPC_REQUIRE_SYSTEM=1 turns the skip of the loader checks
# (not root, no bpffs) into a failure, for CI.
set -uo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$src/build-install}
jobs=${JOBS:-2}
work=$(mktemp -d /tmp/liteipc-install-test.XXXXXX)
prefix=$work/prefix
loader_pid=
pin_root=

cleanup() {
    if [[ -n $loader_pid ]]; then
        kill "$loader_pid" 2>/dev/null && wait "$loader_pid" 2>/dev/null
        "$prefix/sbin/liteipc-loader" --unload --pin-root "$pin_root" >/dev/null 2>&1
    fi
    rm -rf "$work"
}
trap cleanup EXIT

checks_name=install-test
# shellcheck source=scripts/checks.sh
source "$src/scripts/checks.sh"

echo "install-test: build $build, prefix $prefix"
if ! cmake -S "$src" -B "$build" -DLITEIPC_BUILD_TESTS=OFF -DLITEIPC_BUILD_BENCH=OFF >"$work/configure.log" 2>&1 ||
   ! cmake --build "$build" -j"$jobs" >"$work/build.log" 2>&1; then
    failure "configure and build liteipc" "$work/build.log"
    [[ -s $work/build.log ]] || failure "configure log" "$work/configure.log"
    finish
fi
pass "configure and build liteipc"

check "cmake --install --prefix" cmake --install "$build" --prefix "$prefix"

# What a package must contain.
installed_files() {
    local f missing=0
    for f in lib/libliteipc.so lib/libliteipc.so.0.1 include/liteipc/context.h include/liteipc/error.h \
             lib/libliteipc_skeleton.so lib/pkgconfig/liteipc-skeleton.pc include/liteipc/lite/liteipc_adapter.h \
             include/liteipc/rpc/ipc_skeleton.h include/liteipc/rpc/serializer.h include/liteipc/rpc/rpc_errno.h \
             lib/pkgconfig/liteipc.pc lib/cmake/liteipc/liteipcConfig.cmake \
             lib/cmake/liteipc/liteipcConfigVersion.cmake lib/cmake/liteipc/liteipcTargets.cmake \
             lib/systemd/system/liteipc-loader.service bin/liteipc sbin/liteipc-loader \
             lib/systemd/system/liteipc-bridge.service bin/liteipc-bridge lib/sysusers.d/liteipc-bridge.conf \
             etc/liteipc/loader.conf etc/liteipc/bridge.json \
             include/liteipc/version.h share/man/man1/liteipc.1 share/man/man7/liteipc.7 \
             share/man/man8/liteipc-loader.8 share/bash-completion/completions/liteipc; do
        [[ -e $prefix/$f ]] || { echo "missing $f"; missing=1; }
    done
    return $missing
}
check "installed files" installed_files
check "library SONAME is libliteipc.so.0.1 (0.x: major and minor)" \
    bash -c "readelf -d '$prefix/lib/libliteipc.so' | grep -q 'Library soname: \[libliteipc.so.0.1\]'"
# Outside the system's library directories the libraries find each other through $ORIGIN (the
# Debian packages, in /usr/lib/<multiarch>, carry no RUNPATH: scripts/package-test.sh).
skeleton_finds_liteipc() {
    local dynamic resolved
    dynamic=$(readelf -d "$prefix/lib/libliteipc_skeleton.so") && resolved=$(ldd "$prefix/lib/libliteipc_skeleton.so") ||
        return 1
    echo "$dynamic"; echo "$resolved"
    [[ $dynamic == *"Shared library: [libliteipc.so.0.1]"* && $dynamic == *"Library runpath: [\$ORIGIN]"* &&
       $resolved == *"libliteipc.so.0.1 => $prefix/lib/"* ]]
}
check "libliteipc_skeleton needs libliteipc and finds it beside itself (RUNPATH \$ORIGIN)" skeleton_finds_liteipc
check "systemd unit: Type=notify, the loader in the foreground with the installed config, host setup first" \
    bash -c "grep -Eq '^ExecStart=/.*/liteipc-loader --foreground --config /.*/etc/liteipc/loader.conf$' '$prefix/lib/systemd/system/liteipc-loader.service' &&
             grep -Eq '^ExecStartPre=/.*/liteipc-setup-host$' '$prefix/lib/systemd/system/liteipc-loader.service' &&
             grep -q '^Type=notify$' '$prefix/lib/systemd/system/liteipc-loader.service' &&
             grep -q '^Restart=on-failure$' '$prefix/lib/systemd/system/liteipc-loader.service'"
# systemd-analyze verify checks the unit's syntax and that its programs exist: point them at the prefix.
unit_verifies() {
    local unit=$work/unit/liteipc-loader.service
    mkdir -p "$work/unit"
    sed -E "s|^(ExecStart(Pre)?=)/.*/(liteipc-[a-z-]+)|\\1$prefix/sbin/\\3|" \
        "$prefix/lib/systemd/system/liteipc-loader.service" >"$unit"
    grep '^Exec' "$unit"
    # Its Documentation= man pages are looked up too: in the prefix.
    MANPATH="$prefix/share/man" systemd-analyze verify "$unit"
}
check "systemd-analyze verify liteipc-loader.service" unit_verifies
# The bridge's unit, beside the loader's (which it requires: verify finds it in the same directory).
bridge_unit_verifies() {
    local unit=$work/unit/liteipc-bridge.service
    sed -E "s|^(ExecStart=)/.*/(liteipc-bridge) |\\1$prefix/bin/\\2 |" \
        "$prefix/lib/systemd/system/liteipc-bridge.service" >"$unit"
    grep '^Exec' "$unit"
    MANPATH="$prefix/share/man" systemd-analyze verify "$unit"
}
check "systemd-analyze verify liteipc-bridge.service" bridge_unit_verifies
check "installed liteipc-loader --version" \
    bash -c "'$prefix/sbin/liteipc-loader' --version | grep -Eq '^liteipc-loader [0-9]+\.[0-9]+\.[0-9]+ \(ABI [0-9]+\)$'"

# make uninstall removes exactly what the install wrote.
uninstall_removes_all() {
    local other=$work/prefix-uninstall
    cmake --install "$build" --prefix "$other" >/dev/null || return 1
    cmake --build "$build" --target uninstall || return 1
    local left
    left=$(find "$other" -type f -o -type l)
    echo "left behind: ${left:-nothing}"
    [[ -z $left ]]
}
check "make uninstall removes every installed file" uninstall_removes_all
# A socket that no loader serves: the consumer must get the named loader_unavailable error.
no_socket=$work/no-loader.sock
consumer_src=$src/tests/install/consumer

# Consumer 1: CMake find_package(liteipc) + liteipc::liteipc, nothing but the prefix to go on.
check "consumer configures with find_package(liteipc)" \
    cmake -S "$consumer_src" -B "$work/consumer-cmake" -DCMAKE_PREFIX_PATH="$prefix" \
          -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON -DCMAKE_BUILD_TYPE=Release
check "consumer builds against liteipc::liteipc" cmake --build "$work/consumer-cmake"
run_without_loader() {
    local out
    out=$("$1" "$no_socket" "$work/no-pins") || { echo "$out"; return 1; }
    echo "$out"
    [[ $out == *"loader unavailable"*"$no_socket"* ]]
}
check "find_package consumer reports loader unavailable" run_without_loader "$work/consumer-cmake/consumer"
grep -h '^consumer:' "$work/last.log" | sed 's/^/        /'
# liteipc_add_interface ran the installed liteipc-idl; the generated proxy's error is the named one.
idl_without_loader() {
    local out
    out=$(LITEIPC_SOCKET=$no_socket LITEIPC_PIN_ROOT=$work/no-pins "$work/consumer-cmake/idl_consumer") || { echo "$out"; return 1; }
    echo "$out"
    [[ $out == *"loader unavailable"* ]]
}
check "liteipc_add_interface consumer reports loader unavailable" idl_without_loader
idl_c_without_loader() {
    local out
    out=$(LITEIPC_SOCKET=$no_socket LITEIPC_PIN_ROOT=$work/no-pins "$work/consumer-cmake/idl_c_consumer") || { echo "$out"; return 1; }
    echo "$out"
    [[ $out == *"no liteipc-loader"* ]]
}
check "liteipc_add_interface LANGUAGES C consumer reports the loader missing" idl_c_without_loader

# Consumer 2: the same source, compiled with what pkg-config says.
pc_build() {
    local flags
    flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs liteipc-cxx) || return 1
    echo "pkg-config: $flags"
    # shellcheck disable=SC2086 # flags are words
    g++ -Wall -Wextra -o "$work/consumer-pc" "$consumer_src/main.cpp" $flags -Wl,-rpath,"$prefix/lib"
}
check "consumer builds with plain g++ and pkg-config --cflags --libs liteipc-cxx" pc_build
check "pkg-config consumer reports loader unavailable" run_without_loader "$work/consumer-pc"

# LiteIPC C code of both generations, headers by their bare names: find_package and pkg-config.
check "old C API consumer (find_package, \"liteipc_adapter.h\")" "$work/consumer-cmake/old_api_consumer"
check "new C API consumer (find_package liteipc::skeleton, \"ipc_skeleton.h\")" "$work/consumer-cmake/new_api_consumer"
pc_c_build() {
    local package=$1 source=$2 flags
    flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs "$package") || return 1
    echo "pkg-config $package: $flags"
    # shellcheck disable=SC2086 # flags are words
    gcc -std=c11 -Wall -Wextra -o "$work/$package-c" "$consumer_src/$source" $flags -Wl,-rpath,"$prefix/lib" &&
        "$work/$package-c"
}
check "old C API consumer with pkg-config liteipc" pc_c_build liteipc old_api.c
check "new C API consumer with pkg-config liteipc-skeleton" pc_c_build liteipc-skeleton new_api.c

# The installed CLI: a clear error and a non-zero exit when no loader runs.
cli_without_loader() {
    local out rc
    out=$("$prefix/bin/liteipc" status --socket "$no_socket" 2>&1); rc=$?
    echo "$out (exit $rc)"
    [[ $rc -ne 0 && $out == *"loader unavailable"*"$no_socket"*"liteipc-loader"* ]]
}
check "installed liteipc CLI fails clearly without a loader" cli_without_loader
check "installed liteipc --version" bash -c "'$prefix/bin/liteipc' --version | grep -Eq '^liteipc [0-9]+\.[0-9]+\.[0-9]+$'"
check "man liteipc from the prefix" \
    bash -c "MANPATH='$prefix/share/man' man -P cat liteipc 2>/dev/null | grep -q 'look at a running liteipc'"

# As root with bpffs: the installed loader, and both the consumer and the CLI talking to it.
skip_reason=
[[ $(id -u) -eq 0 ]] || skip_reason="not root"
[[ -z $skip_reason && ! -d /sys/fs/bpf ]] && skip_reason="no bpffs at /sys/fs/bpf"
if [[ -n $skip_reason ]]; then
    if [[ ${LITEIPC_REQUIRE_SYSTEM:-0} == 1 ]]; then failure "loader checks skipped: $skip_reason"
    else echo "  skip  loader checks: $skip_reason"; fi
    finish
fi

pin_root=/sys/fs/bpf/liteipc-install-test-$$
socket=$work/loader.sock
"$prefix/sbin/liteipc-loader" --pin-root "$pin_root" --socket "$socket" >"$work/loader.log" 2>&1 &
loader_pid=$!
for _ in $(seq 50); do [[ -S $socket ]] && break; kill -0 "$loader_pid" 2>/dev/null || break; sleep 0.1; done
if [[ -S $socket ]]; then pass "installed loader starts"; else failure "installed loader starts" "$work/loader.log"; finish; fi

consumer_with_loader() {
    local out
    out=$("$1" "$socket" "$pin_root") || { echo "$out"; return 1; }
    echo "$out"
    [[ $out == "consumer: context open"* ]]
}
check "find_package consumer opens a context" consumer_with_loader "$work/consumer-cmake/consumer"
check "pkg-config consumer opens a context" consumer_with_loader "$work/consumer-pc"
check "installed liteipc status" \
    bash -c "'$prefix/bin/liteipc' status --socket '$socket' --pin-root '$pin_root' | grep -q '^loader *pid $loader_pid'"
check "installed liteipc list --json" \
    bash -c "'$prefix/bin/liteipc' list --json --socket '$socket' --pin-root '$pin_root' | grep -q '^{\"services\":\['"
# Looking must not change what is looked at: no registration, no log line, same process table.
cli_reads_only() {
    local before after log_lines
    log_lines=$(wc -l <"$work/loader.log")
    before=$("$prefix/bin/liteipc" status -j --socket "$socket" --pin-root "$pin_root" | grep -o '"processes":\[[^]]*\]')
    "$prefix/bin/liteipc" status -j --socket "$socket" --pin-root "$pin_root" >/dev/null || return 1
    after=$("$prefix/bin/liteipc" status -j --socket "$socket" --pin-root "$pin_root" | grep -o '"processes":\[[^]]*\]')
    echo "before: $before after: $after"
    [[ $before == "$after" && $(wc -l <"$work/loader.log") -eq $log_lines ]]
}
check "installed liteipc status -j registers nothing" cli_reads_only
finish
