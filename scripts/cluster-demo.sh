#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2317  # pids are read by the cleanup (lib/demo-hosts.sh) through pid_vars; some functions run from eval
# Three hosts on this machine, the run docs/BRIDGE.md shows ("A cluster: discovery through
# etcd"): network namespaces a, b, c joined by a Linux bridge in a namespace of its own, a
# liteipc-loader (private pin root and socket), a liteipc-bridge and an etcd member in each,
# certificates (the bridges' CA and etcd's) made with openssl in a private temporary directory.
# Host c runs the C++ example echo service and announces it; a and b import it with no config
# naming c. Prints each command as `$ command  # on host x` and its real output; exits non-zero
# unless the call through the bridge answers 42, the import goes when c's bridge and etcd member
# are killed and comes back when they restart. Removes everything it made on any exit.
#
#   sudo scripts/cluster-demo.sh [BUILD_DIR]    (default: build; after building liteipc-loader,
#                                                liteipc-cli, liteipc-bridge, liteipc-cpp-echo_service)
# Not root, or no etcd: exits 77 (skipped), or 1 when LITEIPC_REQUIRE_BPF=1.
set -euo pipefail

demo=cluster-demo
build=$(realpath "${1:-build}")
pid_vars="echo_pid bridge_pid etcd_pid loader_pid"
echo_pid=""
declare -A netns address bridge_pid etcd_pid
# shellcheck source=scripts/lib/demo-hosts.sh
. "$(dirname "$0")/lib/demo-hosts.sh"
require_demo_host
command -v etcd >/dev/null || skip "no etcd (Debian: etcd-server; scripts/deps.sh)"

readonly port=7443 tag=$$ hosts="a b c"
switch=liteipc-cdm${tag}sw
for h in $hosts; do
  netns[$h]=liteipc-cdm$tag$h
  pin_root[$h]=/sys/fs/bpf/liteipc-cdemo-$tag-$h
  claim_names "${netns[$h]}" "${pin_root[$h]}"
done
address[a]=10.215.0.1 address[b]=10.215.0.2 address[c]=10.215.0.3

# The switch and the links.
make_netns "$switch"
quietly ip -n "$switch" link add sw type bridge
quietly ip -n "$switch" link set sw up
for h in $hosts; do
  make_netns "${netns[$h]}"
  quietly ip link add "lcd$tag$h" netns "${netns[$h]}" type veth peer name "p$h" netns "$switch"
  quietly ip -n "$switch" link set "p$h" master sw
  quietly ip -n "$switch" link set "p$h" up
  quietly ip -n "${netns[$h]}" addr add "${address[$h]}/24" dev "lcd$tag$h"
  quietly ip -n "${netns[$h]}" link set "lcd$tag$h" up
  quietly ip -n "${netns[$h]}" link set lo up
done

# Two CAs: the bridges' (CN = host name) and etcd's (its members, and each bridge's client).
for ca in ca etcd-ca; do make_ca "$ca"; done
for h in $hosts; do
  certificate ca "$h" "$h" "DNS:$h"
  certificate etcd-ca "etcd-client-$h" "bridge-$h" "DNS:bridge-$h"
  certificate etcd-ca "etcd-$h" "etcd-$h" "DNS:etcd,IP:${address[$h]}"
done

# The etcd cluster, one member per host.
start_etcd() {
  local h=$1 url=https://${address[$1]}
  nsenter --net="/run/netns/${netns[$h]}" etcd --name "$h" --data-dir "$dir/etcd-$h" \
    --listen-client-urls "$url:2379" --advertise-client-urls "$url:2379" \
    --listen-peer-urls "$url:2380" --initial-advertise-peer-urls "$url:2380" \
    --initial-cluster "a=https://${address[a]}:2380,b=https://${address[b]}:2380,c=https://${address[c]}:2380" \
    --initial-cluster-state new --initial-cluster-token "liteipc-demo-$tag" \
    --heartbeat-interval 50 --election-timeout 500 \
    --client-cert-auth --trusted-ca-file "$certs/etcd-ca.pem" --cert-file "$certs/etcd-$h.pem" --key-file "$certs/etcd-$h.key" \
    --peer-client-cert-auth --peer-trusted-ca-file "$certs/etcd-ca.pem" \
    --peer-cert-file "$certs/etcd-$h.pem" --peer-key-file "$certs/etcd-$h.key" \
    --logger zap --log-level warn >>"$dir/etcd-$h.log" 2>&1 &
  etcd_pid[$h]=$!
}
for h in $hosts; do start_etcd "$h"; done

# shellcheck disable=SC2086  # one word per host
start_loaders $hosts
nsenter --net="/run/netns/${netns[c]}" "$echo_bin" --socket "${socket[c]}" --pin-root "${pin_root[c]}" >"$dir/echo.log" 2>&1 &
echo_pid=$!
eventually 10 listed c example.cpp.echo || { cat "$dir/echo.log" >&2; fail "example.cpp.echo did not register on c"; }

# The bridges: c exports example.cpp.echo to a and b; a and b import it from whoever offers it.
endpoints="[\"${address[a]}:2379\", \"${address[b]}:2379\", \"${address[c]}:2379\"]"
for h in $hosts; do
  if [ "$h" = c ]; then
    body='"peers": [{"name": "a", "identity": "a"}, {"name": "b", "identity": "b"}],
 "exports": [{"service": "example.cpp.echo", "allow": ["a", "b"]}]'
  else
    body='"imports": [{"service": "example.cpp.echo", "policy": "anyone"}]'
  fi
  cat >"$dir/$h.json" <<EOF
{"listen": "${address[$h]}:$port", "socket": "${socket[$h]}", "pin_root": "${pin_root[$h]}",
 "tls": {"ca": "$certs/ca.pem", "cert": "$certs/$h.pem", "key": "$certs/$h.key"},
 "discovery": {"name": "$h", "endpoints": $endpoints, "lease_ttl_s": 2,
               "tls": {"ca": "$certs/etcd-ca.pem", "cert": "$certs/etcd-client-$h.pem", "key": "$certs/etcd-client-$h.key"}},
 $body}
EOF
done
start_bridge() {
  nsenter --net="/run/netns/${netns[$1]}" "$bridge_bin" --config "$dir/$1.json" >>"$dir/bridge-$1.log" 2>&1 &
  bridge_pid[$1]=$!
}
for h in $hosts; do start_bridge "$h"; done
for h in a b; do
  eventually 40 listed "$h" remote.c.example.cpp.echo ||
    { cat "$dir/bridge-$h.log" "$dir/bridge-c.log" >&2; fail "remote.c.example.cpp.echo not imported on $h"; }
done

# The run, as docs/BRIDGE.md shows it.
echo "# on each host: etcd (a member) and liteipc-bridge --config bridge.json with a \"discovery\" object"
show "liteipc list --remote" a
cli a list --remote
show "liteipc call remote.c.example.cpp.echo 2 i32:40 i32:2 --reply i32" a
reply=$(cli a call remote.c.example.cpp.echo 2 i32:40 i32:2 --reply i32)
echo "$reply"
show "kill -KILL ${bridge_pid[c]} ${etcd_pid[c]}" "c: its bridge and its etcd member"
killed_at=$(date +%s%N)
{ kill -KILL "${bridge_pid[c]}" "${etcd_pid[c]}" && wait "${bridge_pid[c]}" "${etcd_pid[c]}"; } 2>/dev/null || true
bridge_pid[c]="" etcd_pid[c]=""
eventually 10 eval '! listed b remote.c.example.cpp.echo' || true
show "liteipc list" "b, $(ms_since "$killed_at") ms later: the import died"
after_kill=$(cli b list)
echo "$after_kill"
gone() { local s; s=$(cli a list --remote 2>/dev/null) && ! grep -q '^c ' <<<"$s"; }
eventually 10 gone || true
show "liteipc list --remote" "a, $(ms_since "$killed_at") ms later: c's lease ran out"
cli a list --remote
show "etcd ... & liteipc-bridge --config bridge.json &" "c: started again"
started_at=$(date +%s%N)
start_etcd c
start_bridge c
eventually 30 listed b remote.c.example.cpp.echo || true
show "liteipc list" "b, $(ms_since "$started_at") ms later: and came back"
after_restart=$(cli b list)
echo "$after_restart"
show "journalctl -u liteipc-bridge" "b (here: its stderr)"
cat "$dir/bridge-b.log"

grep -Eq '^i32[[:space:]]+42$' <<<"$reply" || fail "the call through the bridge did not answer 42"
grep -qw remote.c.example.cpp.echo <<<"$after_kill" && fail "remote.c.example.cpp.echo still listed on b after c was killed"
grep -qw remote.c.example.cpp.echo <<<"$after_restart" || fail "remote.c.example.cpp.echo did not come back on b"
exit 0
