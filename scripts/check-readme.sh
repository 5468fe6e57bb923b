#!/usr/bin/env bash
# Runs the README's commands as written, so that a newcomer's first five minutes work.
#
#   scripts/check-readme.sh BUILD_DIR      (root; ctest runs it as docs.readme)
#
# Every ```sh block of README.md runs in bash (-e: each command must succeed), in order, with
# what the README assumes of the reader's host: the programs on PATH and the libraries where
# pkg-config finds them (the build, installed to a temporary prefix), and a running loader (a
# private one: LITEIPC_SOCKET and LITEIPC_PIN_ROOT name it, as liteipc(7) documents). An HTML
# comment before a block says how to treat it:
#   <!-- check-readme: skip: REASON -->          not run here (REASON is printed)
#   <!-- check-readme: file NAME -->             the block is written to NAME
#   <!-- check-readme: in the files' directory --> run where the files were written (else in the
#                                                  repository, as its scripts expect)
# Exit status 0 when every block ran, 1 otherwise; 77 (skipped) without root, unless
# LITEIPC_REQUIRE_BPF=1 (CI), where that is a failure.
set -uo pipefail
build=$(realpath "${1:?usage: check-readme.sh BUILD_DIR}")
repo=$(realpath "$(dirname "$0")/..")
readme=$repo/README.md

if [ "$(id -u)" -ne 0 ]; then
  echo "check-readme: needs root (the README's commands start services and the demo prepares the host)"
  [ "${LITEIPC_REQUIRE_BPF:-}" = 1 ] && exit 1
  exit 77
fi

work=$(mktemp -d /tmp/liteipc-readme.XXXXXX)
pin_root=/sys/fs/bpf/liteipc-readme-$$
socket=$work/liteipc.sock
loader_pid=
cleanup() {
  if [ -n "$loader_pid" ]; then kill "$loader_pid" 2>/dev/null; wait "$loader_pid" 2>/dev/null; fi
  "$build/src/loader/liteipc-loader" --unload --pin-root "$pin_root" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# The reader's host: liteipc installed (here into a prefix of its own), a loader running.
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; echo "check-readme: cmake --install failed"; exit 1; }
pkgconfig_dirs=$(find "$prefix" -name liteipc.pc -printf '%h:')
library_dirs=$(find "$prefix" -name 'libliteipc.so*' -printf '%h:' | tr ':' '\n' | sort -u | tr '\n' ':')
export PATH=$prefix/bin:$prefix/sbin:$PATH
export PKG_CONFIG_PATH=$pkgconfig_dirs LD_LIBRARY_PATH=$library_dirs
export LITEIPC_SOCKET=$socket LITEIPC_PIN_ROOT=$pin_root
# scripts/demo.sh builds in the tests' build directory, which has all it needs.
export BUILD_DIR=$build
"$prefix/sbin/liteipc-loader" --pin-root "$pin_root" --socket "$socket" >"$work/loader.log" 2>&1 &
loader_pid=$!
for _ in $(seq 200); do liteipc status >/dev/null 2>&1 && break; sleep 0.05; done
liteipc status >/dev/null || { cat "$work/loader.log"; echo "check-readme: the loader did not start"; exit 1; }

# The blocks, in order: kind (sh, file, skip), where to run, a name or reason, the text.
mkdir -p "$work/files" "$work/blocks"
awk -v out="$work/blocks" '
  /^<!-- check-readme: / { note = $0; sub(/^<!-- check-readme: /, "", note); sub(/ -->$/, "", note); next }
  /^```/ && !inside {
    inside = 1; lang = substr($0, 4); n++; file = sprintf("%s/%03d", out, n); printf "" > file
    printf "%s\n", (note == "" ? "-" : note) > (file ".note"); printf "%s\n", lang > (file ".lang")
    note = ""; next
  }
  /^```/ && inside { inside = 0; close(file); next }
  inside { print >> file; next }
  /[^[:space:]]/ { note = "" }
' "$readme"

failures=0 ran=0 skipped=0
for block in "$work"/blocks/[0-9][0-9][0-9]; do
  note=$(cat "$block.note") lang=$(cat "$block.lang")
  case $note in
    "skip: "*) echo "== skipped (${note#skip: }):"; sed 's/^/   | /' "$block"; skipped=$((skipped + 1)); continue ;;
    "file "*) cp "$block" "$work/files/${note#file }"; echo "== wrote ${note#file }"; continue ;;
  esac
  [ "$lang" = sh ] || continue
  dir=$repo
  [ "$note" = "in the files' directory" ] && dir=$work/files
  echo "== running in ${dir/#$work/\$work}:"
  sed 's/^/   $ /' "$block"
  # Bounded: a block that waits for something that never comes fails instead of hanging.
  if (cd "$dir" && timeout 900 bash -e "$block") >"$block.out" 2>&1; then
    sed 's/^/   | /' "$block.out" | tail -15
    ran=$((ran + 1))
  else
    sed 's/^/   | /' "$block.out" | tail -40
    echo "FAIL: the block above"
    failures=$((failures + 1))
  fi
done
echo "check-readme: $ran blocks ran, $skipped skipped with their reason, $failures failed"
[ "$failures" -eq 0 ] && [ "$ran" -gt 0 ]
