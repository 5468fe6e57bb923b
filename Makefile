# A thin front over CMake. Every target first installs missing Debian packages.
BUILD ?= build
.PHONY: all build test demo bench fuzz install clean deps

all: build

deps:
	@scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j$$(nproc)

test:
	scripts/test.sh

demo:
	scripts/demo.sh

bench: build
	BUILD_DIR=$(BUILD) scripts/bench.sh

fuzz: deps
	scripts/fuzz.sh $${FUZZ_SECONDS:-60}

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD)
