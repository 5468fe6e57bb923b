# shellcheck shell=bash
# shellcheck disable=SC2317,SC2154,SC2034  # functions run from traps and eval; demo, build and
# pid_vars come from the sourcing script, which also reads the pid arrays filled here
# What the multi-host demos (bridge-demo.sh, cluster-demo.sh) share: root and binary checks,
# private loaders on their own pin roots and sockets, polling, the run's printed commands, and
# the cleanup that removes everything the demo made and fails when anything is left behind.
#
# The sourcing script sets, before it sources this file:
#   demo        its name, for messages ("bridge-demo")
#   build       the build directory (absolute)
#   pid_vars    the names of the variables (scalars or associative arrays) holding the pids it
#               starts, in the order cleanup stops them (services first, loaders last)
# It then fills `made_netns`, `made_pin_roots` and `dir` as it makes them.

loader_bin=$build/src/loader/liteipc-loader
cli_bin=$build/src/cli/liteipc
bridge_bin=$build/src/bridge/liteipc-bridge
echo_bin=$build/examples/liteipc-cpp-echo_service
made_netns=() made_pin_roots=() dir=""
declare -A pin_root socket loader_pid

fail() { echo "$demo: $*" >&2; exit 1; }
skip() {
  [ "${LITEIPC_REQUIRE_BPF:-0}" = 1 ] && fail "$* (LITEIPC_REQUIRE_BPF=1)"
  echo "$demo: skipped: $*" >&2
  exit 77
}
# Root, the binaries the demo runs, and the tools it sets hosts up with.
require_demo_host() {
  [ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, BPF)"
  for bin in "$loader_bin" "$cli_bin" "$bridge_bin" "$echo_bin"; do
    [ -x "$bin" ] || fail "$bin not built (cmake --build $build --target liteipc-loader liteipc-cli liteipc-bridge liteipc-cpp-echo_service)"
  done
  for tool in ip nsenter openssl; do command -v "$tool" >/dev/null || fail "$tool not found"; done
}
# Refuses to start over a namespace or pin root that exists already: it is not the demo's.
claim_names() {  # NETNS PIN_ROOT
  [ -e "/run/netns/$1" ] && fail "$1 exists already: not touching it"
  [ -e "$2" ] && fail "$2 exists already: not touching it"
  return 0
}

# Every pid held by the variables named in pid_vars (unset and empty ones skipped).
demo_pids() {
  local var
  for var in $pid_vars; do
    declare -n held=$var
    printf '%s\n' "${held[@]}"
    unset -n held
  done | grep -E '^[0-9]+$' || true
}
# Ends `pid` (a child of the demo): SIGTERM, up to 10 s, then SIGKILL.
stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# Everything the demo made, in reverse: processes by pid, pin roots, namespaces (veth pairs go
# with them), the temporary directory; fails if any of it is still there.
cleanup() {
  set +e
  trap '' INT TERM  # a second Ctrl-C must not cut the cleanup short
  local pid root ns left=""
  for pid in $(demo_pids); do stop_pid "$pid"; done
  for root in "${made_pin_roots[@]}"; do "$loader_bin" --unload --pin-root "$root" >/dev/null 2>&1; done
  for ns in "${made_netns[@]}"; do ip netns del "$ns"; done
  [ -n "$dir" ] && rm -rf "$dir"
  for pid in $(demo_pids); do kill -0 "$pid" 2>/dev/null && left+=" pid $pid"; done
  for root in "${made_pin_roots[@]}"; do [ -e "$root" ] && left+=" $root"; done
  for ns in "${made_netns[@]}"; do [ -e "/run/netns/$ns" ] && left+=" netns $ns"; done
  [ -n "$dir" ] && [ -e "$dir" ] && left+=" $dir"
  [ -z "$left" ] || { echo "$demo: left behind:$left" >&2; exit 1; }
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The demo's private directory: logs, configs, certificates.
dir=$(mktemp -d -t "liteipc-$demo.XXXXXX")
# Quietly runs a setup step; on failure shows its output.
quietly() { "$@" >"$dir/step.log" 2>&1 || { cat "$dir/step.log" >&2; fail "'$*' failed"; }; }
# Polls `command...` every 50 ms for up to `seconds`.
eventually() {
  local seconds=$1; shift
  for _ in $(seq $((seconds * 20))); do "$@" && return 0; sleep 0.05; done
  return 1
}

# A network namespace the demo made (and cleanup deletes).
make_netns() { quietly ip netns add "$1"; made_netns+=("$1"); }
# A CA named NAME in $certs: NAME.pem and NAME.key.
newkey=(openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
make_ca() { quietly "${newkey[@]}" -x509 -days 1 -subj "/CN=liteipc-demo-$1" -keyout "$certs/$1.key" -out "$certs/$1.pem"; }
# A certificate FILE.pem/FILE.key signed by CA, with common name CN and subjectAltName SAN.
certificate() {  # CA FILE CN SAN
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$4" >"$certs/$2.ext"
  quietly "${newkey[@]}" -subj "/CN=$3" -keyout "$certs/$2.key" -out "$certs/$2.csr"
  quietly openssl x509 -req -days 1 -in "$certs/$2.csr" -CA "$certs/$1.pem" -CAkey "$certs/$1.key" \
      -CAcreateserial -extfile "$certs/$2.ext" -out "$certs/$2.pem"
}
certs=$dir/certs
mkdir -m 700 "$certs"

# One loader per host, on its own pin root and socket. Their name policy reserves remote.* for
# the bridges (root here), as a bridge that imports requires (docs/BRIDGE.md); other names stay
# open for the demo's services.
cli() { local h=$1; shift; "$cli_bin" "$@" --socket "${socket[$h]}" --pin-root "${pin_root[$h]}"; }
start_loaders() {  # HOST...
  local h
  printf 'own remote.* by uid:0\nunlisted_names = anyone\n' >"$dir/loader.conf"
  for h in "$@"; do
    socket[$h]=$dir/$h.sock
    made_pin_roots+=("${pin_root[$h]}")
    "$loader_bin" --config "$dir/loader.conf" --socket "${socket[$h]}" --pin-root "${pin_root[$h]}" \
      >"$dir/loader-$h.log" 2>&1 &
    loader_pid[$h]=$!
  done
  for h in "$@"; do
    eventually 20 cli "$h" status >/dev/null 2>&1 || { cat "$dir/loader-$h.log" >&2; fail "loader $h does not answer"; }
  done
}
# Whether `name` is on host `h`'s loader (the list read whole: no SIGPIPE under pipefail).
listed() { local h=$1 name=$2 names; names=$(cli "$h" list 2>/dev/null) && grep -qw -- "$name" <<<"$names"; }

# The run as the docs show it: each command, the host it runs on, then its real output.
show() { printf '$ %-68s# on host %s\n' "$1" "$2"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
