# SheetNet: `make demo` and `make test` on a fresh Debian 12 machine with Swift 6.
SWIFT ?= swift
APT_PACKAGES := libopenblas-dev libcairo2-dev pkg-config fonts-dejavu-core
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE := -c release --scratch-path .build-release
SHEETNET := .build-release/release/sheetnet

.PHONY: deps build release demo test bench bench-compare clean

# Installs the Debian packages that are missing (through sudo when not root).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "Installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

# Release builds (`release`, `demo`, `bench`), one thread for benchmarks.
# Compiled for the widest vector set /proc/cpuinfo shows: AVX-512 (-target-cpu skylake-avx512)
# when it lists avx512f/dq/bw/vl/cd and the AVX2 set, else AVX2 (-target-cpu haswell: the
# x86-64-v3 instruction set, a name swiftc does not take), else baseline x86-64.
# Override: make bench BENCH_CPU=native (or haswell, or BENCH_CPU= for baseline).
# The pure-Swift product stays bit-identical either way (no fused multiply-add); the bench checks.
BENCH_CPU_FEATURES := avx2 fma bmi1 bmi2 f16c movbe
BENCH_AVX512_FEATURES := avx512f avx512dq avx512bw avx512vl avx512cd
ifeq ($(origin BENCH_CPU),undefined)
BENCH_CPU := $(shell for f in $(BENCH_CPU_FEATURES); do grep -qw $$f /proc/cpuinfo 2>/dev/null || exit 0; done; \
  for f in $(BENCH_AVX512_FEATURES); do grep -qw $$f /proc/cpuinfo 2>/dev/null || { echo haswell; exit 0; }; done; echo skylake-avx512)
endif
BENCH_FLAGS := $(if $(BENCH_CPU),-Xswiftc -target-cpu -Xswiftc $(BENCH_CPU))
build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE) $(BENCH_FLAGS) --product sheetnet

# The main job on shipped data: train the digits MLP, print its summary and test accuracy.
demo: release
	$(SHEETNET) summary Worksheets/digits-mlp.yaml
	$(SHEETNET) train Worksheets/digits-mlp.yaml

test: deps
	$(SWIFT) test

# The bench, the sheetnet binary its figure cases run, and a second bench with tracing compiled
# out (-DSHEETNET_NO_TRACE) in its own scratch folder; then the table and the trace overhead.
NOTRACE := -c release --scratch-path .build-release-notrace -Xswiftc -DSHEETNET_NO_TRACE
bench: deps
	$(SWIFT) build $(RELEASE) $(BENCH_FLAGS) --product sheetnet-bench
	$(SWIFT) build $(RELEASE) $(BENCH_FLAGS) --product sheetnet
	$(SWIFT) build $(NOTRACE) $(BENCH_FLAGS) --product sheetnet-bench
	OPENBLAS_NUM_THREADS=1 SHEETNET_BENCH_CPU="$(BENCH_CPU)" .build-release/release/sheetnet-bench
	OPENBLAS_NUM_THREADS=1 python3 Benchmarks/trace_overhead.py

# The same networks in NumPy (and PyTorch where installed), measured in the same run.
bench-compare: bench
	OPENBLAS_NUM_THREADS=1 SHEETNET_BENCH_CPU="$(BENCH_CPU)" python3 Benchmarks/compare.py

clean:
	rm -rf .build .build-release .build-release-notrace
