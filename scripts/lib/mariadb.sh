# shellcheck shell=bash
# A throw-away MariaDB for the demo, bench and smoke scripts (sourced, not
# run): Debian's server, a datadir under the caller's temp dir, loopback only,
# a free port. The tests have their own launcher (tests/fakes/mariadb_server).

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# mariadb_start DIR INIT_SQL [mariadbd options...]
# Creates DIR/data and starts mariadbd in the background on 127.0.0.1 with
# socket DIR/sock; INIT_SQL (a file) runs before the first connection is
# accepted, so users it creates exist once the server answers. Does not wait
# (see mariadb_wait). Sets MARIADB_PID, MARIADB_PORT, MARIADB_SOCK.
# Returns 1 with the installer's log on stderr if the datadir can't be made.
mariadb_start() {
  local dir=$1 init=$2
  shift 2
  mkdir -p "$dir"
  if ! mariadb-install-db --no-defaults --auth-root-authentication-method=normal \
    --datadir="$dir/data" --user="$(id -un)" --skip-test-db --innodb-log-file-size=8M \
    >"$dir/install.log" 2>&1; then
    cat "$dir/install.log" >&2
    return 1
  fi
  MARIADB_PORT=$(free_port)
  MARIADB_SOCK=$dir/sock
  mariadbd --no-defaults --datadir="$dir/data" --socket="$MARIADB_SOCK" --port="$MARIADB_PORT" \
    --bind-address=127.0.0.1 --user="$(id -un)" --init-file="$init" --tmpdir="$dir" \
    --pid-file="$dir/pid" --log-error="$dir/error.log" --innodb-buffer-pool-size=32M \
    --innodb-log-file-size=8M --skip-log-bin --performance-schema=OFF --skip-name-resolve \
    "$@" >"$dir/stdout.log" 2>&1 &
  MARIADB_PID=$!
}

# mariadb_wait [SECONDS]: waits (default 60 s) until the server started by
# mariadb_start answers on its socket; on timeout prints the tail of its
# error log to stderr and returns 1.
mariadb_wait() {
  local deadline=$((SECONDS + ${1:-60}))
  while [ $SECONDS -lt $deadline ]; do
    mariadb-admin --no-defaults --socket="$MARIADB_SOCK" -uroot ping >/dev/null 2>&1 && return 0
    kill -0 "$MARIADB_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "MariaDB on 127.0.0.1:$MARIADB_PORT did not start:" >&2
  tail -n 20 "$(dirname "$MARIADB_SOCK")/error.log" >&2
  return 1
}

# mariadb_stop: stops the server started by mariadb_start, if any.
mariadb_stop() {
  if [ -n "${MARIADB_PID:-}" ]; then
    kill "$MARIADB_PID" 2>/dev/null || true
    wait "$MARIADB_PID" 2>/dev/null || true
    MARIADB_PID=""
  fi
}

# mariadb_scratch: for scripts whose only resource is the server: makes a
# temp dir (WORK) and, on exit, stops the server and removes the dir.
mariadb_scratch() {
  WORK=$(mktemp -d)
  trap 'mariadb_stop; rm -rf "$WORK"' EXIT
}
