#!/usr/bin/env bash
# Benchmarks initkit-bootstrap against `cp -a` and `rsync -a` on the fixture
# PHP app (tests/fixtures/make-php-app.sh, ~11.7k files / 109 MB, and a
# `--copies 4` variant), side by side in one hyperfine run per scenario:
#   (a) fresh copy onto tmpfs (an emptyDir with medium: Memory)
#   (b) fresh copy onto a disk directory
#   (c) no-change re-run vs `rsync -a`
# Prints medians and ratios; targets on a 2-core machine: (a) <= 0.2x cp -a,
# (b) <= 1.0x cp -a, (c) <= 0.25x rsync. Also prints CPU time (user+sys),
# which other load on the machine distorts less than wall time.
#
#   bench/copy.sh                 # uses build/bin/initkit-bootstrap
#   BOOTSTRAP_BIN=... RUNS=7 COPIES="1 4" bench/copy.sh
# The disk target runs for the 1-copy fixture only (DISK_ALL=1: for every
# fixture): on a shared VM disk one `--copies 4` run takes minutes.
# TARGETS="tmpfs" skips the disk scenario.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BOOTSTRAP_BIN:-$root/build/bin/initkit-bootstrap}
runs=${RUNS:-5}
copies_list=${COPIES:-1 4}
cache=${BENCH_CACHE:-/tmp/initkit-bench}
fixture=${FIXTURE_SCRIPT:-$root/tests/fixtures/make-php-app.sh}
tmpfs_base=${TMPFS_DIR:-/dev/shm/initkit-bench}
disk_base=${DISK_DIR:-$cache/disk}

for tool in hyperfine rsync python3; do
  command -v "$tool" >/dev/null || { echo "copy.sh: $tool is missing (scripts/deps.sh installs it)" >&2; exit 2; }
done
[ -x "$bin" ] || { echo "copy.sh: $bin not built (make build)" >&2; exit 2; }
[ "$runs" -ge 5 ] || { echo "copy.sh: RUNS must be >= 5" >&2; exit 2; }
mkdir -p "$cache" "$tmpfs_base" "$disk_base"
if [ "$(stat -f -c %T "$tmpfs_base")" != "tmpfs" ]; then
  echo "copy.sh: $tmpfs_base is not on a tmpfs" >&2
  exit 2
fi

app_for() {  # builds (once) and prints the fixture dir for N copies
  local n=$1 dir="$cache/app$1"
  if [ ! -f "$dir.complete" ]; then
    local install=0
    command -v composer >/dev/null && [ -d /usr/share/php/Illuminate ] || install=1
    INSTALL=${INSTALL:-$install} "$fixture" "$dir" --copies "$n" >&2
    touch "$dir.complete"
  fi
  echo "$dir"
}

summary=$cache/summary.txt
: >"$summary"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs, runs=$runs" | tee -a "$summary"

# Runs one hyperfine comparison; $1 = name, the rest alternating label/command.
# Prepare (fresh copies) removes the target first, outside the timing.
compare() {
  local name=$1 prepare=$2
  shift 2
  local args=()
  while [ $# -gt 0 ]; do
    args+=(-n "$1" "$2")
    shift 2
  done
  local json=$cache/$name.json
  if [ -n "$prepare" ]; then
    hyperfine -N --style basic --warmup 1 --runs "$runs" --prepare "$prepare" \
      --export-json "$json" "${args[@]}" >&2
  else
    hyperfine -N --style basic --warmup 1 --runs "$runs" --export-json "$json" "${args[@]}" >&2
  fi
  python3 - "$json" "$name" <<'PY' | tee -a "$summary"
import json, sys
data = json.load(open(sys.argv[1]))["results"]
name = sys.argv[2]
ik = next(r for r in data if r["command"].startswith("initkit"))
for r in data:
    cpu = r["user"] + r["system"]
    line = f"{name:28s} {r['command']:18s} median {r['median']*1000:8.1f} ms  cpu {cpu*1000:8.1f} ms"
    if r is not ik:
        line += (f"   initkit/{r['command']}: wall {ik['median']/r['median']:.2f}x"
                 f"  cpu {(ik['user']+ik['system'])/cpu:.2f}x")
    print(line)
PY
}

for n in $copies_list; do
  app=$(app_for "$n")
  files=$(find "$app" -type f | wc -l)
  size=$(du -sm "$app" | cut -f1)
  echo "fixture copies=$n: $files files, $size MB" | tee -a "$summary"
  # Warm the page cache so every contender reads from memory.
  find "$app" -type f -print0 | xargs -0 cat >/dev/null
  targets=${TARGETS:-tmpfs disk}
  [ "$n" -gt 1 ] && [ "${DISK_ALL:-0}" != 1 ] && targets=${targets/disk/}
  for target in $targets; do
    base=$tmpfs_base
    [ "$target" = disk ] && base=$disk_base
    d=$base/c$n
    prepare="rm -rf $d"
    if [ "$target" = disk ]; then
      # ext4 skips inodes freed in the last ~30 s when allocating (the kernel's
      # recently_deleted()), which made every tool 3-5x slower after `rm -rf`
      # of the previous run; move old copies aside and delete them at the end.
      prepare="sh -c 'mkdir -p $base/trash && mv $d $base/trash/\$\$ 2>/dev/null; true'"
    fi
    compare "fresh-$target-copies$n" "$prepare" \
      initkit "$bin --from $app --to $d --log-level warn" \
      "cp -a" "cp -a $app $d" \
      "rsync -a" "rsync -a $app/ $d/"
    rm -rf "$d" "$base/trash"
  done
  # (c) nothing changed: each tool re-runs onto its own complete copy.
  "$bin" --from "$app" --to "$tmpfs_base/re-ik" --log-level warn
  rsync -a "$app/" "$tmpfs_base/re-rsync/"
  compare "rerun-tmpfs-copies$n" "" \
    initkit "$bin --from $app --to $tmpfs_base/re-ik --log-level warn" \
    "rsync -a" "rsync -a $app/ $tmpfs_base/re-rsync/"
  rm -rf "$tmpfs_base/re-ik" "$tmpfs_base/re-rsync"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$summary"
echo "targets: fresh tmpfs <= 0.20x cp -a; fresh disk <= 1.00x cp -a; rerun <= 0.25x rsync" \
  | tee -a "$summary"
echo "summary: $summary"
