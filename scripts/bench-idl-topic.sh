#!/usr/bin/env bash
# A generated topic publisher against publish_copy of the same payload (bench/idl): a private
# liteipc-loader on its own pin root and socket, one subscriber process reading both. As root.
#   scripts/bench-idl-topic.sh [BUILD_DIR]     (default: build-bench, configured with the benchmarks)
exec "$(dirname "$0")/bench-on-loader.sh" idl_topic_bench bench/idl/idl_topic_bench "$@"
