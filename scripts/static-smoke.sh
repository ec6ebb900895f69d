#!/usr/bin/env bash
# Runs the static binaries inside the root filesystem of the scratch image.
#
# No container engine runs on our machines, so this checks the next best
# thing: build-static/rootfs (assembled by images/build-static.sh, exactly
# what the FROM scratch stage of images/Dockerfile copies) plus what the
# container runtime would provide (/etc/hosts, /etc/resolv.conf) is copied to
# build-static/smoke-root, and every binary runs there under chroot, as user
# 65532, against loopback services this script starts on free ports:
#   - each binary: --version exits 0 and prints its name
#   - cron-gate against a PHP endpoint by host name (from /etc/hosts): open
#     gate (exit 0), zero-padded versions, mismatch (3), unreachable (124),
#     `-- CMD` exec in place
#   - cron-gate over HTTPS with a test CA (static OpenSSL in an empty root)
#   - bootstrap copying a tree, secrets with a dir: target
#   - migrate --status against a local MariaDB (skipped when unavailable)
# Needs root (chroot) or unprivileged user namespaces (unshare). Run after
# `make static`; scripts/image-check.sh runs it on the root filesystem
# exported from each platform of the built image. Exit 0 only when every
# check passed.
# Environment: INITKIT_STATIC_DIR (default build-static), INITKIT_SMOKE_ROOTFS
# (the tree to test, default $INITKIT_STATIC_DIR/rootfs), INITKIT_SMOKE_DIR
# (where the copy runs, default $INITKIT_STATIC_DIR/smoke-root),
# INITKIT_SMOKE_EMULATOR (a static qemu-user binary, e.g.
# /usr/bin/qemu-aarch64-static, for binaries of another architecture: this
# machine has no binfmt_misc, so the emulator is copied into the root and
# every binary is started through it, and `-- CMD` exec tests exec it too).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${INITKIT_STATIC_DIR:-$ROOT/build-static}
IMAGE_ROOT=${INITKIT_SMOKE_ROOTFS:-$OUT/rootfs}
SMOKE=${INITKIT_SMOKE_DIR:-$OUT/smoke-root}
EMULATOR=${INITKIT_SMOKE_EMULATOR:-}
# Inside the root: the path of the emulator and the prefix that starts a
# binary of the image's architecture (empty when it runs natively).
EMU_IN=""
[ -n "$EMULATOR" ] && EMU_IN=/.initkit-smoke/$(basename "$EMULATOR")
WORK=$(mktemp -d /tmp/initkit-smoke.XXXXXX)
PIDS=()

cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    kill "$p" 2>/dev/null
  done
  for p in "${PIDS[@]}"; do
    wait "$p" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
skipped=0
FAILED_NAMES=()
pass() {
  passed=$((passed + 1))
  echo "  PASS  $1"
}
fail() {
  failed=$((failed + 1))
  FAILED_NAMES+=("$1")
  echo "  FAIL  $1"
  # shellcheck disable=SC2001 # indent every line of a multi-line text
  [ $# -gt 1 ] && [ -n "$2" ] && sed 's/^/        | /' <<<"$2" | tail -n 20
}
skip() {
  skipped=$((skipped + 1))
  echo "  SKIP  $1: $2"
}

if [ ! -d "$IMAGE_ROOT/bin" ]; then
  echo "static-smoke: $IMAGE_ROOT does not exist; run 'make static' first" >&2
  exit 1
fi

# in_root [--root] CMD ARGS...: runs CMD inside the smoke root as 65532:65532
# (the image's USER), or as root with --root. Output goes to stdout/stderr.
in_root() {
  local user=65532:65532
  if [ "$1" = --root ]; then
    user=0:0
    shift
  fi
  # Natively EMU_IN is empty and must add no argument.
  local emu=()
  [ -n "$EMU_IN" ] && emu=("$EMU_IN")
  if [ "$(id -u)" -eq 0 ]; then
    chroot --userspec="$user" "$SMOKE" "${emu[@]}" "$@"
  else
    # Unprivileged fallback: a user namespace where we are root of the tree.
    unshare --map-root-user --root="$SMOKE" "${emu[@]}" "$@"
  fi
}

# add_emulator DIR: puts the emulator into the root DIR (no-op natively).
add_emulator() {
  if [ -n "$EMULATOR" ]; then
    mkdir -p "$1/.initkit-smoke"
    cp "$EMULATOR" "$1$EMU_IN"
  fi
}

# free_port and the throw-away MariaDB.
# shellcheck source=scripts/lib/mariadb.sh
source "$ROOT/scripts/lib/mariadb.sh"

# wait_tcp PORT SECONDS: until something accepts on 127.0.0.1:PORT.
wait_tcp() {
  local deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  return 1
}

# expect NAME WANT_RC [--out REGEX] -- CMD...: runs CMD (in the root) and
# checks its exit code and, optionally, that stdout matches REGEX.
expect() {
  local name=$1 want=$2 regex=""
  shift 2
  if [ "$1" = --out ]; then
    regex=$2
    shift 2
  fi
  [ "$1" = -- ] && shift
  local out rc
  out=$("$@" 2>"$WORK/stderr")
  rc=$?
  if [ "$rc" -ne "$want" ]; then
    fail "$name (exit $rc, want $want)" "$(printf '%s\n' "$out"; cat "$WORK/stderr")"
  elif [ -n "$regex" ] && ! grep -Eq "$regex" <<<"$out"; then
    fail "$name (stdout does not match /$regex/)" "$(printf '%s\n' "$out"; cat "$WORK/stderr")"
  else
    pass "$name"
  fi
}

has() { [ -x "$SMOKE/bin/initkit-$1" ]; }

# ---- the root: the image's tree + what the runtime adds -------------------
rm -rf "$SMOKE"
cp -a "$IMAGE_ROOT" "$SMOKE"
# A container runtime / kubelet mounts these; the host name below is how the
# gate reaches "a service by name" here.
printf '127.0.0.1\tlocalhost initkit-smoke.test\n::1\tlocalhost ip6-localhost\n' >"$SMOKE/etc/hosts"
# A resolver nobody answers on: names must come from /etc/hosts.
echo 'nameserver 127.0.0.1' >"$SMOKE/etc/resolv.conf"
mkdir -p "$SMOKE/smoke"
chmod 0777 "$SMOKE/smoke"
add_emulator "$SMOKE"

echo "static-smoke: root $SMOKE ($(du -sb "$IMAGE_ROOT" | cut -f1) bytes of image content)${EMULATOR:+, binaries run under $(basename "$EMULATOR")}"
echo "== the image"
want_files=(etc/ssl/certs/ca-certificates.crt etc/passwd etc/group etc/nsswitch.conf
  usr/share/doc/initkit/initkit.cdx.json)
missing=""
for f in "${want_files[@]}"; do
  [ -s "$IMAGE_ROOT/$f" ] || missing+=" $f"
done
if [ -z "$missing" ] && grep -q '^nonroot:x:65532:65532:' "$IMAGE_ROOT/etc/passwd" &&
  grep -q '^nonroot:x:65532:' "$IMAGE_ROOT/etc/group"; then
  pass "rootfs has CA bundle, passwd/group with 65532, nsswitch.conf, SBOM"
else
  fail "rootfs content (missing:${missing:-none}, or no 65532 entry)"
fi
if [ -e "$IMAGE_ROOT/bin/sh" ] || [ -e "$IMAGE_ROOT/bin/bash" ]; then
  fail "rootfs has a shell"
else
  pass "rootfs has no shell"
fi

# The Dockerfile itself: a linter from npm (dockerfile-utils) when installed.
lint=$(command -v dockerfile-utils || true)
[ -z "$lint" ] && [ -x "$ROOT/node_modules/.bin/dockerfile-utils" ] && lint=$ROOT/node_modules/.bin/dockerfile-utils
if [ -n "$lint" ]; then
  expect "images/Dockerfile lints clean (dockerfile-utils)" 0 -- "$lint" lint "$ROOT/images/Dockerfile"
else
  skip "Dockerfile lint" "dockerfile-utils not installed (npm install -g dockerfile-utils)"
fi
df=$ROOT/images/Dockerfile
# The OpenSSL/libcurl step must come before the sources are copied in, so a
# source change does not rebuild them (the layer cache).
libs_line=$(grep -n 'RUN .*images/build-static.sh --libs-only' "$df" | head -1 | cut -d: -f1)
src_line=$(grep -n '^COPY \. \.' "$df" | head -1 | cut -d: -f1)
if grep -q '^FROM scratch' "$df" && grep -q '^USER 65532:65532' "$df" &&
  grep -Eq '^FROM (--platform=[^ ]+ )?debian:12@sha256:[0-9a-f]{64} AS builder' "$df" &&
  [ -n "$libs_line" ] && [ -n "$src_line" ] && [ "$libs_line" -lt "$src_line" ] &&
  grep -q 'COPY --from=builder /src/build-static/rootfs/ /' "$df" &&
  grep -q 'org.opencontainers.image.revision=' "$df" && grep -q 'org.opencontainers.image.created=' "$df"; then
  pass "Dockerfile: digest-pinned builder, OpenSSL/libcurl layer before the sources, FROM scratch + rootfs, USER 65532, revision/created labels"
else
  fail "Dockerfile: expected pinned builder / libs-before-sources / scratch / USER / labels structure not found"
fi
# The final stage of the Dockerfile and images/Containerfile make the same image.
for l in 'USER 65532:65532' 'ENV PATH=/bin' 'CMD \["/bin/initkit-bootstrap", "--from=/bin", "--to=/tools"\]'; do
  if ! grep -q "^$l" "$df" || ! grep -q "^$l" "$ROOT/images/Containerfile"; then
    fail "images/Dockerfile and images/Containerfile differ on: $l"
  fi
done

echo "== --version of every binary (as 65532)"
TOOLS=(bootstrap migrate cron-gate secrets preload)
for t in "${TOOLS[@]}"; do
  if has "$t"; then
    if file -b "$SMOKE/bin/initkit-$t" | grep -q 'statically linked'; then
      expect "initkit-$t --version" 0 --out "^initkit-$t [0-9]" -- in_root "/bin/initkit-$t" --version
    else
      fail "initkit-$t is not statically linked"
    fi
  else
    skip "initkit-$t" "not built (no tools/$t/main.cc yet)"
  fi
done

# ---- cron-gate against a PHP endpoint by host name ------------------------
echo "== initkit-cron-gate"
if ! has cron-gate; then
  skip "cron-gate checks" "not built"
elif ! command -v php >/dev/null; then
  fail "cron-gate checks: php (php8.2-cli) is needed for the test endpoint"
else
  cat >"$WORK/router.php" <<'PHP'
<?php
// /health answers like the app's readiness endpoint; anything else is 404.
if (parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) === '/health') {
    header('Content-Type: application/json');
    echo json_encode(['status' => 'ok', 'version' => '1.2.3']);
    return true;
}
http_response_code(404);
echo "not found\n";
return true;
PHP
  port=$(free_port)
  php -S "127.0.0.1:$port" "$WORK/router.php" >"$WORK/php.log" 2>&1 &
  PIDS+=($!)
  if ! wait_tcp "$port" 20; then
    fail "PHP endpoint did not start on 127.0.0.1:$port" "$(cat "$WORK/php.log")"
  else
    url="http://initkit-smoke.test:$port/health"
    fast=(--retries 1 --interval 100ms --timeout 2s --deadline 10s)
    expect "gate opens on the same version (by host name)" 0 -- \
      in_root /bin/initkit-cron-gate --url "$url" --expected-version 1.2.3
    expect "gate opens on a zero-padded equal version" 0 -- \
      in_root /bin/initkit-cron-gate --url "$url" --expected-version 01.02.003
    expect "gate refuses a mismatch (exit 3)" 3 -- \
      in_root /bin/initkit-cron-gate --url "$url" --expected-version 1.2.4 "${fast[@]}"
    # Under an emulator the exec'd program is the emulator (no binfmt_misc).
    # shellcheck disable=SC2086 # EMU_IN is empty or one word
    expect "gate execs -- CMD in place" 0 --out "^initkit-bootstrap [0-9]|^initkit-cron-gate [0-9]" -- \
      in_root /bin/initkit-cron-gate --url "$url" --expected-version 1.2.3 -- \
      $EMU_IN "/bin/initkit-$(has bootstrap && echo bootstrap || echo cron-gate)" --version
    # Issue 3's acceptance literally: a root holding only the gate, /etc/hosts,
    # /etc/resolv.conf and the CA bundle (no nsswitch.conf, passwd, /tmp).
    MIN=$SMOKE-min
    rm -rf "$MIN"
    mkdir -p "$MIN/bin" "$MIN/etc/ssl/certs"
    cp "$SMOKE/bin/initkit-cron-gate" "$MIN/bin/"
    cp "$SMOKE/etc/hosts" "$SMOKE/etc/resolv.conf" "$MIN/etc/"
    cp "$SMOKE/etc/ssl/certs/ca-certificates.crt" "$MIN/etc/ssl/certs/"
    add_emulator "$MIN"
    SMOKE_SAVED=$SMOKE
    SMOKE=$MIN
    expect "gate in a root with only hosts, resolv.conf, CA bundle" 0 -- \
      in_root /bin/initkit-cron-gate --url "$url" --expected-version 1.2.3
    SMOKE=$SMOKE_SAVED
    dead=$(free_port)
    expect "gate gives up on an unreachable endpoint (exit 124)" 124 -- \
      in_root /bin/initkit-cron-gate --url "http://initkit-smoke.test:$dead/health" \
      --expected-version 1.2.3 "${fast[@]}"
    expect "gate: a name that does not resolve is not ready (exit 124)" 124 -- \
      in_root /bin/initkit-cron-gate --url "http://no-such-host.invalid:$port/health" \
      --expected-version 1.2.3 "${fast[@]}"
  fi

  # HTTPS: static OpenSSL verifying a test CA inside the empty root.
  if command -v openssl >/dev/null && command -v python3 >/dev/null; then
    pki=$WORK/pki
    mkdir -p "$pki"
    if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj "/CN=initkit smoke CA" -keyout "$pki/ca.key" -out "$pki/ca.pem" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign >/dev/null 2>&1 &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=initkit-smoke.test" -keyout "$pki/srv.key" -out "$pki/srv.csr" >/dev/null 2>&1 &&
      openssl x509 -req -in "$pki/srv.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
        -days 2 -extfile <(printf 'subjectAltName=DNS:initkit-smoke.test\n') \
        -out "$pki/srv.pem" >/dev/null 2>&1; then
      cat >"$WORK/tls.py" <<'PY'
import http.server, json, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"version": "1.2.3"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
      tport=$(free_port)
      python3 "$WORK/tls.py" "$tport" "$pki/srv.pem" "$pki/srv.key" >"$WORK/tls.log" 2>&1 &
      PIDS+=($!)
      cp "$pki/ca.pem" "$SMOKE/smoke/ca.pem"
      if wait_tcp "$tport" 20; then
        turl="https://initkit-smoke.test:$tport/health"
        expect "gate over HTTPS with --ca-file" 0 -- \
          in_root /bin/initkit-cron-gate --url "$turl" --expected-version 1.2.3 --ca-file /smoke/ca.pem
        # The image's bundle does not hold the test CA: verification must fail.
        expect "gate over HTTPS refuses an unknown CA (exit 124)" 124 -- \
          in_root /bin/initkit-cron-gate --url "$turl" --expected-version 1.2.3 "${fast[@]}"
      else
        fail "HTTPS test endpoint did not start" "$(cat "$WORK/tls.log")"
      fi
    else
      skip "gate over HTTPS" "openssl could not make a test CA"
    fi
  else
    skip "gate over HTTPS" "needs openssl and python3"
  fi
fi

# ---- bootstrap: copy a tree inside the root ---------------------------------
echo "== initkit-bootstrap"
if has bootstrap; then
  mkdir -p "$SMOKE/smoke/app/public" "$SMOKE/smoke/out"
  echo '<?php echo "hi";' >"$SMOKE/smoke/app/public/index.php"
  chown -R 65532:65532 "$SMOKE/smoke/out" 2>/dev/null
  expect "bootstrap copies a tree" 0 -- \
    in_root /bin/initkit-bootstrap --from /smoke/app --to /smoke/out --mkdir storage/tmp
  if [ -f "$SMOKE/smoke/out/public/index.php" ] && [ -d "$SMOKE/smoke/out/storage/tmp" ] &&
    [ -f "$SMOKE/smoke/out/.initkit-ready" ]; then
    pass "bootstrap result: file, --mkdir dir and marker present"
  else
    fail "bootstrap result: file, --mkdir dir or marker missing" "$(cd "$SMOKE/smoke/out" && find . | head)"
  fi
else
  skip "bootstrap checks" "not built"
fi

# ---- secrets: dir target (CSPRNG of static OpenSSL in the empty root) -------
echo "== initkit-secrets"
if has secrets; then
  mkdir -p "$SMOKE/smoke/secrets"
  chown 65532:65532 "$SMOKE/smoke/secrets" 2>/dev/null
  expect "secrets sync --target dir:" 0 -- \
    in_root /bin/initkit-secrets sync --secret app-secrets --target dir:/smoke/secrets
  if [ -s "$SMOKE/smoke/secrets/APP_ENCRYPTION_KEY" ]; then
    pass "secrets wrote APP_ENCRYPTION_KEY"
  else
    fail "secrets wrote no APP_ENCRYPTION_KEY" "$(ls -la "$SMOKE/smoke/secrets")"
  fi
  # Every generator that needs OpenSSL (the minimal build must have them all).
  mkdir -p "$SMOKE/smoke/secrets2"
  chown 65532:65532 "$SMOKE/smoke/secrets2" 2>/dev/null
  cat >"$SMOKE/smoke/spec.json" <<'JSON'
{
  "secret": "app-secrets",
  "once": {
    "APP_KEY": {"generator": "laravel-app-key"},
    "HEX_KEY": {"generator": "hex", "bytes": 16},
    "B64_KEY": {"generator": "base64", "bytes": 32},
    "PASS": {"generator": "alnum", "length": 24},
    "APP_UUID": {"generator": "uuid"},
    "PASSPORT": {"generator": "rsa-keypair", "bits": 2048,
                 "private_key": "oauth-private.key", "public_key": "oauth-public.key"}
  },
  "rotate": {"APP_DB_DEFAULT_PWD": {"generator": "base64-of-hex", "bytes": 16}}
}
JSON
  expect "secrets sync with every generator (--spec)" 0 -- \
    in_root /bin/initkit-secrets sync --spec /smoke/spec.json --target dir:/smoke/secrets2
  if grep -q 'BEGIN PRIVATE KEY\|BEGIN RSA PRIVATE KEY' "$SMOKE/smoke/secrets2/oauth-private.key" 2>/dev/null &&
    grep -q 'BEGIN PUBLIC KEY' "$SMOKE/smoke/secrets2/oauth-public.key" 2>/dev/null &&
    grep -q '^base64:' "$SMOKE/smoke/secrets2/APP_KEY" 2>/dev/null; then
    pass "secrets wrote an RSA key pair (PEM) and a laravel app key"
  else
    fail "secrets --spec output incomplete" "$(ls -la "$SMOKE/smoke/secrets2")"
  fi
else
  skip "secrets checks" "not built"
fi

# ---- preload: Composer maps -> preload.php, no PHP at run time --------------
echo "== initkit-preload"
if has preload; then
  pre=$SMOKE/smoke/pre
  mkdir -p "$pre/vendor/composer" "$pre/src/Model"
  printf '{"autoload": {"psr-4": {"App\\\\": "src/"}}}\n' >"$pre/composer.json"
  cat >"$pre/vendor/composer/autoload_psr4.php" <<'PHP'
<?php
$vendorDir = dirname(__DIR__);
$baseDir = dirname($vendorDir);
return array(
    'App\\' => array($baseDir . '/src'),
);
PHP
  cat >"$pre/vendor/composer/autoload_classmap.php" <<'PHP'
<?php
$vendorDir = dirname(__DIR__);
$baseDir = dirname($vendorDir);
return array(
    'App\\Model\\Base' => $baseDir . '/src/Model/Base.php',
    'App\\Model\\User' => $baseDir . '/src/Model/User.php',
);
PHP
  printf '<?php\nnamespace App\\Model;\n\nabstract class Base {}\n' >"$pre/src/Model/Base.php"
  printf '<?php\nnamespace App\\Model;\n\nclass User extends Base {}\n' >"$pre/src/Model/User.php"
  chown -R 65532:65532 "$pre" 2>/dev/null
  expect "preload computes preload.php" 0 -- \
    in_root /bin/initkit-preload --app-dir /smoke/pre --output /smoke/pre/preload.php \
    --report /smoke/pre/report.json
  if grep -q 'Base.php' "$pre/preload.php" 2>/dev/null && grep -q 'User.php' "$pre/preload.php" &&
    [ "$(grep -n 'Base.php' "$pre/preload.php" | head -1 | cut -d: -f1)" -lt \
      "$(grep -n 'User.php' "$pre/preload.php" | head -1 | cut -d: -f1)" ]; then
    pass "preload.php lists the parent before the child"
  else
    fail "preload.php does not list Base.php before User.php" "$(cat "$pre/preload.php" 2>&1)"
  fi
else
  skip "preload checks" "not built"
fi

# ---- migrate --status against a local MariaDB -------------------------------
echo "== initkit-migrate"
if ! has migrate; then
  skip "migrate checks" "not built"
elif ! command -v mariadbd >/dev/null || ! command -v mariadb-install-db >/dev/null; then
  skip "migrate --status" "no mariadbd / mariadb-install-db (package mariadb-server)"
else
  db=$WORK/db
  mkdir -p "$db"
  cat >"$db/init.sql" <<'SQL'
CREATE DATABASE IF NOT EXISTS smoke;
CREATE USER IF NOT EXISTS 'smoke'@'%' IDENTIFIED BY 'smoke-pw';
GRANT ALL PRIVILEGES ON *.* TO 'smoke'@'%';
SQL
  # TLS with the HTTPS check's test CA, when it could be made.
  tls=()
  if [ -n "${pki:-}" ] && [ -s "$pki/srv.pem" ]; then
    tls=(--ssl-ca="$pki/ca.pem" --ssl-cert="$pki/srv.pem" --ssl-key="$pki/srv.key")
  fi
  if ! mariadb_start "$db" "$db/init.sql" "${tls[@]}" 2>"$db/start.err"; then
    fail "mariadb-install-db" "$(cat "$db/start.err")"
  else
    PIDS+=("$MARIADB_PID")
    dport=$MARIADB_PORT
    if ! mariadb_wait 60 2>"$db/start.err"; then
      fail "MariaDB did not start on 127.0.0.1:$dport" "$(cat "$db/start.err")"
    else
      echo 'smoke-pw' >"$SMOKE/smoke/db-password"
      chmod 0644 "$SMOKE/smoke/db-password"
      expect "migrate --status against MariaDB (by host name)" 0 --out '^\{.*\}$' -- \
        in_root /bin/initkit-migrate --status --db-host initkit-smoke.test --db-port "$dport" \
        --db-user smoke --db-password-file /smoke/db-password --db-name smoke \
        --migrate-cmd '/bin/initkit-migrate --version' --wait-timeout 10s
      if grep -q 'smoke-pw' "$WORK/stderr"; then
        fail "migrate logged the database password"
      fi
      if [ ${#tls[@]} -gt 0 ]; then
        cp "$pki/ca.pem" "$SMOKE/smoke/ca.pem"
        expect "migrate --status over TLS (--db-tls-ca, static OpenSSL)" 0 --out '^\{.*\}$' -- \
          in_root /bin/initkit-migrate --status --db-host initkit-smoke.test --db-port "$dport" \
          --db-user smoke --db-password-file /smoke/db-password --db-name smoke \
          --db-tls-ca /smoke/ca.pem --migrate-cmd '/bin/initkit-migrate --version' --wait-timeout 10s
        # The image's bundle does not hold the test CA: the connection must fail.
        expect "migrate refuses a server its CA does not verify (exit 1, TLS error)" 1 --out "TLS" -- \
          in_root /bin/initkit-migrate --status --db-host initkit-smoke.test --db-port "$dport" \
          --db-user smoke --db-password-file /smoke/db-password --db-name smoke \
          --db-tls-ca /etc/ssl/certs/ca-certificates.crt --migrate-cmd '/bin/initkit-migrate --version' \
          --wait-timeout 1s
      else
        skip "migrate over TLS" "no test CA (needs openssl)"
      fi
    fi
  fi
fi

echo "== summary: $passed passed, $failed failed, $skipped skipped"
if [ "$failed" -gt 0 ]; then
  printf '   failed: %s\n' "${FAILED_NAMES[@]}"
  echo "static-smoke: FAIL"
  exit 1
fi
echo "static-smoke: PASS"
