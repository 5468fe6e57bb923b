#!/usr/bin/env bash
# The C API round trip (bench/capi): a private liteipc-loader on its own pin root and socket, a C
# API service in a child process, medians of 20000 small calls and 2000 calls carrying 64 KiB
# data buffers each way. As root.
#   scripts/bench-capi.sh [BUILD_DIR]     (default: build-bench, configured with the benchmarks)
exec "$(dirname "$0")/bench-on-loader.sh" capi_bench bench/capi/capi_bench "$@"
