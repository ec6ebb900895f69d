#!/usr/bin/env bash
# Demo of initkit-migrate (for `make demo`): starts a throw-away MariaDB,
# runs four pods' worth of initkit-migrate at once (one lock, one seed), then
# shows --status. Usage: tools/migrate/demo.sh [BIN]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build/bin/initkit-migrate}
[ -x "$BIN" ] || { echo "build first: make" >&2; exit 2; }
# shellcheck source=scripts/lib/mariadb.sh
source scripts/lib/mariadb.sh
mariadb_scratch
work=$WORK
pw="demo-$RANDOM$RANDOM"
cat >"$work/init.sql" <<SQL
CREATE USER IF NOT EXISTS 'shop'@'%' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO 'shop'@'%';
CREATE DATABASE IF NOT EXISTS shop;
SQL
# Not waited for: the four runs below start while the server still starts.
mariadb_start "$work/db" "$work/init.sql"
port=$MARIADB_PORT
echo "== starting MariaDB on 127.0.0.1:$port (datadir $work/db/data)"
printf '%s\n' "$pw" >"$work/db-password"
SQL="mariadb --no-defaults -S $MARIADB_SOCK -uroot shop"
# The "migration" and the "InitialSeed" of the demo app.
cat >"$work/migrate.sh" <<SH
echo "  [migrate \$\$] start"
$SQL -e 'CREATE TABLE IF NOT EXISTS registry (name VARCHAR(191) PRIMARY KEY, value TEXT);
         CREATE TABLE IF NOT EXISTS products (id INT AUTO_INCREMENT PRIMARY KEY, name TEXT)'
sleep 0.3
echo "  [migrate \$\$] done"
SH
cat >"$work/seed.sh" <<SH
echo "  [seed \$\$] inserting the initial products"
$SQL -e "INSERT INTO products (name) VALUES ('socks'), ('shoes'), ('hat')"
SH
export INITKIT_DB_HOST=127.0.0.1 INITKIT_DB_PORT=$port INITKIT_DB_USER=shop INITKIT_DB_NAME=shop
export INITKIT_DB_PASSWORD_FILE=$work/db-password INITKIT_LOG_FORMAT=text
export INITKIT_MIGRATE_CMD="sh $work/migrate.sh" INITKIT_SEED_CMD="sh $work/seed.sh"
echo "== four pods start at once (the database is still starting: they wait)"
pids=()
for i in 1 2 3 4; do "$BIN" & pids+=($!); done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
[ $rc -eq 0 ] || { echo "demo: a run failed" >&2; exit 1; }
echo "== products after four runs (seeded exactly once):"
$SQL -e 'SELECT id, name FROM products'
echo "== initkit-migrate --status"
"$BIN" --status
echo "== dry run"
"$BIN" --dry-run
