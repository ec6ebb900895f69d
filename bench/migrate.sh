#!/usr/bin/env bash
# Overhead of an up-to-date initkit-migrate run (--migrate-cmd true, already
# seeded) over running `true` alone, next to a PHP 8.2 CLI script doing what
# the seed's init_migrate.php does (PDO connect, run the command, registry
# query). One local MariaDB it starts itself; hyperfine, median of RUNS.
# Usage: bench/migrate.sh [RUNS]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
BIN=${INITKIT_MIGRATE_BIN:-build-static/bin/initkit-migrate}
[ -x "$BIN" ] || BIN=build/bin/initkit-migrate
[ -x "$BIN" ] || { echo "build first: make static (or make)" >&2; exit 2; }
for tool in hyperfine mariadbd mariadb-install-db php; do
  command -v "$tool" >/dev/null || { echo "$tool missing (scripts/deps.sh)" >&2; exit 2; }
done
php -r 'exit(extension_loaded("pdo_mysql") ? 0 : 1);' || { echo "php8.2-mysql missing (scripts/deps.sh)" >&2; exit 2; }

# shellcheck source=scripts/lib/mariadb.sh
source scripts/lib/mariadb.sh
mariadb_scratch
work=$WORK
pw="bench-pw-$$"
cat >"$work/init.sql" <<SQL
CREATE USER IF NOT EXISTS 'bench'@'%' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO 'bench'@'%';
CREATE DATABASE IF NOT EXISTS app;
CREATE TABLE IF NOT EXISTS app.registry (name VARCHAR(191) PRIMARY KEY, value TEXT);
INSERT IGNORE INTO app.registry VALUES ('SEEDER.INITIAL_SEED_RAN', '1');
SQL
mariadb_start "$work/db" "$work/init.sql" --innodb-buffer-pool-size=64M
mariadb_wait 60
port=$MARIADB_PORT

cat >"$work/init_migrate.php" <<'PHP'
<?php
// What init_migrate.php does: connect with PDO, run the migration command,
// check the registry for the seed flag, seed on first deploy.
$pdo = new PDO(sprintf('mysql:host=%s;port=%d;dbname=%s', getenv('DB_HOST'), getenv('DB_PORT'),
                       getenv('DB_NAME')), getenv('DB_USER'), getenv('DB_PASSWORD'),
               [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
passthru($argv[1], $rc);
if ($rc !== 0) { fwrite(STDERR, "migration failed\n"); exit(1); }
$st = $pdo->prepare('SELECT value FROM registry WHERE name = ?');
$st->execute(['SEEDER.INITIAL_SEED_RAN']);
if (!$st->fetchColumn()) {
    passthru($argv[2], $rc);
    if ($rc !== 0) exit(1);
    $pdo->prepare('INSERT INTO registry (name, value) VALUES (?, 1)')->execute(['SEEDER.INITIAL_SEED_RAN']);
}
PHP
printf '%s' "$pw" >"$work/pw"
export DB_HOST=127.0.0.1 DB_PORT="$port" DB_NAME=app DB_USER=bench DB_PASSWORD="$pw"
initkit_cmd="$BIN --db-host 127.0.0.1 --db-port $port --db-user bench --db-password-file $work/pw --db-name app --log-level warn --migrate-cmd true --seed-cmd true"
php_cmd="php $work/init_migrate.php true true"
$initkit_cmd  # must succeed before it is timed
$php_cmd

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/h.json" \
  -n true true -n initkit-migrate "$initkit_cmd" -n php-init_migrate "$php_cmd" >&2
python3 - "$work/h.json" "$BIN" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = r["true"]["median"]
ik = r["initkit-migrate"]["median"] - base
ph = r["php-init_migrate"]["median"] - base
print(f"binary: {sys.argv[2]}")
print(f"median wall time: true {base*1000:.2f} ms, initkit-migrate {r['initkit-migrate']['median']*1000:.2f} ms, "
      f"php init_migrate {r['php-init_migrate']['median']*1000:.2f} ms")
print(f"overhead over true: initkit-migrate {ik*1000:.2f} ms, php {ph*1000:.2f} ms, ratio {ik/ph:.3f}")
ok = ik <= 0.020 and ik <= 0.3 * ph
print("target (<= 20 ms and <= 0.3x php):", "met" if ok else "NOT met")
PY
