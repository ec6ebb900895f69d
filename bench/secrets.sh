#!/usr/bin/env bash
# Wall time of a steady-state `initkit-secrets sync` against the local
# Kubernetes fake (HTTPS, bearer token), without and with Keycloak sync.
# Median of RUNS (default 15) runs; target <= 30 ms each.
#   BUILD=build bench/secrets.sh
# The binary measured is the shipped static one (build-static/, `make static`)
# when it exists, else $BUILD's; BIN=... picks another. A dynamic build spends
# most of its start-up loading ~35 shared libraries of libcurl.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-15}
if [ -z "${BIN:-}" ]; then
  BIN=$BUILD/bin/initkit-secrets
  [ -x build-static/bin/initkit-secrets ] && BIN=build-static/bin/initkit-secrets
fi
echo "secrets bench: $BIN"
FAKE=$BUILD/bin/bench_fake_api
for f in "$BIN" "$FAKE"; do
  [ -e "$f" ] || { echo "secrets bench: $f missing (make bench builds it)" >&2; exit 2; }
done

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

median_ms() {  # runs "$@" RUNS times, prints the median wall time in ms
  local times=()
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "secrets bench: run failed: $*" >&2; exit 1; }
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n |
    awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f ms (min %.1f ms)", m/1000, a[1]/1000}'
}

run_case() {  # name, extra fake flag
  local name=$1 flag=${2:-}
  local dir="$TMP/$name"
  mkdir -p "$dir"
  "$FAKE" "$dir" $flag &
  PIDS+=($!)
  for _ in $(seq 200); do [ -e "$dir/ready" ] && break; sleep 0.05; done
  [ -e "$dir/ready" ] || { echo "secrets bench: fake did not start" >&2; exit 1; }
  local envs=()
  while IFS= read -r line; do envs+=("$line"); done <"$dir/env"
  local cmd=(env "${envs[@]}" INITKIT_LOG_LEVEL=warn "$BIN" sync --secret app)
  "${cmd[@]}" >/dev/null 2>&1  # first sync creates everything: not steady state
  local m
  m=$(median_ms "${cmd[@]}")
  echo "secrets sync ($name): median ${m} over $RUNS runs (target <= 30 ms)"
}

# Process start-up alone, to tell API time from a loaded machine's noise.
echo "initkit-secrets --version (start-up baseline): median $(median_ms "$BIN" --version)"
run_case k8s
run_case k8s+keycloak --keycloak
