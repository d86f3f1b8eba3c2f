# Top-level driver: CMake does the building, this file gives the short names.
#   make        build into build/
#   make test   build and run every test, then again under ASan+UBSan (build-asan/),
#               then each fuzz harness for a few seconds from its seeds (build-fuzz/)
#   make fuzz   build the libFuzzer harnesses (clang, build-fuzz/) and run each
#               for FUZZ_SECONDS (60); FUZZ_TARGETS="jwt cidr" runs only those
#   make demo   run the service against simulated switch nodes
#   make bench  benchmarks (see BENCHMARKS.md)
#   make soak   SOAK_S (1800) seconds of mixed load against the ASan build (BENCHMARKS.md)
#   make format / make format-check   clang-format the C sources / check they are
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60

.PHONY: all deps build build-asan build-fuzz test test-plain test-asan test-fuzz fuzz demo bench soak deb deb-test format format-check clean

all: build

deps:
	@scripts/install-deps --check >/dev/null 2>&1 || scripts/install-deps

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

build-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DACTIVECALLS_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)

# The harnesses need clang (libFuzzer); CMake only builds acore and fuzz/ there.
build-fuzz: deps
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DACTIVECALLS_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

test-plain: build
	cd build && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS)

# Smoke runs: a few seconds per harness (fuzz/CMakeLists.txt), new inputs
# in temporary directories.
test-fuzz: build-fuzz
	cd build-fuzz && ctest --output-on-failure -j $(JOBS)

test: test-plain test-asan test-fuzz

fuzz: build-fuzz
	@for t in $${FUZZ_TARGETS:-$$(cat build-fuzz/fuzz-targets)}; do \
	  scripts/fuzz build-fuzz $$t $(FUZZ_SECONDS) || exit 1; \
	done

demo: build
	scripts/demo

deb: deps
	scripts/make-deb

deb-test: deb
	scripts/deb-test

bench: build
	@if [ -x bench/run ]; then bench/run; else echo "bench: not built yet"; exit 1; fi

# SOAK_S (1800) seconds of mixed load, faults and a database restart
# against the ASan+UBSan build; prints a table a minute and the verdict.
soak: build-asan
	bench/soak

format: deps
	@scripts/format

format-check: deps
	@scripts/format --check

clean:
	rm -rf build build-asan build-fuzz
