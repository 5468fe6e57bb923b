#!/usr/bin/env bash
# Prepares a host for liteipc: bpffs, tracefs, hugetlbfs, reserved hugepages, the liteipc group.
# Idempotent; needs root.
set -euo pipefail
HUGEPAGES=${LITEIPC_HUGEPAGES:-128}   # 2 MiB pages: 256 MiB by default

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
