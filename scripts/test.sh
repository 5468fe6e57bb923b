#!/usr/bin/env bash
# Builds everything and runs the unit and system tests (system tests need root and real BPF).
# LITEIPC_REQUIRE_BPF=1 turns a skipped BPF test into a failure (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build}

scripts/deps.sh
if [ "$(id -u)" -eq 0 ]; then scripts/setup-env.sh; fi
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure --timeout 600
