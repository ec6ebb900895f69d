#!/usr/bin/env bash
# Wall time from process start to exit: initkit-cron-gate (open gate, local
# endpoint) vs a PHP 8.2 CLI script doing what the seed's init_cron.php does.
# Both in one hyperfine run against the same endpoint; prints the medians and
# the ratio. Usage: bench/gate.sh [RUNS]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
BIN=build-static/bin/initkit-cron-gate
[ -x "$BIN" ] || BIN=build/bin/initkit-cron-gate
[ -x "$BIN" ] || { echo "build first: make static (or make)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine missing (scripts/deps.sh)" >&2; exit 2; }

work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cat >"$work/router.php" <<'PHP'
<?php header('Content-Type: application/json'); echo json_encode(['status' => 'ok', 'version' => '4.99.5.0']);
PHP
cat >"$work/version.php" <<'PHP'
<?php
define('APP_VERSION', '04.99.005.000');
PHP
# What init_cron.php does: include the version file, GET the health endpoint
# with a timeout, decode JSON, compare, retry with an interval.
cat >"$work/init_cron.php" <<'PHP'
<?php
$opts = getopt('', ['url:', 'retries::', 'timeout::']);
$retries = (int)($opts['retries'] ?? 5);
$timeout = (float)($opts['timeout'] ?? 2);
require __DIR__ . '/version.php';
$norm = fn($v) => implode('.', array_map('intval', explode('.', $v)));
$expected = $norm(APP_VERSION);
for ($i = 0; $i < $retries; $i++) {
    $ctx = stream_context_create(['http' => ['timeout' => $timeout, 'ignore_errors' => true]]);
    $body = @file_get_contents($opts['url'], false, $ctx);
    $code = isset($http_response_header[0]) ? (int)explode(' ', $http_response_header[0])[1] : 0;
    if ($body !== false && $code >= 200 && $code < 300) {
        $data = json_decode($body, true);
        if (is_array($data) && isset($data['version']) && $norm($data['version']) === $expected) {
            fwrite(STDERR, "versions match: $expected\n");
            exit(0);
        }
    }
    sleep(1);
}
exit(1);
PHP
port=$(php -r '$s=stream_socket_server("tcp://127.0.0.1:0");echo explode(":",stream_socket_get_name($s,false))[1];')
php -S "127.0.0.1:$port" "$work/router.php" >/dev/null 2>&1 &
server=$!
for _ in $(seq 100); do
  php -r "exit(@fsockopen('127.0.0.1', $port) ? 0 : 1);" && break
  sleep 0.05
done
url="http://127.0.0.1:$port/_healthz/ready"
"$BIN" --url "$url" --version-file "$work/version.php" --log-level error
php "$work/init_cron.php" --url="$url" 2>/dev/null

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/gate.json" \
  -n initkit-cron-gate "$BIN --url $url --version-file $work/version.php --log-level error" \
  -n php-init_cron "php $work/init_cron.php --url=$url" >&2
php -r '
$r = json_decode(file_get_contents($argv[1]), true)["results"];
$g = $r[0]["median"]; $p = $r[1]["median"];
printf("binary: %s\ninitkit-cron-gate median: %.2f ms\nphp init_cron.php median: %.2f ms\nratio: %.3f (target <= 0.1)\n",
  $argv[2], $g * 1000, $p * 1000, $g / $p);
' "$work/gate.json" "$BIN"
