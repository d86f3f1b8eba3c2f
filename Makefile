# Top-level driver: CMake does the building, this file gives the short names.
#   make        build into build/
#   make test   build and run every test, then again under ASan+UBSan (build-asan/)
#   make demo   run the service against simulated switch nodes
#   make bench  benchmarks (see BENCHMARKS.md)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build build-asan test test-plain test-asan demo bench clean

all: build

deps:
	@scripts/install-deps --check >/dev/null 2>&1 || scripts/install-deps

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

build-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DACTIVECALLS_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)

test-plain: build
	cd build && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS)

test: test-plain test-asan

demo: build
	scripts/demo

bench: build
	@if [ -x bench/run ]; then bench/run; else echo "bench: not built yet"; exit 1; fi

clean:
	rm -rf build build-asan
