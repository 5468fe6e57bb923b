#!/usr/bin/env bash
# shellcheck disable=SC2317  # stop_pid, cleanup and listed run from traps and eval
# Two hosts on this machine, the run docs/BRIDGE.md shows ("Two hosts on one machine"): two network
# namespaces joined by a veth pair, a liteipc-loader (private pin root and socket) and a
# liteipc-bridge in each, certificates made with openssl in a private temporary directory.
# Host b runs the C++ example echo service and exports example.cpp.echo to a; a imports it as
# remote.b.example.cpp.echo. Prints each command as `$ command  # on host x` and its real output;
# exits non-zero unless the call through the bridge answers 42 and the import goes with the
# service and comes back with it. Removes everything it made on any exit (also Ctrl-C).
#
#   sudo scripts/bridge-demo.sh [BUILD_DIR]     (default: build; after building liteipc-loader,
#                                                liteipc-cli, liteipc-bridge, liteipc-cpp-echo_service)
# Not root: exits 77 (skipped), or 1 when LITEIPC_REQUIRE_BPF=1.
set -euo pipefail

build=$(realpath "${1:-build}")
loader_bin=$build/src/loader/liteipc-loader
cli_bin=$build/src/cli/liteipc
bridge_bin=$build/src/bridge/liteipc-bridge
echo_bin=$build/examples/liteipc-cpp-echo_service

fail() { echo "bridge-demo: $*" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
  [ "${LITEIPC_REQUIRE_BPF:-0}" = 1 ] && fail "needs root (LITEIPC_REQUIRE_BPF=1)"
  echo "bridge-demo: skipped: needs root (network namespaces, BPF)" >&2
  exit 77
fi
for bin in "$loader_bin" "$cli_bin" "$bridge_bin" "$echo_bin"; do
  [ -x "$bin" ] || fail "$bin not built (cmake --build $build --target liteipc-loader liteipc-cli liteipc-bridge liteipc-cpp-echo_service)"
done
for tool in ip nsenter openssl; do command -v "$tool" >/dev/null || fail "$tool not found"; done

readonly port=7443 tag=$$
declare -A netns veth address pin_root socket loader_pid bridge_pid
for h in a b; do
  netns[$h]=liteipc-demo$tag$h
  veth[$h]=ldm$tag$h  # at most 15 characters
  pin_root[$h]=/sys/fs/bpf/liteipc-demo-$tag-$h
  [ -e "/run/netns/${netns[$h]}" ] && fail "${netns[$h]} exists already: not touching it"
  [ -e "${pin_root[$h]}" ] && fail "${pin_root[$h]} exists already: not touching it"
done
address[a]=10.213.0.1
address[b]=10.213.0.2
made_netns=() made_pin_roots=() echo_pid="" dir=""

# Ends `pid` (a child of this script): SIGTERM, up to 10 s, then SIGKILL.
stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# Everything this script made, in reverse: processes by pid, pin roots, namespaces (the veth
# pair goes with them), the temporary directory; fails if any of it is still there.
cleanup() {
  set +e
  trap '' INT TERM  # a second Ctrl-C must not cut the cleanup short
  [ -n "$echo_pid" ] && stop_pid "$echo_pid"
  for h in a b; do [ -n "${bridge_pid[$h]:-}" ] && stop_pid "${bridge_pid[$h]}"; done
  for h in a b; do [ -n "${loader_pid[$h]:-}" ] && stop_pid "${loader_pid[$h]}"; done
  for root in "${made_pin_roots[@]}"; do "$loader_bin" --unload --pin-root "$root" >/dev/null 2>&1; done
  for ns in "${made_netns[@]}"; do ip netns del "$ns"; done
  [ -n "$dir" ] && rm -rf "$dir"
  local left=""
  for pid in "${loader_pid[@]}" "${bridge_pid[@]}" $echo_pid; do kill -0 "$pid" 2>/dev/null && left+=" pid $pid"; done
  for root in "${made_pin_roots[@]}"; do [ -e "$root" ] && left+=" $root"; done
  for ns in "${made_netns[@]}"; do [ -e "/run/netns/$ns" ] && left+=" netns $ns"; done
  [ -n "$dir" ] && [ -e "$dir" ] && left+=" $dir"
  [ -z "$left" ] || { echo "bridge-demo: left behind:$left" >&2; exit 1; }
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dir=$(mktemp -d -t liteipc-bridge-demo.XXXXXX)
# Quietly runs a setup step; on failure shows its output.
quietly() { "$@" >"$dir/step.log" 2>&1 || { cat "$dir/step.log" >&2; fail "'$*' failed"; }; }
# Polls `command...` every 50 ms for up to `seconds`.
eventually() {
  local seconds=$1; shift
  for _ in $(seq $((seconds * 20))); do "$@" && return 0; sleep 0.05; done
  return 1
}

# The link.
for h in a b; do quietly ip netns add "${netns[$h]}"; made_netns+=("${netns[$h]}"); done
quietly ip link add "${veth[a]}" netns "${netns[a]}" type veth peer name "${veth[b]}" netns "${netns[b]}"
for h in a b; do
  quietly ip -n "${netns[$h]}" addr add "${address[$h]}/24" dev "${veth[$h]}"
  quietly ip -n "${netns[$h]}" link set "${veth[$h]}" up
  quietly ip -n "${netns[$h]}" link set lo up
done

# A CA and one certificate per host (CN and subjectAltName host-a, host-b), as tests/bridge makes them.
certs=$dir/certs
mkdir -m 700 "$certs"
newkey=(openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
quietly "${newkey[@]}" -x509 -days 1 -subj /CN=liteipc-demo-ca -keyout "$certs/ca.key" -out "$certs/ca.pem"
for h in a b; do
  echo "subjectAltName=DNS:host-$h" >"$certs/host-$h.ext"
  quietly "${newkey[@]}" -subj "/CN=host-$h" -keyout "$certs/host-$h.key" -out "$certs/host-$h.csr"
  quietly openssl x509 -req -days 1 -in "$certs/host-$h.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" \
      -CAcreateserial -extfile "$certs/host-$h.ext" -out "$certs/host-$h.pem"
done

# The loaders. Their name policy reserves remote.* for the bridges (root here), as a bridge that
# imports requires (docs/BRIDGE.md); other names stay open for the demo's services.
printf 'own remote.* by uid:0\nunlisted_names = anyone\n' >"$dir/loader.conf"
cli() { local h=$1; shift; "$cli_bin" "$@" --socket "${socket[$h]}" --pin-root "${pin_root[$h]}"; }
for h in a b; do
  socket[$h]=$dir/$h.sock
  made_pin_roots+=("${pin_root[$h]}")
  "$loader_bin" --config "$dir/loader.conf" --socket "${socket[$h]}" --pin-root "${pin_root[$h]}" \
    >"$dir/loader-$h.log" 2>&1 &
  loader_pid[$h]=$!
done
for h in a b; do
  eventually 20 cli "$h" status >/dev/null 2>&1 || { cat "$dir/loader-$h.log" >&2; fail "loader $h does not answer"; }
done

# The echo service on b (nsenter execs it: $! is the service's pid).
start_echo() {
  nsenter --net="/run/netns/${netns[b]}" "$echo_bin" --socket "${socket[b]}" --pin-root "${pin_root[b]}" \
      >>"$dir/echo.log" 2>&1 &
  echo_pid=$!
}
# Whether `name` is on host `h`'s loader (the list read whole: no SIGPIPE under pipefail).
listed() { local h=$1 name=$2 names; names=$(cli "$h" list 2>/dev/null) && grep -qw -- "$name" <<<"$names"; }
start_echo
eventually 10 listed b example.cpp.echo || { cat "$dir/echo.log" >&2; fail "example.cpp.echo did not register on b"; }

# The bridges: b exports example.cpp.echo to a, a imports it (and serves no exports: no listen).
write_config() {
  local h=$1 listen=$2 body=$3
  cat >"$dir/$h.json" <<EOF
{"listen": "$listen", "socket": "${socket[$h]}", "pin_root": "${pin_root[$h]}",
 "status_service": "liteipc.bridge",
 "tls": {"ca": "$certs/ca.pem", "cert": "$certs/host-$h.pem", "key": "$certs/host-$h.key"},
 $body}
EOF
}
write_config a "" '"peers": [{"name": "b", "identity": "host-b", "address": "'"${address[b]}:$port"'", "token": 2}],
 "imports": [{"peer": "b", "service": "example.cpp.echo", "policy": "anyone"}]'
write_config b "${address[b]}:$port" '"peers": [{"name": "a", "identity": "host-a", "address": "'"${address[a]}:$port"'", "token": 1}],
 "exports": [{"service": "example.cpp.echo", "allow": ["a"]}]'
for h in b a; do
  nsenter --net="/run/netns/${netns[$h]}" "$bridge_bin" --config "$dir/$h.json" >"$dir/bridge-$h.log" 2>&1 &
  bridge_pid[$h]=$!
done
eventually 20 listed a remote.b.example.cpp.echo ||
  { cat "$dir/bridge-a.log" "$dir/bridge-b.log" >&2; fail "remote.b.example.cpp.echo not imported on a"; }

# The run, as docs/BRIDGE.md shows it.
show() { printf '$ %-68s# on host %s\n' "$1" "$2"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

echo "# on each host: liteipc-bridge --config bridge.json  (packaging/bridge.json; systemd: liteipc-bridge.service)"
show "liteipc list" a
cli a list
show "liteipc call remote.b.example.cpp.echo 2 i32:40 i32:2 --reply i32" a
reply=$(cli a call remote.b.example.cpp.echo 2 i32:40 i32:2 --reply i32)
echo "$reply"
show "liteipc stats" "b: counted like a local call"
cli b stats
show "liteipc call liteipc.bridge 1 --reply s" "b: the bridge's counters"
cli b call liteipc.bridge 1 --reply s

show "kill -KILL $echo_pid" "b: the pid of example.cpp.echo"
killed_at=$(date +%s%N)
{ kill -KILL "$echo_pid" && wait "$echo_pid"; } 2>/dev/null || true  # quiet: no "Killed" from bash
echo_pid=""
eventually 10 eval '! listed a remote.b.example.cpp.echo' || true
show "liteipc list" "a, $(ms_since "$killed_at") ms later: the import died with it"
after_kill=$(cli a list)
echo "$after_kill"

show "liteipc-cpp-echo_service &" "b: started again"
started_at=$(date +%s%N)
start_echo
eventually 20 listed a remote.b.example.cpp.echo || true
show "liteipc list" "a, $(ms_since "$started_at") ms later: and came back"
after_restart=$(cli a list)
echo "$after_restart"

show "journalctl -u liteipc-bridge" "a (here: its stderr)"
cat "$dir/bridge-a.log"

# What the run must have shown.
grep -Eq '^i32[[:space:]]+42$' <<<"$reply" || fail "the call through the bridge did not answer 42"
grep -qw remote.b.example.cpp.echo <<<"$after_kill" && fail "remote.b.example.cpp.echo still listed on a after the service died"
grep -qw remote.b.example.cpp.echo <<<"$after_restart" || fail "remote.b.example.cpp.echo did not come back on a"
exit 0
