#!/usr/bin/env bash
# Generated proxies and stubs against hand-written calls (bench/idl): a private liteipc-loader on
# its own pin root and socket, one service in a child process answering both, called by turns.
# As root.
#   scripts/bench-idl.sh [BUILD_DIR]     (default: build-bench, configured with the benchmarks)
exec "$(dirname "$0")/bench-on-loader.sh" idl_bench bench/idl/idl_bench "$@"
