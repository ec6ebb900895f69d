#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (fuzz/<name>_fuzz.cc).
#
#   fuzz/run.sh build            configure + build build-fuzz/ with clang
#   fuzz/run.sh run [NAME...]    run each target FUZZ_SECONDS (default 600)
#
# Environment: FUZZ_SECONDS, FUZZ_JOBS (targets run at once, default 1),
# FUZZ_BUILD (default build-fuzz), FUZZ_NICE (nice level, default 0), FUZZ_LOGS
# (log directory, default $FUZZ_BUILD/logs).
# Each target starts from fuzz/corpus/<name> and fuzz/regressions/<name>; new
# inputs go into a scratch copy ($FUZZ_BUILD/corpus/<name>), never into the
# repository. Findings land in $FUZZ_BUILD/artifacts/<name>/ and fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${FUZZ_BUILD:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-600}
JOBS=${FUZZ_JOBS:-1}
NICE=${FUZZ_NICE:-0}

build() {
  CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_C_FLAGS_DEBUG=-O1 -gline-tables-only" "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only" \
    -DINITKIT_SANITIZE=ON -DINITKIT_TESTS=OFF -DINITKIT_FUZZ=ON >/dev/null
  cmake --build "$BUILD" -j "$(nproc)" --target fuzz-targets
}

# One target: fuzz, then print one summary line from libFuzzer's own figures.
run_one() {
  local name=$1
  local bin=$BUILD/fuzz/fuzz_$name scratch=$BUILD/corpus/$name art=$BUILD/artifacts/$name
  local log=${FUZZ_LOGS:-$BUILD/logs}/$name.log
  rm -rf "$art"
  mkdir -p "$scratch" "$art" "$(dirname "$log")"
  local dirs=("$scratch" "fuzz/corpus/$name")
  [[ -d fuzz/regressions/$name ]] && dirs+=("fuzz/regressions/$name")
  local dict=()
  [[ -f fuzz/dict/$name.dict ]] && dict=("-dict=fuzz/dict/$name.dict")
  # -timeout: one input may take this long (a loaded box, under ASan) before
  # it counts as a hang; -rss_limit_mb (also the malloc limit): an input needing more
  # memory than that is a finding. Leak detection is libFuzzer's default (on).
  local rc=0
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    nice -n "$NICE" "$bin" -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=2048 \
    -max_len=4096 -detect_leaks=1 -print_final_stats=1 \
    -artifact_prefix="$art/" "${dict[@]}" "${dirs[@]}" >"$log" 2>&1 || rc=$?
  local execs eps cov findings
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  findings=$(find "$art" -type f | wc -l)
  printf '%-18s executions=%-10s exec/s=%-7s %-22s findings=%s rc=%s\n' \
    "$name" "${execs:-?}" "${eps:-?}" "${cov:-cov: ?}" "$findings" "$rc"
  if [[ $rc -ne 0 || $findings -ne 0 ]]; then
    echo "  FAILED: $log; inputs in $art/" >&2
    grep -E 'ERROR: |runtime error|fuzz invariant failed|SUMMARY' "$log" | head -5 >&2 || true
    return 1
  fi
}

run() {
  local names=("$@")
  if [[ ${#names[@]} -eq 0 ]]; then
    for f in fuzz/*_fuzz.cc; do
      f=${f#fuzz/}
      names+=("${f%_fuzz.cc}")
    done
  fi
  echo "fuzzing ${#names[@]} targets, ${SECONDS_EACH}s each, $JOBS at a time"
  export -f run_one
  export BUILD SECONDS_EACH NICE FUZZ_LOGS
  printf '%s\n' "${names[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one "$@"' _ {}
}

case ${1:-} in
  build) build ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 build | run [NAME...]" >&2; exit 2 ;;
esac
