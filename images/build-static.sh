#!/usr/bin/env bash
# Builds the fully static initkit binaries into build-static/bin/.
#
# The same script runs on a developer machine (`make static`) and in the
# builder stage of images/Dockerfile, so it is self-contained: it installs the
# Debian packages it needs (only missing ones), adds a deb-src entry when none
# is configured, builds a minimal static libcurl (HTTP/HTTPS over OpenSSL)
# from Debian's own source package, then builds every tools/*/main.cc with
# -DINITKIT_STATIC=ON and checks that each result is statically linked.
#
# Idempotent and cached: libcurl is rebuilt only when
# build-static/curl-prefix/lib/libcurl.a is missing or its recipe in this
# file changed; a re-run with nothing to do takes about a second (delete
# build-static/ to start over). Quiet on success; on failure the log of the
# failed step is printed. Also assembles build-static/rootfs, the content of
# the FROM scratch image. See images/README.md.
# Environment: JOBS (parallel jobs, default nproc), INITKIT_STATIC_DIR
# (default build-static), INITKIT_CRON_GATE_MAX_BYTES (default 6000000).
set -euo pipefail

SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=${INITKIT_STATIC_DIR:-build-static}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
JOBS=${JOBS:-$(nproc)}
LOGDIR=$OUT/logs
mkdir -p "$LOGDIR"
CURL_PREFIX=$OUT/curl-prefix
# The issue's budget: the gate (HTTPS client + OpenSSL) must stay <= 6 MB.
CRON_GATE_MAX=${INITKIT_CRON_GATE_MAX_BYTES:-6000000}

say() { echo "static: $*"; }
die() {
  echo "static: FAILED: $*" >&2
  exit 1
}

# run LOGNAME CMD...: runs CMD with its output in a log; prints the log's tail
# and fails when CMD fails, so success stays quiet and failure is loud.
run() {
  local log=$LOGDIR/$1.log
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "static: step failed: $*" >&2
    echo "---- last 60 lines of $log ----" >&2
    tail -n 60 "$log" >&2
    exit 1
  fi
}

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

have_deb_src() {
  grep -Eqs '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list ||
    grep -Eqis '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources
}

# Writes a deb822 deb-src stanza for every configured Debian archive (URIs
# containing /debian), so `apt-get source` fetches from the same mirror and
# snapshot as the binaries. Third-party repositories are left out: many
# publish no sources and would make `apt-get update` fail.
add_deb_src() {
  local f=/etc/apt/sources.list.d/initkit-deb-src.sources
  local tmp
  tmp=$(mktemp)
  # deb822 files: copy each stanza whose Types has "deb", as deb-src.
  for s in /etc/apt/sources.list.d/*.sources; do
    [ -e "$s" ] || continue
    [ "$s" = "$f" ] && continue
    awk '
      function flush() {
        if (isdeb && uris ~ /\/debian/) { print stanza; print "" }
        stanza = ""; isdeb = 0; uris = ""
      }
      /^[[:space:]]*$/ { flush(); next }
      /^#/ { next }
      /^Types:/ { isdeb = ($0 ~ /(^|[[:space:]])deb([[:space:]]|$)/); stanza = stanza "Types: deb-src\n"; next }
      /^URIs:/ { uris = $0 }
      { stanza = stanza $0 "\n" }
      END { flush() }
    ' "$s" | sed '/^$/N;/^\n$/D' >>"$tmp"
  done
  # One-line format: "deb [opts] URI SUITE COMPONENTS...".
  for s in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$s" ] || continue
    awk '
      $1 != "deb" { next }
      {
        i = 2; signed = ""
        if ($2 ~ /^\[/) {
          while (i <= NF) {
            o = $i; gsub(/[\[\]]/, "", o)
            if (o ~ /^signed-by=/) { sub(/^signed-by=/, "", o); signed = o }
            if ($i ~ /\]$/) { i++; break }
            i++
          }
        }
        if ($i !~ /\/debian/) next
        printf "Types: deb-src\nURIs: %s\nSuites: %s\n", $i, $(i + 1)
        c = ""; for (j = i + 2; j <= NF; j++) c = c (c == "" ? "" : " ") $j
        if (c != "") printf "Components: %s\n", c
        if (signed != "") printf "Signed-By: %s\n", signed
        print ""
      }
    ' "$s" >>"$tmp"
  done
  [ -s "$tmp" ] || die "no Debian deb entry found in /etc/apt to mirror as deb-src; add one"
  {
    echo "# Added by initkit images/build-static.sh: sources for 'apt-get source curl'."
    cat "$tmp"
  } | $SUDO tee "$f" >/dev/null
  rm -f "$tmp"
  say "added $f"
}

# -Os and per-function sections: the final link drops what is unused. No
# unwind tables: C code that no C++ exception may cross (see CMakeLists.txt).
C_SIZE_FLAGS="-Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables"
# INITKIT_OPENSSL=debian links Debian's libssl.a/libcrypto.a instead of the
# minimal build (faster first build, +1.4 MB per TLS binary).
OPENSSL_MODE=${INITKIT_OPENSSL:-own}
OPENSSL_PREFIX=$OUT/openssl-prefix
# A cache is valid for its recipe only: a changed build function or flags
# rebuild it (and a rebuilt OpenSSL rebuilds libcurl).
recipe() { sed -n "/^$1()/,/^}/p" "$SELF" | md5sum | cut -d' ' -f1; }
OPENSSL_STAMP="$(recipe build_openssl) $C_SIZE_FLAGS"
if [ "$OPENSSL_MODE" = own ]; then
  CURL_OPENSSL=$OPENSSL_PREFIX
  CURL_STAMP="$(recipe build_curl) $C_SIZE_FLAGS openssl=$OPENSSL_STAMP"
else
  CURL_OPENSSL=""
  CURL_STAMP="$(recipe build_curl) $C_SIZE_FLAGS openssl=debian"
fi
stale() { [ ! -f "$1/lib/$2" ] || [ "$(cat "$1/.initkit-stamp" 2>/dev/null)" != "$3" ]; }
need_openssl=0
if [ "$OPENSSL_MODE" = own ] && stale "$OPENSSL_PREFIX" libcrypto.a "$OPENSSL_STAMP"; then
  need_openssl=1
fi
need_curl=0
if [ $need_openssl -eq 1 ] || stale "$CURL_PREFIX" libcurl.a "$CURL_STAMP"; then
  need_curl=1
fi
# ---- 1. Debian packages --------------------------------------------------
# What the static build needs and nothing else (no servers, no test tools):
# the toolchain, the static archives (-dev packages ship the .a files),
# dpkg-dev for `apt-get source`, perl for OpenSSL's Configure,
# ca-certificates for the image's CA bundle.
PKGS=(
  build-essential cmake ninja-build pkg-config file dpkg-dev xz-utils perl
  ca-certificates
  libssl-dev zlib1g-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev libmariadb-dev libhiredis-dev
)
need_update=0
# The sources need a deb-src entry; add it first so that one
# `apt-get update` serves both it and the package installs.
if [ $need_curl -eq 1 ] || [ $need_openssl -eq 1 ]; then
  if ! have_deb_src; then
    add_deb_src
    need_update=1
  elif ! ls /var/lib/apt/lists/*_Sources* >/dev/null 2>&1; then
    need_update=1 # deb-src configured but never fetched
  fi
fi
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ] || [ $need_update -eq 1 ]; then
  run apt-update $SUDO apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  run apt-install $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# fetch_source PKG: Debian's source of PKG (upstream release + Debian's
# security patches), unpacked once into build-static/PKG-src/; prints the
# unpacked directory. Root downloads unsandboxed: say so explicitly instead
# of a warning. A mirror can lag behind its Sources index (404 for the newest
# upload): then the other versions it lists are tried, newest first.
fetch_source() {
  local pkg=$1 src=$OUT/$1-src dir log=$LOGDIR/apt-source-$1.log v ok=0
  dir=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name "$pkg-*" 2>/dev/null | head -n 1 || true)
  if [ -n "$dir" ] && [ -f "$dir/.initkit-unpacked" ]; then
    echo "$dir"
    return 0
  fi
  rm -rf "$src"
  mkdir -p "$src"
  if (cd "$src" && apt-get source -q -o APT::Sandbox::User=root "$pkg") >"$log" 2>&1; then
    ok=1
  else
    for v in $(apt-cache showsrc "$pkg" | sed -n 's/^Version: //p' | sort -rVu); do
      find "$src" -mindepth 1 -delete
      if (cd "$src" && apt-get source -q -o APT::Sandbox::User=root "$pkg=$v") >>"$log" 2>&1; then
        ok=1
        break
      fi
    done
  fi
  if [ $ok -eq 0 ]; then
    tail -n 30 "$log" >&2
    die "apt-get source $pkg failed (log: $log)"
  fi
  dir=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name "$pkg-*" | head -n 1)
  [ -n "$dir" ] || die "apt-get source $pkg unpacked nothing into $src"
  touch "$dir/.initkit-unpacked"
  echo "$dir"
}

# ---- 2. static OpenSSL from Debian's source package -----------------------
# Debian's libcrypto.a has no per-function sections and its default provider
# references every algorithm: ~3.4 MB in each TLS binary. This build keeps
# what TLS clients, MariaDB TLS and the secrets generators need (RSA, EC,
# X25519/Ed25519, DH, AES, ChaCha20-Poly1305, SHA-1/2/3, HMAC, HKDF, PEM and
# X.509) and leaves out legacy ciphers and digests, engines, DSO loading,
# DTLS, SRP, OCSP, CT, CMS, TS and config autoloading: -1.4 MB per binary.
build_openssl() {
  local t0=$SECONDS dir bdir=$OUT/openssl-build
  dir=$(fetch_source openssl)
  rm -rf "$bdir" "$OPENSSL_PREFIX"
  mkdir -p "$bdir"
  local opts=(
    linux-x86_64 --prefix="$OPENSSL_PREFIX" --libdir=lib --openssldir=/usr/lib/ssl
    no-shared no-tests no-engine no-dso no-module no-legacy no-autoload-config
    no-ui-console no-async no-comp no-dtls no-ssl3 no-srp no-srtp no-psk no-ct
    no-ocsp no-cms no-ts no-idea no-camellia no-aria no-seed no-sm2 no-sm3
    no-sm4 no-bf no-cast no-rc2 no-rc4 no-rc5 no-md4 no-mdc2 no-whirlpool
    no-rmd160 no-siphash no-ocb no-gost no-scrypt no-des no-dsa no-ec2m
    no-afalgeng no-padlockeng no-capieng no-filenames
  )
  (cd "$bdir" && run openssl-configure env CFLAGS="$C_SIZE_FLAGS" "$dir/Configure" "${opts[@]}")
  run openssl-make make -C "$bdir" -j "$JOBS" build_libs
  run openssl-install make -C "$bdir" install_dev
  [ -f "$OPENSSL_PREFIX/lib/libcrypto.a" ] || die "libcrypto.a was not installed into $OPENSSL_PREFIX"
  echo "$OPENSSL_STAMP" >"$OPENSSL_PREFIX/.initkit-stamp"
  say "built static OpenSSL $(basename "$dir") in $((SECONDS - t0)) s"
}

if [ $need_openssl -eq 1 ]; then
  build_openssl
fi

# ---- 3. static libcurl from Debian's source package ----------------------
build_curl() {
  local t0=$SECONDS

  local dir
  dir=$(fetch_source curl)
  # Debian's patches also touch configure.ac / Makefile.am (for its GnuTLS
  # and NSS flavours, which we do not build); the security fixes are in the
  # C sources. Keep the release's generated build files: give them one
  # timestamp newer than their inputs, so make never calls autotools.
  local now
  now=$(date +%s)
  find "$dir" \( -name configure -o -name Makefile.in -o -name aclocal.m4 -o -name 'curl_config.h.in' \) \
    -exec touch -d "@$now" {} +

  local bdir=$OUT/curl-build
  rm -rf "$bdir" "$CURL_PREFIX"
  mkdir -p "$bdir"
  # Only what the tools use: HTTP(S) over OpenSSL with zlib and the
  # threaded resolver. Everything else is off, so libcurl.a pulls in as
  # little as possible and looks for no optional library at runtime.
  local flags=(
    --prefix="$CURL_PREFIX" --disable-shared --enable-static --with-pic
    --with-openssl${CURL_OPENSSL:+=$CURL_OPENSSL} --with-zlib --enable-threaded-resolver --enable-http
    --enable-proxy --enable-ipv6 --enable-http-auth --disable-crypto-auth
    --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --without-ca-path
    --disable-openssl-auto-load-config
    --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp
    --disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap
    --disable-smtp --disable-gopher --disable-mqtt --disable-smb --disable-ntlm
    --disable-ntlm-wb --disable-tls-srp --disable-sspi --disable-websockets
    --disable-alt-svc --disable-hsts --disable-cookies --disable-doh
    --disable-manual --disable-unix-sockets --disable-netrc
    --disable-progress-meter --disable-dateparse --disable-mime
    --disable-libcurl-option --disable-get-easy-options
    --disable-ares --disable-dependency-tracking
    --without-libpsl --without-brotli --without-zstd --without-nghttp2
    --without-nghttp3 --without-ngtcp2 --without-quiche --without-msh3
    --without-hyper --without-libidn2 --without-librtmp --without-libssh2
    --without-libssh --without-wolfssh --without-libgsasl --without-gssapi
    --without-gnutls --without-mbedtls --without-wolfssl --without-rustls
    --without-bearssl --without-nss --without-zsh-functions-dir
    --without-fish-functions-dir
  )
  (cd "$bdir" && run curl-configure env CFLAGS="$C_SIZE_FLAGS" CPPFLAGS="-DNDEBUG" \
    "$dir/configure" "${flags[@]}")
  # The library and its headers only; the curl command-line tool is not needed.
  run curl-make make -C "$bdir/lib" -j "$JOBS"
  run curl-install sh -c "make -C '$bdir/lib' install && make -C '$bdir/include' install"
  [ -f "$CURL_PREFIX/lib/libcurl.a" ] || die "libcurl.a was not installed into $CURL_PREFIX"
  echo "$CURL_STAMP" >"$CURL_PREFIX/.initkit-stamp"
  say "built static libcurl $(basename "$dir") in $((SECONDS - t0)) s"
}

if [ $need_curl -eq 1 ]; then
  build_curl
fi

# ---- 4. the tools --------------------------------------------------------
# A configured tree re-runs CMake by itself when a CMakeLists.txt or a glob
# changes; configure explicitly only the first time (saves ~10 s per run).
cmake_openssl=""
[ "$OPENSSL_MODE" = own ] && cmake_openssl=$OPENSSL_PREFIX
if ! grep -qx "INITKIT_OPENSSL_PREFIX:PATH=$cmake_openssl" "$OUT/CMakeCache.txt" 2>/dev/null; then
  # Another OpenSSL: FindOpenSSL's cached results are stale, start over.
  rm -f "$OUT/CMakeCache.txt" "$OUT/build.ninja"
fi
if [ ! -f "$OUT/build.ninja" ] || ! grep -q '^INITKIT_STATIC:BOOL=ON' "$OUT/CMakeCache.txt"; then
  run cmake-configure cmake -S "$ROOT" -B "$OUT" -G Ninja \
    -DCMAKE_BUILD_TYPE=MinSizeRel \
    -DINITKIT_STATIC=ON -DINITKIT_TESTS=OFF \
    -DINITKIT_CURL_PREFIX="$CURL_PREFIX" \
    -DINITKIT_OPENSSL_PREFIX="$cmake_openssl"
fi
run cmake-build cmake --build "$OUT" -j "$JOBS"

# ---- 5. checks -----------------------------------------------------------
shopt -s nullglob
bins=("$OUT"/bin/initkit-*)
[ ${#bins[@]} -gt 0 ] || die "no binaries in $OUT/bin (no tools/*/main.cc?)"
fail=0
for b in "${bins[@]}"; do
  desc=$(file -b "$b")
  size=$(stat -c %s "$b")
  if ! grep -q "statically linked" <<<"$desc"; then
    echo "static: $(basename "$b") is not statically linked: $desc" >&2
    fail=1
  fi
  if [ "$(basename "$b")" = initkit-cron-gate ] && [ "$size" -gt "$CRON_GATE_MAX" ]; then
    echo "static: initkit-cron-gate is $size bytes, over the budget of $CRON_GATE_MAX" >&2
    fail=1
  fi
  printf 'static: %-20s %9d bytes (%s MB)\n' "$(basename "$b")" "$size" \
    "$(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1000000 }')"
done
[ $fail -eq 0 ] || die "see above"

# ---- 6. the image's root filesystem --------------------------------------
# Exactly what the FROM scratch stage of images/Dockerfile copies, so that
# scripts/static-smoke.sh can run the binaries in the same tree without a
# container engine.
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
[ -s "$CA_BUNDLE" ] || die "no CA bundle at $CA_BUNDLE (package ca-certificates)"
rootfs=$OUT/rootfs
rm -rf "$rootfs.tmp"
mkdir -p "$rootfs.tmp/bin" "$rootfs.tmp/etc/ssl/certs"
install -m 0755 -t "$rootfs.tmp/bin" "${bins[@]}"
install -m 0644 "$CA_BUNDLE" "$rootfs.tmp/etc/ssl/certs/ca-certificates.crt"
install -m 0644 -t "$rootfs.tmp/etc" "$ROOT"/images/rootfs/etc/{passwd,group,nsswitch.conf}
install -d -m 1777 "$rootfs.tmp/tmp"
rm -rf "$rootfs"
mv "$rootfs.tmp" "$rootfs"
total=$(du -sb "$rootfs" | cut -f1)
say "ok: ${#bins[@]} static binaries in ${OUT#"$ROOT"/}/bin; image root ${OUT#"$ROOT"/}/rootfs is $total bytes"
