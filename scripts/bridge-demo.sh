#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2317  # pids are read by the cleanup (lib/demo-hosts.sh) through pid_vars; some functions run from eval
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

demo=bridge-demo
build=$(realpath "${1:-build}")
pid_vars="echo_pid bridge_pid loader_pid"
echo_pid=""
declare -A netns veth address bridge_pid
# shellcheck source=scripts/lib/demo-hosts.sh
. "$(dirname "$0")/lib/demo-hosts.sh"
require_demo_host

readonly port=7443 tag=$$
for h in a b; do
  netns[$h]=liteipc-demo$tag$h
  veth[$h]=ldm$tag$h  # at most 15 characters
  pin_root[$h]=/sys/fs/bpf/liteipc-demo-$tag-$h
  claim_names "${netns[$h]}" "${pin_root[$h]}"
done
address[a]=10.213.0.1
address[b]=10.213.0.2

# The link.
for h in a b; do make_netns "${netns[$h]}"; done
quietly ip link add "${veth[a]}" netns "${netns[a]}" type veth peer name "${veth[b]}" netns "${netns[b]}"
for h in a b; do
  quietly ip -n "${netns[$h]}" addr add "${address[$h]}/24" dev "${veth[$h]}"
  quietly ip -n "${netns[$h]}" link set "${veth[$h]}" up
  quietly ip -n "${netns[$h]}" link set lo up
done

# A CA and one certificate per host (CN and subjectAltName host-a, host-b), as tests/bridge makes them.
make_ca ca
for h in a b; do certificate ca "host-$h" "host-$h" "DNS:host-$h"; done
start_loaders a b

# The echo service on b (nsenter execs it: $! is the service's pid).
start_echo() {
  nsenter --net="/run/netns/${netns[b]}" "$echo_bin" --socket "${socket[b]}" --pin-root "${pin_root[b]}" \
      >>"$dir/echo.log" 2>&1 &
  echo_pid=$!
}
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
