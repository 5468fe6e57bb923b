#!/usr/bin/env bash
# The main job: prepares the host, builds only what the demo runs, starts liteipc-loader if none
# runs, and tells the story: a service and its clients, what the kernel holds, zero-copy, fd
# passing, and a death the kernel reports. Ends with what it left on the host.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build-demo}
SOCKET=${LITEIPC_SOCKET:-/run/liteipc/liteipc.sock}
PIN_ROOT=${LITEIPC_PIN_ROOT:-/sys/fs/bpf/liteipc}
mkdir -p "$BUILD"
log=$BUILD/demo-build.log
step=0
say() { step=$((step + 1)); printf '\n[%d] %s\n' "$step" "$*"; }
quietly() { "$@" >>"$log" 2>&1 || { echo "demo: '$*' failed; the last lines of $log:" >&2; tail -20 "$log" >&2; exit 1; }; }

say "Preparing the host (Debian packages, bpffs, tracefs, hugepages, the liteipc group)"
: >"$log"
quietly scripts/deps.sh
quietly scripts/setup-env.sh
grep -h 'hugepages reserved' "$log" | sed 's/^setup-env: /    /'

say "Building the loader, the CLI and the examples (output in $log)"
start=$(date +%s)
# A build directory configured already (BUILD_DIR=build, the tests' own) is used as it is.
[ -f "$BUILD/CMakeCache.txt" ] ||
  quietly cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLITEIPC_BUILD_TESTS=OFF -DLITEIPC_BUILD_BENCH=OFF
quietly cmake --build "$BUILD" -j"$(nproc)" --target liteipc-loader liteipc-cli liteipc-demo \
    liteipc-cpp-echo_service liteipc-cpp-echo_client
echo "    built in $(( $(date +%s) - start )) s"
liteipc=$BUILD/src/cli/liteipc

started=""
if "$liteipc" status --socket "$SOCKET" >/dev/null 2>&1; then
  say "liteipc-loader is already running on $SOCKET: using it"
else
  say "Starting liteipc-loader (log in $BUILD/loader.log)"
  "$BUILD"/src/loader/liteipc-loader --socket "$SOCKET" --pin-root "$PIN_ROOT" >"$BUILD/loader.log" 2>&1 &
  started=$!
  for _ in $(seq 100); do "$liteipc" status --socket "$SOCKET" >/dev/null 2>&1 && break; sleep 0.05; done
  echo "    loader pid $started: BPF programs loaded and pinned under $PIN_ROOT"
fi
echo_service=""
cleanup() {
  [ -n "$echo_service" ] && kill "$echo_service" 2>/dev/null && wait "$echo_service" 2>/dev/null
  if [ -n "$started" ]; then kill "$started"; wait "$started" 2>/dev/null || true; fi
}
trap cleanup EXIT
export LITEIPC_SOCKET=$SOCKET LITEIPC_PIN_ROOT=$PIN_ROOT

say "An echo service registers; liteipc status shows what the loader and the kernel hold"
"$BUILD"/examples/liteipc-cpp-echo_service >"$BUILD/echo_service.log" 2>&1 &
echo_service=$!
for _ in $(seq 100); do "$liteipc" list 2>/dev/null | grep -q echo && break; sleep 0.05; done
"$liteipc" status | sed 's/^/    /'

say "The pinned maps carry BTF: bpftool prints the service's process-table entry by field name"
slot=$("$liteipc" status --json | grep -o '"slot":[0-9]*,"pid":'"$echo_service"',' | grep -o '[0-9]*' | head -1)
bpftool map lookup pinned "$PIN_ROOT/procs" key $((slot & 255)) $((slot >> 8)) 0 0 | sed 's/^/    /'

say "A client calls the echo service (identity stamped by the kernel at connect)"
"$BUILD"/examples/liteipc-cpp-echo_client | sed 's/^/    /'

say "The service publishes its interface (examples/cpp/IEcho.idl): liteipc introspect prints it"
"$liteipc" introspect example.cpp.echo | sed 's/^/    /'
kill "$echo_service"; wait "$echo_service" 2>/dev/null || true
echo_service=""

say "The tour: a service of examples/IGreeter.idl in its own process, calls through its generated proxy, a zero-copy buffer, an fd, and a death"
"$BUILD"/examples/liteipc-demo | sed 's/^demo: /    /'

say "Summary"
echo "    the service saw each caller's pid and uid as the connect program stamped them, the 1 MiB"
echo "    buffer was read where the client wrote it, and the kernel's exit tracepoint reported the"
echo "    service's death once, failing the pending call at once instead of after its timeout"
echo
echo "Left on this host:"
echo "    pinned kernel plane  $PIN_ROOT (maps, programs, tracepoint link)$([ -n "$started" ] && echo "; the loader was stopped")"
echo "    hugepages            $(cat /proc/sys/vm/nr_hugepages) x 2 MiB reserved (/proc/sys/vm/nr_hugepages)"
echo "    group                liteipc"
echo "    build                $BUILD"
echo "Remove them with:"
echo "    $BUILD/src/loader/liteipc-loader --unload --pin-root $PIN_ROOT"
echo "    echo 0 > /proc/sys/vm/nr_hugepages; groupdel liteipc; rm -rf $BUILD"
