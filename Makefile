# A thin front over CMake. Every target first installs missing Debian packages.
BUILD ?= build
.PHONY: all build test test-asan test-tsan chaos demo bench bench-check fuzz install uninstall package clean deps

all: build

deps:
	@scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j$$(nproc)

test:
	scripts/test.sh

# The unit and system tests built with ASan + UBSan (no recovery), or with TSan.
test-asan:
	scripts/test-sanitized.sh address

test-tsan:
	scripts/test-sanitized.sh thread

# Services, clients and the loader killed, stopped and restarted under full load; CHAOS_SECONDS long.
chaos:
	scripts/chaos.sh $${CHAOS_SECONDS:-600}

demo:
	scripts/demo.sh

# Every benchmark prints ratios against peers measured in the same run.
bench: deps
	scripts/bench.sh --rounds 3
	scripts/plot-bench.sh bench-results.csv bench-rtt.png
	scripts/bench-death.sh
	scripts/bench-idl.sh
	scripts/bench-idl-topic.sh
	cmake --build build-bench -j2 --target marshal_bench wake_bench conn_memory_bench pubsub_bench
	build-bench/bench/pubsub/pubsub_bench
	build-bench/bench/marshal_bench
	build-bench/bench/rtt/wake_bench
	build-bench/bench/rtt/conn_memory_bench
	cmake --build build-bench -j2 --target bridge_bench
	build-bench/bench/bridge/bridge_bench
	build-bench/bench/bridge/bridge_bench --cluster

# The bench gate (CI): a short interleaved run that fails when liteipc loses its zero-copy or fast
# path against the shared-memory floors; one automatic re-run before it fails (docs/BENCHMARKS.md).
bench-check:
	BUILD_DIR=$(BUILD) scripts/bench-check.sh

fuzz: deps
	scripts/fuzz.sh $${FUZZ_SECONDS:-60}

install: build
	cmake --install $(BUILD)

uninstall:
	cmake --build $(BUILD) --target uninstall

# Debian packages (liteipc-loader, liteipc, libliteipc0.1, libliteipc-dev, liteipc-bridge and their
# -dbgsym) built by dpkg-buildpackage -b into $(BUILD)/debs.
package: deps
	scripts/build-packages.sh $(BUILD)/debs

clean:
	rm -rf $(BUILD) build-asan build-tsan
