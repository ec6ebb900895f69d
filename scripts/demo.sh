#!/usr/bin/env bash
# The whole init sequence of one pod, on this machine, with real services:
#   secrets (dir target) -> bootstrap (fixture app) -> migrate + seed (local
#   MariaDB) -> preload -> cron-gate (local health endpoint)
# then a table of each step's time. Run through `make demo` (which builds first).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/build/bin}
# The same cache the preload tests use (tests/preload), so it is built once.
FIXTURE_CACHE=${INITKIT_FIXTURE_CACHE:-$HOME/.cache/initkit}/preload-fixture-1

work=$(mktemp -d /tmp/initkit-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
declare -a rows=()
step() { # step NAME EXPECTED_EXIT CMD...: runs CMD, records time and exit code
  local name=$1 want=$2; shift 2
  local t0 t1 rc=0
  t0=$(date +%s%N)
  "$@" || rc=$?
  t1=$(date +%s%N)
  local ms=$(( (t1 - t0) / 1000000 ))
  rows+=("$(printf '%-34s %6s ms   exit %-3s %s' "$name" "$ms" "$rc" "$([ "$rc" = "$want" ] && echo ok || echo UNEXPECTED)")")
  if [ "$rc" != "$want" ]; then
    echo "demo: step '$name' exited $rc (expected $want)" >&2
    printf '%s\n' "${rows[@]}"
    exit 1
  fi
}
# shellcheck source=scripts/lib/mariadb.sh
source scripts/lib/mariadb.sh
wait_port() { for _ in $(seq 200); do php -r "exit(@fsockopen('127.0.0.1', $1) ? 0 : 1);" && return 0; sleep 0.05; done; return 1; }
export INITKIT_LOG_FORMAT=text

# --- the image's app tree: the fixture Composer app (built once, cached) ------
if [ ! -f "$FIXTURE_CACHE/.initkit-complete" ]; then
  bold "building the fixture PHP app once (cached in $FIXTURE_CACHE)"
  mkdir -p "$(dirname "$FIXTURE_CACHE")"
  (
    flock 9
    if [ ! -f "$FIXTURE_CACHE/.initkit-complete" ]; then
      tests/fixtures/make-php-app.sh "$FIXTURE_CACHE.building" >/dev/null
      rm -rf "$FIXTURE_CACHE" && mv "$FIXTURE_CACHE.building" "$FIXTURE_CACHE"
      echo ok >"$FIXTURE_CACHE/.initkit-complete"
    fi
  ) 9>"$FIXTURE_CACHE.lock"
fi
app_version="04.99.005.000"

# --- 1. secrets ---------------------------------------------------------------
bold "1. initkit-secrets sync --target dir:$work/secrets (built-in spec of the seed)"
step "secrets sync (first)" 0 "$BIN/initkit-secrets" sync --target "dir:$work/secrets"
ls -l "$work/secrets" | sed 's/^/   /'
step "secrets sync (again: rotate only)" 0 "$BIN/initkit-secrets" sync --target "dir:$work/secrets"

# --- infrastructure: a local MariaDB whose app user has the generated password -
bold "starting a local MariaDB (temp datadir, loopback, free port)"
: >"$work/db-init.sql"
mariadb_start "$work/db" "$work/db-init.sql"
pids+=("$MARIADB_PID")
db_port=$MARIADB_PORT
mariadb_wait 60
db_pw_file="$work/secrets/APP_DB_DEFAULT_PWD"
mariadb --no-defaults --socket="$MARIADB_SOCK" -uroot <<SQL
CREATE DATABASE app;
CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '$(cat "$db_pw_file")';
GRANT ALL ON app.* TO 'app'@'127.0.0.1';
SQL
# The migration and seed commands read the password from a client option file,
# so it never shows up in a command line.
printf '[client]\nhost=127.0.0.1\nport=%s\nuser=app\npassword=%s\n' "$db_port" "$(cat "$db_pw_file")" >"$work/my.cnf"
chmod 600 "$work/my.cnf"
echo "   MariaDB on 127.0.0.1:$db_port"

# --- 2. bootstrap -------------------------------------------------------------
bold "2. initkit-bootstrap: image app -> emptyDir"
step "bootstrap (first copy)" 0 "$BIN/initkit-bootstrap" --from "$FIXTURE_CACHE" --to "$work/html" \
  --mkdir storage/forms --mkdir storage/import --mkdir storage/invoices --mkdir storage/tmp \
  --mkdir storage/user_langs --mkdir storage/views --mkdir storage/vouchers
echo "   marker: $(cat "$work/html/.initkit-ready")"
step "bootstrap (re-run, nothing changed)" 0 "$BIN/initkit-bootstrap" --from "$FIXTURE_CACHE" --to "$work/html"

# --- 3. migrate + seed ----------------------------------------------------------
bold "3. initkit-migrate: wait, lock, migrate, seed once"
migrate_cmd="mariadb --defaults-extra-file=$work/my.cnf app -e 'CREATE TABLE IF NOT EXISTS registry (name VARCHAR(191) PRIMARY KEY, value TEXT NOT NULL); CREATE TABLE IF NOT EXISTS products (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(100))'"
seed_cmd="mariadb --defaults-extra-file=$work/my.cnf app -e 'INSERT INTO products (name) VALUES (\"first product\")'"
migrate() {
  "$BIN/initkit-migrate" --db-host 127.0.0.1 --db-port "$db_port" --db-user app \
    --db-password-file "$db_pw_file" --db-name app --wait-timeout 30s \
    --migrate-cmd "$migrate_cmd" --seed-cmd "$seed_cmd" "$@"
}
step "migrate + seed (first deploy)" 0 migrate
step "migrate (second deploy: no seed)" 0 migrate
echo "   products rows: $(mariadb --defaults-extra-file="$work/my.cnf" app -N -e 'SELECT COUNT(*) FROM products') (seeded exactly once)"
echo "   status: $(migrate --status)"

# --- 4. preload -------------------------------------------------------------------
bold "4. initkit-preload: OPcache preload list"
step "preload" 0 "$BIN/initkit-preload" --app-dir "$work/html" --output "$work/html/preload.php" \
  --report "$work/preload-report.json"
php -r '$r = json_decode(file_get_contents($argv[1]), true); foreach ($r as $k => $v) if (!is_array($v)) echo "   $k: ", json_encode($v), "\n";' "$work/preload-report.json"
warnings=$(php -d opcache.enable_cli=1 -d opcache.preload="$work/html/preload.php" -d opcache.preload_user="$(id -un)" \
  -r 'echo "";' 2>&1 | grep -c "preload" || true)
echo "   PHP 8.2 loading it: $warnings preload warnings"

# --- 5. cron-gate ----------------------------------------------------------------
bold "5. initkit-cron-gate against a local health endpoint serving version $app_version"
health_port=$(free_port)
mkdir -p "$work/health"
printf '<?php header("Content-Type: application/json"); echo json_encode(["status" => "ok", "version" => "%s"]);\n' "$app_version" >"$work/health/router.php"
php -S "127.0.0.1:$health_port" "$work/health/router.php" >/dev/null 2>&1 &
pids+=($!)
wait_port "$health_port"
printf "<?php\ndefine('APP_VERSION', '%s');\n" "$app_version" >"$work/version-match.php"
printf "<?php\ndefine('APP_VERSION', '%s');\n" "04.99.006.000" >"$work/version-new.php"
url="http://127.0.0.1:$health_port/_healthz/ready"
step "cron-gate (same version: opens)" 0 "$BIN/initkit-cron-gate" --url "$url" \
  --version-file "$work/version-match.php" -- echo "   cron job runs: php index.php cron run"
step "cron-gate (newer cron image: refused)" 3 "$BIN/initkit-cron-gate" --url "$url" \
  --version-file "$work/version-new.php" --retries 2 --interval 200ms -- echo "never printed"

bold "summary"
printf '%s\n' "${rows[@]}"
