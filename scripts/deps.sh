#!/usr/bin/env bash
# Installs the Debian packages liteipc needs to build, test and benchmark, if any is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config make git
  clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libclang-rt-14-dev            # libFuzzer, ASan, UBSan for the fuzz target
  libprotobuf-dev protobuf-compiler   # marshalling benchmark peer
  iceoryx libiceoryx-posh-dev libiceoryx-hoofs-dev   # round-trip and publish/subscribe benchmark peer
  nlohmann-json3-dev            # the loader writes and the CLI reads the status document
  libsystemd-dev                # the loader tells systemd it is ready and logs to the journal
  gnuplot-nox                   # make bench draws RTT against payload size
  iproute2 procps util-linux
  man-db groff-base             # the programs test renders and checks the manual pages
  python3                       # the upstream API census (scripts/api_census.py)
  universal-ctags               # scripts/check-type-names.sh finds every type definition
  debhelper lintian ccache      # make package: dpkg-buildpackage, lintian
  mmdebstrap systemd-container  # scripts/package-test.sh: a clean Debian root booted with systemd-nspawn
  libgrpc++-dev protobuf-compiler-grpc openssl   # liteipc-bridge: gRPC with mutual TLS
  etcd-server etcd-client       # the bridge's cluster tests and demo: a three-member etcd cluster
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}; run as root (sudo $0)" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Debian's etcd-server starts a system etcd on localhost as it installs. The tests and demos run
# their own members in network namespaces and need none, so an etcd this script brought in is
# stopped and disabled again; one that was installed before is left as it was.
if [[ " ${missing[*]} " == *" etcd-server "* ]] && [ -d /run/systemd/system ]; then
  systemctl disable --now etcd.service >/dev/null 2>&1 &&
    echo "deps: stopped and disabled the etcd.service that installing etcd-server started (liteipc runs its own)"
fi
