# SheetNet: `make demo` and `make test` on a fresh Debian 12 machine with Swift 6.
SWIFT ?= swift
# SheetNet's own builds: the engine optimised in debug builds too, every target for this machine's
# CPU (Package.swift reads it; a package depending on SheetNet sets neither and gets no unsafe flags).
export SHEETNET_DEV := 1
APT_PACKAGES := libopenblas-dev libcairo2-dev pkg-config fonts-dejavu-core zlib1g-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE := -c release --scratch-path .build-release --static-swift-stdlib
SHEETNET := .build-release/release/sheetnet

.PHONY: deps build release demo install test bench bench-compare bench-ab gallery clean

# Installs the Debian packages that are missing (through sudo when not root).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "Installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

# Release builds (`release`, `demo`, `bench`) link the Swift runtime and Foundation statically:
# a process then starts in about 13 ms instead of 21 (no symbol binding across a dozen shared
# Swift libraries), which is most of a figure's time. One thread for benchmarks. Package.swift compiles
# every target for the widest vector set /proc/cpuinfo shows (AVX-512, else AVX2, else baseline);
# SHEETNET_TARGET_CPU=baseline (or a swiftc CPU name) overrides it. The numbers stay the same.
build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE) --product sheetnet

# The main job on shipped data: `sheetnet build` over every lesson in Worksheets/ — each trained
# (or its saved model reused), traced, exported as worksheets, drawn, given an exercise sheet and a
# page — into Output/<lesson>/ and Output/index.html. A second run finds every lesson up to date.
demo: release
	$(SHEETNET) build

# Puts the release binary in $(PREFIX)/bin (default ~/.local/bin, on PATH in Debian's default
# ~/.profile once the folder exists).
PREFIX ?= $(HOME)/.local
install: release
	install -d "$(PREFIX)/bin"
	install -m 755 $(SHEETNET) "$(PREFIX)/bin/sheetnet"
	@echo "Installed $(PREFIX)/bin/sheetnet"

# The suite touches nothing outside its own temporary folders: every entry of the checkout's
# Output/ and Worksheets/ (its path, type and, for a file, its SHA-256) is listed before and after
# the run, and any difference fails `make test`.
CHECKOUT_STATE := { find Output Worksheets -printf '%p %y\n'; find Output Worksheets -type f -exec sha256sum {} +; } | LC_ALL=C sort
test: deps
	@before=$$(mktemp); $(CHECKOUT_STATE) > $$before; \
	$(SWIFT) test; status=$$?; \
	if ! $(CHECKOUT_STATE) | diff -q $$before - >/dev/null; then \
	  echo "make test changed the checkout's Output/ or Worksheets/ (< before, > after):"; $(CHECKOUT_STATE) | diff $$before - | head -40; status=1; fi; \
	rm -f $$before; exit $$status

# README's gallery: every kind listed in docs/gallery/gallery.txt, drawn at slide size and scale 1
# into docs/gallery/ (GalleryTests compares them with what the code draws in `make test`).
gallery: release
	grep -v '^#' docs/gallery/gallery.txt | while read kind lesson; do \
	  $(SHEETNET) figure $$kind Worksheets/$$lesson.yaml --scale 1 --output docs/gallery || exit 1; done

# The bench, the sheetnet binary its figure cases run, and a second bench with tracing compiled
# out (-DSHEETNET_NO_TRACE) in its own scratch folder; then the table, the trace overhead and the
# worksheet export (Benchmarks/workbooks.py: write times, sizes, LibreOffice's recalculation), and
# every digits-cnn figure from a saved model against matplotlib (Benchmarks/figures_reused.py), and
# `sheetnet build` of every lesson from scratch, with nothing changed and with one lesson touched,
# with the share of each stage (Benchmarks/build.py).
NOTRACE := -c release --scratch-path .build-release-notrace --static-swift-stdlib -Xswiftc -DSHEETNET_NO_TRACE
bench: deps
	$(SWIFT) build $(RELEASE) --product sheetnet-bench
	$(SWIFT) build $(RELEASE) --product sheetnet
	$(SWIFT) build $(NOTRACE) --product sheetnet-bench
	OPENBLAS_NUM_THREADS=1 .build-release/release/sheetnet-bench
	OPENBLAS_NUM_THREADS=1 python3 Benchmarks/trace_overhead.py
	OPENBLAS_NUM_THREADS=1 python3 Benchmarks/workbooks.py
	OPENBLAS_NUM_THREADS=1 python3 Benchmarks/figures_reused.py
	OPENBLAS_NUM_THREADS=1 python3 Benchmarks/build.py

# Has a change made a training step slower? The release sheetnet-bench of BASE (default: the
# previous commit, built in a scratch worktree) against this tree's, interleaved in one run
# (Benchmarks/ab.py: new/old per case, the median of 5 rounds).
BASE ?= HEAD~1
bench-ab: deps
	$(SWIFT) build $(RELEASE) --product sheetnet-bench
	rm -rf .build-base && git worktree prune && git worktree add --detach .build-base/src $(BASE)
	cd .build-base/src && $(SWIFT) build $(RELEASE) --product sheetnet-bench
	OPENBLAS_NUM_THREADS=1 python3 Benchmarks/ab.py .build-base/src/.build-release/release/sheetnet-bench \
	  .build-release/release/sheetnet-bench --rounds 5 --filter step/; status=$$?; \
	  git worktree remove --force .build-base/src; rm -rf .build-base; exit $$status

# The same networks in NumPy (and PyTorch where installed), measured in the same run.
bench-compare: bench
	OPENBLAS_NUM_THREADS=1 python3 Benchmarks/compare.py

# Fuzzing (Fuzz/README.md): the readers of untrusted input — lessons (parse, data, network),
# CSV, model.json, IDX — under libFuzzer with AddressSanitizer, FUZZ_SECONDS each on scratch
# copies of Fuzz/corpus/ (in Fuzz/work/), crashes saved in Fuzz/failures/; then the lesson
# mutation fuzzer through the release binary (run even after a finding). Fails if either finds
# anything.
.PHONY: fuzz
FUZZ_SECONDS ?= 600
FUZZ_BUILD := -c release --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DSHEETNET_FUZZ \
  -Xcc -fsanitize=fuzzer-no-link,address
fuzz: release
	$(SWIFT) build $(FUZZ_BUILD) --product sheetnet-fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) Fuzz/run_fuzzers.sh; libfuzzer=$$?; \
	  python3 Fuzz/mutate_lessons.py 10000 && exit $$libfuzzer

clean:
	rm -rf .build .build-release .build-release-notrace
