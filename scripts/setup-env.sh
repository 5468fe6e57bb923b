#!/usr/bin/env bash
# Prepares a host for liteipc: bpffs, tracefs, hugetlbfs, reserved hugepages, the liteipc group.
# Idempotent; needs root. Installed as liteipc-setup-host (the loader's unit runs it first).
set -euo pipefail
HUGEPAGES=${LITEIPC_HUGEPAGES:-128}   # 2 MiB pages: 256 MiB by default
VERSION=0.1.0  # the project's version (CMakeLists.txt); the programs test checks they agree

case ${1:-} in
  --help)
    cat <<EOF
usage: liteipc-setup-host
Prepares this host for liteipc-loader: mounts bpffs, tracefs and hugetlbfs, reserves
LITEIPC_HUGEPAGES 2 MiB hugepages (default 128; never fewer than already reserved), creates the
liteipc group and /run/liteipc. Idempotent; needs root.
Exit status: 0 done, 1 failed (not root, or the kernel has no BTF), 2 bad command line.
See liteipc-setup-host(8).
EOF
    exit 0 ;;
  --version) echo "liteipc-setup-host $VERSION"; exit 0 ;;
  "") ;;
  *) echo "liteipc-setup-host: unknown argument '$1'; usage: liteipc-setup-host [--help | --version]" >&2; exit 2 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-env: needs root" >&2
  exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
mkdir -p /dev/hugepages
mountpoint -q /dev/hugepages || mount -t hugetlbfs -o pagesize=2M hugetlbfs /dev/hugepages
current=$(cat /proc/sys/vm/nr_hugepages)
if [ "$current" -lt "$HUGEPAGES" ]; then
  echo "$HUGEPAGES" > /proc/sys/vm/nr_hugepages || true
fi
echo "setup-env: hugepages reserved: $(cat /proc/sys/vm/nr_hugepages) (asked $HUGEPAGES)"
getent group liteipc >/dev/null || groupadd --system liteipc
# The loader's runtime directory: its socket lives here, reachable by the group only.
install -d -o root -g liteipc -m 0750 /run/liteipc
[ -e /sys/kernel/btf/vmlinux ] || { echo "setup-env: kernel has no BTF (/sys/kernel/btf/vmlinux)" >&2; exit 1; }
