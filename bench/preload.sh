#!/usr/bin/env bash
# Benchmarks initkit-preload against `composer dump-autoload -o` on the
# fixture PHP app (tests/fixtures/make-php-app.sh: 8.5k classes) and on the
# 4x app (--copies 4, ~34k classes), side by side in hyperfine (median of
# RUNS >= 5, one warm-up), then peak RSS on the 4x app with /usr/bin/time -v.
# Targets: <= 0.1x composer's time; 4x app <= 4.5x the 1x time; RSS <= 200 MB.
# Besides the wall-time ratio it prints the CPU-time ratio (user+sys, means),
# which depends less on what else the machine is running.
# With CHECK_PHP=1 it also loads each generated list into PHP 8.2 and counts
# "Can't preload" warnings and preloaded classes.
#
#   bench/preload.sh                     # uses build/bin/initkit-preload
#   PRELOAD_BIN=... RUNS=7 CHECK_PHP=1 bench/preload.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${PRELOAD_BIN:-$root/build/bin/initkit-preload}
runs=${RUNS:-5}
cache=${BENCH_CACHE:-/tmp/initkit-bench}
fixture=${FIXTURE_SCRIPT:-$root/tests/fixtures/make-php-app.sh}

for tool in hyperfine composer python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "preload.sh: $tool is missing (scripts/deps.sh installs it)" >&2; exit 2; }
done
[ -x "$bin" ] || { echo "preload.sh: $bin not built (make build)" >&2; exit 2; }
[ "$runs" -ge 5 ] || { echo "preload.sh: RUNS must be >= 5" >&2; exit 2; }
mkdir -p "$cache"

app_for() {  # builds (once) and prints the fixture dir for N copies
  local n=$1 dir="$cache/preload-app$1"
  if [ ! -f "$dir.complete" ]; then
    "$fixture" "$dir" --copies "$n" >&2
    touch "$dir.complete"
  fi
  echo "$dir"
}

median() {  # median seconds of command $2 in hyperfine JSON $1
  python3 -c 'import json,sys
r=[x for x in json.load(open(sys.argv[1]))["results"] if x["command"]==sys.argv[2]][0]
print("%.4f" % r["median"])' "$1" "$2"
}

cpu() {  # mean user+system seconds of command $2 in hyperfine JSON $1
  python3 -c 'import json,sys
r=[x for x in json.load(open(sys.argv[1]))["results"] if x["command"]==sys.argv[2]][0]
print("%.4f" % (r["user"] + r["system"]))' "$1" "$2"
}

out=$cache/preload-out
mkdir -p "$out"
summary=$cache/preload-summary.txt
: >"$summary"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs, runs=$runs" | tee -a "$summary"

declare -A ours
for n in 1 4; do
  app=$(app_for "$n")
  classes=$(grep -c "=> \\$" "$app/vendor/composer/autoload_classmap.php" || true)
  json=$out/hyperfine-$n.json
  hyperfine --style basic -w 1 -r "$runs" --export-json "$json" \
    -n initkit-preload "$bin --app-dir $app --output $out/preload-$n.php --report $out/report-$n.json --log-level warn" \
    -n composer "cd $app && COMPOSER_ALLOW_SUPERUSER=1 composer dump-autoload -o -q --no-interaction" >&2
  o=$(median "$json" initkit-preload)
  c=$(median "$json" composer)
  ocpu=$(cpu "$json" initkit-preload)
  ccpu=$(cpu "$json" composer)
  ours[$n]=$o
  ratio=$(python3 -c "print('%.3f' % ($o / $c))")
  cpu_ratio=$(python3 -c "print('%.3f' % ($ocpu / $ccpu))")
  echo "${n}x app ($classes classmap classes): initkit-preload ${o}s, composer dump-autoload -o ${c}s, ratio ${ratio} (target <= 0.1); CPU (user+sys) ${ocpu}s vs ${ccpu}s, ratio ${cpu_ratio}" | tee -a "$summary"
done
scale=$(python3 -c "print('%.2f' % (${ours[4]} / ${ours[1]}))")
echo "scaling: 4x app takes ${scale}x the 1x time (target <= 4.5)" | tee -a "$summary"

app4=$(app_for 4)
/usr/bin/time -v "$bin" --app-dir "$app4" --output "$out/preload-4.php" --log-level warn 2>"$out/time-4.txt"
rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$out/time-4.txt")
echo "peak RSS on the 4x app: $((rss / 1024)) MB (target <= 200)" | tee -a "$summary"

if [ "${CHECK_PHP:-0}" = "1" ]; then
  cat >"$out/count.php" <<'PHP'
<?php
$s = opcache_get_status(true);
echo count($s['preload_statistics']['classes'] ?? []), "\n";
PHP
  for n in 1 4; do
    res=$(php -d opcache.enable_cli=1 -d opcache.preload="$out/preload-$n.php" -d opcache.preload_user=root \
      -d opcache.memory_consumption=2048 -d opcache.interned_strings_buffer=256 \
      -d opcache.max_accelerated_files=200000 "$out/count.php" 2>&1)
    echo "${n}x app with PHP $(php -r 'echo PHP_VERSION;'): $(echo "$res" | tail -1) classes preloaded, $(echo "$res" | grep -c "Can't preload" || true) \"Can't preload\" warnings" | tee -a "$summary"
  done
fi
echo "summary: $summary"
