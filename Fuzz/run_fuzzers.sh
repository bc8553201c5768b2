#!/usr/bin/env bash
# Runs the libFuzzer build of sheetnet-fuzz over each target in turn (make fuzz calls it).
#
# Usage: Fuzz/run_fuzzers.sh [TARGET...]      (default: lesson csv model idx)
# Environment: FUZZ_SECONDS (default 600) per target; FUZZ_BINARY (default
# .build-fuzz/release/sheetnet-fuzz, built by `make fuzz`); FUZZ_FLAGS, extra libFuzzer flags.
#
# Each target fuzzes a fresh copy of its seed corpus in Fuzz/work/<target>/ (so Fuzz/corpus/,
# which is committed, never churns), with Fuzz/dict/<target>.dict, a 10 s timeout per input and
# a 4 GB memory limit (which also caps any single allocation). A crash, a timeout or an
# out-of-memory stops that target and leaves its input as Fuzz/failures/<target>-crash-…
# (or -timeout-…, -oom-…, -leak-…); the whole log is Fuzz/work/<target>.log. Prints one line of
# counts per target, and exits 1 if any target found something.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-600}
binary=${FUZZ_BINARY:-.build-fuzz/release/sheetnet-fuzz}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(lesson csv model idx)
[ -x "$binary" ] || { echo "run_fuzzers: $binary is missing; run make fuzz" >&2; exit 2; }
mkdir -p Fuzz/work Fuzz/failures
# Engine code never needs more than one BLAS thread here; ASan's leak check is off because the
# engine's caches (shipped datasets, layer registry) live for the whole process.
export OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
found=()
for t in "${targets[@]}"; do
  rm -rf "Fuzz/work/$t"
  cp -R "Fuzz/corpus/$t" "Fuzz/work/$t"
  log="Fuzz/work/$t.log"
  echo "fuzz $t: ${seconds} s on a copy of Fuzz/corpus/$t (log $log)"
  SHEETNET_FUZZ_TARGET=$t "$binary" "Fuzz/work/$t" -dict="Fuzz/dict/$t.dict" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -artifact_prefix="Fuzz/failures/$t-" -print_final_stats=1 ${FUZZ_FLAGS:-} >"$log" 2>&1
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
  if [ $status -eq 0 ]; then
    echo "fuzz $t: ${runs:-?} executions (${speed:-?}/s), ${cov:-no coverage line}, no finding"
  else
    found+=("$t")
    echo "fuzz $t: FINDING after ${runs:-?} executions (status $status):"
    grep -E '^==[0-9]+==ERROR|^SUMMARY|Fatal error|Test unit written to|^ALARM|out-of-memory|malloc\(' "$log" | head -8 | sed 's/^/  /'
  fi
done
if [ ${#found[@]} -gt 0 ]; then
  echo "fuzz: findings in ${found[*]}; reproducers in Fuzz/failures/, replay one with a normal build:"
  echo "  swift build --product sheetnet-fuzz && .build/debug/sheetnet-fuzz --target TARGET Fuzz/failures/FILE"
  exit 1
fi
echo "fuzz: ${targets[*]}: no findings"
