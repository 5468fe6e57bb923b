#!/usr/bin/env bash
# Proves liteipc's Debian packages the way an administrator meets them: lintian on what
# dpkg-buildpackage made, then a clean Debian 12 root (mmdebstrap) where apt installs them and
# their dependencies, systemd booted in it (systemd-nspawn), the loader enabled, reloaded and
# serving a service built against libliteipc-dev and a call from the CLI, and at last a purge
# that leaves none of their files. Every command's output is printed: it is the transcript.
#
#   scripts/package-test.sh [DEB_DIR]   (default: scripts/build-packages.sh builds into build/debs)
#
# Needs root, network (Debian's mirror), mmdebstrap, systemd-container and lintian (scripts/deps.sh).
# BPF is not namespaced: the container gets a bpffs of its own at /sys/fs/bpf (a new instance,
# mounted here), so its loader pins /sys/fs/bpf/liteipc there and never touches the host's.
# BPF helpers report pids of the host's pid namespace, so the loader, as on a host, must read the
# host's /proc (docs/SECURITY.md): a drop-in binds it over the loader's /proc. Environment: MIRROR (default: mmdebstrap's); BASE_ROOT=DIR copies a root
# made by the same mmdebstrap command instead of making one; KEEP_ROOT=1 keeps the root.
set -uo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deb_dir=${1:-}
work=$(mktemp -d /var/tmp/liteipc-package-test.XXXXXX)
root=$work/root
bpffs=$work/bpffs
packages=(liteipc-loader liteipc libliteipc0.1 libliteipc-dev liteipc-bridge)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
nspawn_pid=
container_pid=
root_maker=
checks_name=package-test
# shellcheck source=scripts/checks.sh
source "$src/scripts/checks.sh"

# nspawn with --keep-unit leaves its cgroup and state behind when killed: what it made, we remove.
leftovers=(/sys/fs/cgroup/systemd/payload /sys/fs/cgroup/unified/payload /run/systemd/nspawn)
preexisting=()
for path in "${leftovers[@]}"; do [[ -e $path ]] && preexisting+=("$path"); done

stop_container() {
    [[ -n $nspawn_pid ]] || return 0
    kill -TERM "$nspawn_pid" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$nspawn_pid" 2>/dev/null
    wait "$nspawn_pid" 2>/dev/null
    nspawn_pid=
}
cleanup() {
    if [[ -n $root_maker ]]; then kill "$root_maker" 2>/dev/null; wait "$root_maker"; fi
    stop_container
    # The last mount of a bpffs instance gone, its pins go and what they held is detached.
    mountpoint -q "$bpffs" && umount "$bpffs"
    local path
    for path in "${leftovers[@]}"; do
        [[ -e $path && " ${preexisting[*]} " != *" $path "* ]] || continue
        if [[ $path == /sys/fs/cgroup/* ]]; then
            find "$path" -depth -type d -exec rmdir {} + 2>/dev/null
        else
            rm -rf "$path"
        fi
    done
    # Never through a mount left in the root.
    if [[ ${KEEP_ROOT:-0} == 1 ]]; then echo "package-test: root kept in $root"; else rm -rf --one-file-system "$work"; fi
}
trap cleanup EXIT

# in_root COMMAND...: runs in the booted container, all of its namespaces.
in_root() { nsenter -t "$container_pid" -a "$@"; }
step() { echo "package-test: $* ($((SECONDS)) s)"; }

# ---- a clean Debian 12 root, made while the packages build: one waits on the mirror, the other
# on the CPU ----
# systemd to boot, man-db for the units' Documentation=, a C compiler and pkg-config for a service
# of our own.
mmdebstrap_command=(mmdebstrap --variant=minbase --include=systemd,systemd-sysv,dbus,man-db,gcc,libc6-dev,pkg-config bookworm)
step "making the root: ${BASE_ROOT:+a copy of $BASE_ROOT, made by }${mmdebstrap_command[*]}"
# The command itself in the background (not a subshell around it), so that cleanup can stop it.
if [[ -n ${BASE_ROOT:-} ]]; then
    cp -a "$BASE_ROOT" "$root" >"$work/root.log" 2>&1 &
else
    "${mmdebstrap_command[@]}" "$root" ${MIRROR:-} >"$work/root.log" 2>&1 &
fi
root_maker=$!

# ---- the packages and lintian ----
if [[ -z $deb_dir ]]; then
    step "building the packages"
    deb_dir=$src/build/debs
    if ! "$src/scripts/build-packages.sh" "$deb_dir" >"$work/build.log" 2>&1; then
        failure "dpkg-buildpackage -b" "$work/build.log"
        finish
    fi
    pass "dpkg-buildpackage -b (log: the last lines)"
    tail -8 "$work/build.log" | sed 's/^/        /'
fi
debs=()
for package in "${packages[@]}"; do
    found=("$deb_dir/${package}_"*.deb)
    [[ -f ${found[0]} ]] || { failure "$package: no .deb in $deb_dir"; continue; }
    debs+=("${found[0]}")
done
[[ ${#debs[@]} -eq ${#packages[@]} ]] || finish
changes=("$deb_dir"/liteipc_*.changes)
step "lintian"
# (--show-overrides would count what is overridden as failing: the overrides are listed instead.)
lintian_clean() {
    lintian --info --fail-on error,warning "${changes[0]}" || return 1
    local overrides=("$src"/debian/*.lintian-overrides)
    if [[ -f ${overrides[0]} ]]; then
        echo "overridden, with their reasons:"
        cat "${overrides[@]}"
    else
        echo "no lintian overrides"
    fi
}
transcript "lintian: no error, no warning (each one left is overridden with its reason)" lintian_clean

step "waiting for the root"
wait "$root_maker"
made=$?
root_maker=
if [[ $made -ne 0 ]]; then failure "the root: ${mmdebstrap_command[*]}" "$work/root.log"; finish; fi
pass "the root: ${mmdebstrap_command[*]} ($(du -sm "$root" | cut -f1) MB)"

step "apt-get install"
# Not in /tmp: nspawn mounts a tmpfs there.
mkdir -p "$root/var/cache/liteipc-debs" && cp "${debs[@]}" "$root/var/cache/liteipc-debs/"
# The root as a container without init: apt reaches the mirror for the dependencies.
run_in_root() { systemd-nspawn -q -D "$root" --register=no --keep-unit --pipe "$@"; }
transcript "apt-get install ./liteipc-loader ./liteipc ./libliteipc0.1 ./libliteipc-dev ./liteipc-bridge" \
    run_in_root sh -c "apt-get update -q && apt-get install -y --no-install-recommends /var/cache/liteipc-debs/*.deb"
rm -rf "$root/var/cache/liteipc-debs"

installed_where_debian_puts_them() {
    local f missing=0
    for f in usr/sbin/liteipc-loader usr/sbin/liteipc-setup-host usr/bin/liteipc usr/bin/liteipc-bridge \
             "usr/lib/$multiarch/libliteipc.so.0.1" "usr/lib/$multiarch/libliteipc_skeleton.so.0.1" \
             "usr/lib/$multiarch/pkgconfig/liteipc.pc" lib/systemd/system/liteipc-loader.service \
             lib/systemd/system/liteipc-bridge.service usr/lib/sysusers.d/liteipc-loader.conf \
             usr/lib/tmpfiles.d/liteipc.conf etc/liteipc/loader.conf etc/liteipc/bridge.json \
             usr/share/man/man8/liteipc-loader.8.gz usr/share/man/man1/liteipc.1.gz; do
        [[ -e $root/$f ]] || { echo "missing /$f"; missing=1; }
    done
    [[ ! -e $root/usr/etc && ! -e $root/usr/local/sbin/liteipc-loader ]] || { echo "files under /usr/etc or /usr/local"; missing=1; }
    return $missing
}
check "files where Debian puts them (/usr/sbin, multiarch libdir, /etc, /lib/systemd)" installed_where_debian_puts_them
# The loader finds its config where it reads it, and dpkg keeps an administrator's edits there.
conffiles() {
    local listed
    listed=$(run_in_root dpkg-query -W -f='${Package}:\n${Conffiles}\n' liteipc-loader liteipc-bridge) || return 1
    echo "$listed"
    [[ $listed == *" /etc/liteipc/loader.conf "* && $listed == *" /etc/liteipc/bridge.json "* ]]
}
transcript "/etc/liteipc/loader.conf and bridge.json are conffiles" conffiles
libraries_resolve() {
    local lib dynamic
    for lib in libliteipc.so.0.1 libliteipc_skeleton.so.0.1; do
        dynamic=$(readelf -d "$root/usr/lib/$multiarch/$lib") || return 1
        echo "$lib: $(grep -E 'NEEDED|RUNPATH|RPATH' <<<"$dynamic" | tr -s ' ' | tr '\n' ';')"
        [[ $dynamic != *RUNPATH* && $dynamic != *RPATH* ]] || return 1
    done
    [[ $dynamic == *"Shared library: [libliteipc.so.0.1]"* ]] &&
        run_in_root ldd "/usr/lib/$multiarch/libliteipc_skeleton.so.0.1" | grep "libliteipc.so.0.1 => /"
}
transcript "libliteipc_skeleton needs libliteipc and finds it in /usr with no RUNPATH" libraries_resolve
users_and_groups() {
    run_in_root sh -c 'getent group liteipc && getent passwd liteipc-bridge && id liteipc-bridge' >"$work/ids" || return 1
    cat "$work/ids"
    grep -q '(liteipc)' <(tail -1 "$work/ids")
}
transcript "sysusers.d: the liteipc group, the liteipc-bridge user in it" users_and_groups

# The container's loader reads the host's /proc. A member of the group and a user outside it.
mkdir -p "$root/etc/systemd/system/liteipc-loader.service.d"
cat >"$root/etc/systemd/system/liteipc-loader.service.d/package-test.conf" <<EOF
[Service]
BindReadOnlyPaths=/run/host/proc:/proc
EOF
run_in_root sh -c 'useradd -m -G liteipc member && useradd -m outsider' >/dev/null 2>&1

# ---- systemd booted in the root ----
step "booting the root with systemd-nspawn"
mkdir -p "$bpffs" && mount -t bpf bpf "$bpffs" || { failure "mount -t bpf bpf $bpffs"; finish; }
systemd-nspawn -D "$root" -b --capability=all --register=no --keep-unit --private-network \
    --system-call-filter='bpf perf_event_open' --console=pipe --bind="$bpffs:/sys/fs/bpf" --bind-ro=/proc:/run/host/proc \
    >"$work/boot.log" 2>&1 &
nspawn_pid=$!
# The container's pid 1: the process in a pid namespace of its own whose pid there is 1.
for _ in $(seq 300); do
    for pid in $(pgrep -P "$nspawn_pid") ; do
        [[ $(awk '/^NSpid:/ {print $NF}' "/proc/$pid/status" 2>/dev/null) == 1 ]] && container_pid=$pid
    done
    [[ -n $container_pid ]] && break
    kill -0 "$nspawn_pid" 2>/dev/null || break
    sleep 0.1
done
# systemctl answers once pid 1 listens on its private socket; then it waits for the boot to end.
booted() {
    [[ -n $container_pid ]] || return 1
    for _ in $(seq 300); do in_root test -S /run/systemd/private && break; sleep 0.1; done
    timeout 60 nsenter -t "$container_pid" -a systemctl is-system-running --wait
}
if ! transcript "systemd-nspawn -b: the root boots (systemctl is-system-running)" booted; then
    tail -30 "$work/boot.log" | sed 's/^/        /'
    finish
fi

verify_units() {
    in_root systemd-analyze verify /lib/systemd/system/liteipc-loader.service /lib/systemd/system/liteipc-bridge.service
}
transcript "systemd-analyze verify liteipc-loader.service liteipc-bridge.service (installed, man pages found)" verify_units
transcript "systemctl enable --now liteipc-loader" in_root systemctl enable --now liteipc-loader
transcript "the loader is active: its pins, its socket" \
    in_root sh -c "systemctl is-active liteipc-loader && systemctl show -p MainPID -p ExecStart liteipc-loader &&
                   ls /sys/fs/bpf/liteipc && stat -c '%A %U:%G %n' /run/liteipc /run/liteipc/liteipc.sock"
own_bpffs() {
    local inside outside
    inside=$(in_root stat -c %d /sys/fs/bpf) && outside=$(stat -c %d /sys/fs/bpf) || return 1
    echo "device of /sys/fs/bpf: $inside in the container, $outside on the host"
    [[ $inside != "$outside" && -d $bpffs/liteipc ]]
}
transcript "the container's pins are in a bpffs of its own, not the host's" own_bpffs
# The shipped policy gives unlisted names to nobody: as the README says, the administrator gives
# the example's names to the group and reloads. systemctl reload returns once SIGHUP is sent: the
# loader's line follows, with the shipped rule and this one.
reload_logged() {
    local reloaded=0 journal
    in_root sh -c 'echo "own example.* by group:liteipc" >> /etc/liteipc/loader.conf' || return 1
    in_root systemctl reload liteipc-loader || reloaded=$?
    for _ in $(seq 100); do
        journal=$(in_root journalctl -u liteipc-loader --no-pager -o short-precise)
        [[ $journal == *"reloaded /etc/liteipc/loader.conf: 2 name rules"* ]] && break
        sleep 0.1
    done
    echo "$journal"
    [[ $reloaded -eq 0 && $journal == *"reloaded /etc/liteipc/loader.conf: 2 name rules"* ]]
}
transcript "own example.* by group:liteipc added; systemctl reload liteipc-loader; journalctl -u shows the reload" reload_logged

# ---- a service built against libliteipc-dev, a call from the CLI ----
step "a service and a call"
build_service() {
    in_root sh -c 'flags=$(pkg-config --cflags --libs liteipc) && echo "pkg-config liteipc: $flags" &&
        gcc -std=c11 -Wall -o /usr/local/bin/echo_service /usr/share/doc/libliteipc-dev/examples/c/echo_service.c $flags'
}
transcript "the C echo example builds with pkg-config liteipc (libliteipc-dev and its Depends)" build_service
serve() {
    in_root systemd-run --unit=echo-service -p User=member /usr/local/bin/echo_service ||
        return 1
    for _ in $(seq 100); do
        in_root liteipc list 2>/dev/null | grep -q example.c.echo && break
        sleep 0.1
    done
    in_root liteipc list
    in_root liteipc list | grep -q example.c.echo
}
transcript "a member of the liteipc group serves example.c.echo (systemd-run)" serve
member_call() {
    local reply
    reply=$(in_root runuser -u member -- liteipc call example.c.echo 1 s:hello --reply s) ||
        return 1
    echo "$reply"
    [[ $reply == *hello* ]]
}
transcript "liteipc call example.c.echo 1 s:hello, as a member: the reply" member_call
outsider_call() {
    local reply rc
    in_root id outsider || return 1
    reply=$(in_root runuser -u outsider -- liteipc call example.c.echo 1 s:hello --reply s 2>&1)
    rc=$?
    echo "$reply (exit $rc)"
    [[ $rc -ne 0 && $reply == liteipc:* && $reply != *'"hello"'* ]]
}
transcript "liteipc call as a user outside the group: refused" outsider_call
transcript "liteipc status" in_root liteipc status
in_root systemctl stop echo-service >/dev/null 2>&1

# ---- purge: nothing of ours is left ----
step "apt-get purge"
in_root dpkg-query -L "${packages[@]}" 2>/dev/null | sort -u >"$work/files"
transcript "apt-get purge ${packages[*]}" in_root apt-get purge -y "${packages[@]}"
nothing_left() {
    local left=() f
    while IFS= read -r f; do
        [[ -n $f && ! -d $root$f && ( -e $root$f || -L $root$f ) ]] && left+=("$f")
    done <"$work/files"
    [[ -e $root/etc/liteipc ]] && left+=(/etc/liteipc)
    in_root test -e /run/liteipc && left+=(/run/liteipc)
    [[ -e $bpffs/liteipc ]] && left+=("the pins in /sys/fs/bpf/liteipc")
    in_root systemctl cat liteipc-loader.service >/dev/null 2>&1 && left+=("unit liteipc-loader.service")
    in_root sh -c 'cat /proc/[0-9]*/comm' 2>/dev/null | grep -q '^liteipc-loader$' && left+=("a liteipc-loader process")
    in_root dpkg -l 'liteipc*' 'libliteipc*' 2>/dev/null | grep -E '^(ii|rc)' && left+=("dpkg still lists packages")
    echo "$(wc -l <"$work/files") paths were installed; left: ${left[*]:-nothing}"
    [[ ${#left[@]} -eq 0 && $(wc -l <"$work/files") -gt 20 ]]
}
transcript "after purge no file, unit, process, config, runtime directory or pin is left" nothing_left

step "shutting the root down"
stop_container
finish
