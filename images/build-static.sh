#!/usr/bin/env bash
# Builds the fully static initkit binaries for one architecture into
# build-static/bin/ (the machine's own architecture) or
# build-static-<arch>/bin/ (a cross build, e.g. ARCH=arm64 on amd64).
#
# The same script runs on a developer machine (`make static [ARCH=arm64]`) and
# in the builder stage of images/Dockerfile, so it is self-contained: it
# installs the Debian packages it needs (only missing ones; for a cross build
# the cross toolchain and the target's -dev packages through multiarch), adds
# a deb-src entry when none is configured, builds a minimal static OpenSSL and
# libcurl (HTTP/HTTPS over OpenSSL) from Debian's own source packages, then
# builds every tools/*/main.cc with -DINITKIT_STATIC=ON and checks that each
# result is statically linked and within its size budget.
#
# Cached outside the build tree: the OpenSSL and libcurl prefixes live in
# $INITKIT_CACHE_DIR (default ~/.cache/initkit) under a key made of their
# recipe (the build function and flags in this file), the architecture and
# the Debian source version, so a fresh clone on the same machine reuses
# them and a Debian security update or a recipe change rebuilds them. A
# re-run with nothing to do takes about a second. Quiet on success; on
# failure the log of the failed step is printed. Also writes the link maps
# (build-static/maps/, read by images/sbom.py) and assembles
# build-static/rootfs, the content of the FROM scratch image. See
# images/README.md.
# Usage: build-static.sh [--libs-only]   (--libs-only: packages, OpenSSL and
# libcurl, not the tools; the Dockerfile caches that step apart from the sources)
# Environment: ARCH (amd64 or arm64, default the machine's), JOBS (parallel
# jobs, default nproc), INITKIT_STATIC_DIR, INITKIT_CACHE_DIR,
# INITKIT_NET_TOOL_MAX_BYTES (default 6000000), INITKIT_TOTAL_MAX_BYTES
# (default 20000000).
set -euo pipefail

SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
LIBS_ONLY=0
[ "${1:-}" = --libs-only ] && LIBS_ONLY=1

HOST_ARCH=$(dpkg --print-architecture)
ARCH=${ARCH:-$HOST_ARCH}
# Debian's names; the kernel's are accepted too (ARCH may come from the
# environment, where x86_64 is common).
case $ARCH in
  x86_64) ARCH=amd64 ;;
  aarch64) ARCH=arm64 ;;
esac
# Debian architecture -> GNU triplet and OpenSSL's Configure target.
case $ARCH in
  amd64) TRIPLET=x86_64-linux-gnu OPENSSL_TARGET=linux-x86_64 ;;
  arm64) TRIPLET=aarch64-linux-gnu OPENSSL_TARGET=linux-aarch64 ;;
  *)
    echo "static: ARCH=$ARCH is not supported (amd64 or arm64)" >&2
    exit 2
    ;;
esac
CROSS=0
[ "$ARCH" != "$HOST_ARCH" ] && CROSS=1
if [ $CROSS -eq 1 ]; then
  DEFAULT_OUT=build-static-$ARCH
else
  DEFAULT_OUT=build-static
fi
OUT=${INITKIT_STATIC_DIR:-$DEFAULT_OUT}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
JOBS=${JOBS:-$(nproc)}
LOGDIR=$OUT/logs
mkdir -p "$LOGDIR"
CACHE=${INITKIT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/initkit}
mkdir -p "$CACHE"
# The issue's budgets: each networked tool (HTTPS/DB client + OpenSSL) at
# most 6 MB, all five together at most 20 MB.
NET_TOOL_MAX=${INITKIT_NET_TOOL_MAX_BYTES:-${INITKIT_CRON_GATE_MAX_BYTES:-6000000}}
TOTAL_MAX=${INITKIT_TOTAL_MAX_BYTES:-20000000}

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
# A cross build needs the target architecture in dpkg (multiarch) before apt
# can tell the versions below.
if [ $CROSS -eq 1 ] && ! dpkg --print-foreign-architectures | grep -qx "$ARCH"; then
  $SUDO dpkg --add-architecture "$ARCH"
  say "added the $ARCH architecture to dpkg (multiarch)"
  run apt-update-multiarch $SUDO apt-get update -qq
fi
# INITKIT_OPENSSL=debian links Debian's libssl.a/libcrypto.a instead of the
# minimal build (faster first build, +1.4 MB per TLS binary).
OPENSSL_MODE=${INITKIT_OPENSSL:-own}

# source_version BINPKG: the Debian version of the source package that
# BINPKG (for ARCH) is built from, as apt would install it now; "+bN"
# (a binary-only rebuild) is not part of the source version.
source_version() {
  apt-cache policy "$1:$ARCH" 2>/dev/null | sed -n 's/^ *Candidate: //p' | sed 's/+b[0-9]*$//'
}
OPENSSL_SRC_VERSION=$(source_version libssl3)
CURL_SRC_VERSION=$(source_version libcurl4)
if [ -z "$OPENSSL_SRC_VERSION" ] || [ "$OPENSSL_SRC_VERSION" = "(none)" ]; then
  die "apt knows no libssl3:$ARCH (for a cross build: dpkg --add-architecture $ARCH && apt-get update)"
fi
if [ -z "$CURL_SRC_VERSION" ] || [ "$CURL_SRC_VERSION" = "(none)" ]; then
  die "apt knows no libcurl4:$ARCH"
fi

# A cache entry is valid for its key only: a changed build function, flags,
# architecture or Debian source version builds a new entry (and a new
# OpenSSL a new libcurl). The key names the directory; the stamp inside is
# written last, so an interrupted build is never taken for a finished one.
recipe() { sed -n "/^$1()/,/^}/p" "$SELF" | md5sum | cut -d' ' -f1; }
key() { echo "$*" | md5sum | cut -c1-16; }
OPENSSL_STAMP="$(recipe build_openssl) $C_SIZE_FLAGS $ARCH openssl=$OPENSSL_SRC_VERSION"
OPENSSL_PREFIX=$CACHE/openssl-$ARCH-$(key "$OPENSSL_STAMP")
if [ "$OPENSSL_MODE" = own ]; then
  CURL_OPENSSL=$OPENSSL_PREFIX
  CURL_STAMP="$(recipe build_curl) $C_SIZE_FLAGS $ARCH curl=$CURL_SRC_VERSION openssl=$OPENSSL_STAMP"
else
  CURL_OPENSSL=""
  CURL_STAMP="$(recipe build_curl) $C_SIZE_FLAGS $ARCH curl=$CURL_SRC_VERSION openssl=debian"
fi
CURL_PREFIX=$CACHE/curl-$ARCH-$(key "$CURL_STAMP")
# One build of a cache entry at a time (another clone may be building the
# same one): the lock is held until both libraries are there.
exec 9>"$CACHE/.lock-$ARCH"
flock 9
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
# A cross build takes Debian's cross toolchain and the target's -dev packages
# (their static archives) through multiarch; the header-only libraries are
# architecture-independent.
EXTRACT=()
PKGS=(
  build-essential cmake ninja-build pkg-config file dpkg-dev xz-utils perl
  python3 ca-certificates nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
)
if [ $CROSS -eq 1 ]; then
  PKGS+=("crossbuild-essential-$ARCH")
  # A -dev package that is not "Multi-Arch: same" cannot be installed next
  # to the build machine's own (installing libmariadb-dev:arm64 removes
  # libmariadb-dev:amd64, which every native build needs): those are only
  # downloaded and unpacked into the cache (extract_deb below).
  for p in libc6-dev libssl-dev zlib1g-dev libmariadb-dev libhiredis-dev; do
    if [ "$(apt-cache show "$p:$ARCH" 2>/dev/null | sed -n 's/^Multi-Arch: //p' | head -n 1)" = same ]; then
      PKGS+=("$p:$ARCH")
    else
      EXTRACT+=("$p")
    fi
  done
else
  PKGS+=(libssl-dev zlib1g-dev libmariadb-dev libhiredis-dev)
fi
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

# fetch_source PKG VERSION: Debian's source of PKG (upstream release +
# Debian's security patches), unpacked once into build-static/PKG-src/;
# prints the unpacked directory, whose .initkit-unpacked holds the Debian
# version it is. Root downloads unsandboxed: say so explicitly instead of a
# warning. A mirror can lag behind its Sources index (404 for the newest
# upload): then the other versions it lists are tried, newest first, with a
# warning (the SBOM records the version actually built).
fetch_source() {
  local pkg=$1 want=$2 src=$OUT/$1-src dir log=$LOGDIR/apt-source-$1.log v got=""
  dir=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name "$pkg-*" 2>/dev/null | head -n 1 || true)
  if [ -n "$dir" ] && [ "$(cat "$dir/.initkit-unpacked" 2>/dev/null)" = "$want" ]; then
    echo "$dir"
    return 0
  fi
  rm -rf "$src"
  mkdir -p "$src"
  if (cd "$src" && apt-get source -q -o APT::Sandbox::User=root "$pkg=$want") >"$log" 2>&1; then
    got=$want
  else
    for v in $(apt-cache showsrc "$pkg" | sed -n 's/^Version: //p' | sort -rVu); do
      [ "$v" = "$want" ] && continue
      find "$src" -mindepth 1 -delete
      if (cd "$src" && apt-get source -q -o APT::Sandbox::User=root "$pkg=$v") >>"$log" 2>&1; then
        got=$v
        echo "static: WARNING: the mirror has no source of $pkg $want; building $v" >&2
        break
      fi
    done
  fi
  if [ -z "$got" ]; then
    tail -n 30 "$log" >&2
    die "apt-get source $pkg failed (log: $log)"
  fi
  dir=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name "$pkg-*" | head -n 1)
  [ -n "$dir" ] || die "apt-get source $pkg unpacked nothing into $src"
  echo "$got" >"$dir/.initkit-unpacked"
  echo "$dir"
}

# record_source PREFIX PKG DIR: what the SBOM needs to know about a library
# built here (images/sbom.py reads it): Debian source package and version.
record_source() {
  printf 'source=%s\ndebian-version=%s\n' "$2" "$(cat "$3/.initkit-unpacked")" >"$1/.initkit-source"
}

# extract_deb PKG: PKG for ARCH, as apt would install it, unpacked (not
# installed) into the cache; prints the directory. Its .initkit-source names
# the Debian source package and version (for the SBOM).
extract_deb() {
  local pkg=$1 ver dir tmp deb src
  ver=$(apt-cache policy "$pkg:$ARCH" | sed -n 's/^ *Candidate: //p')
  if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
    die "apt knows no $pkg:$ARCH"
  fi
  dir=$CACHE/deb-$ARCH-$pkg-$(echo "$ver" | tr ':~+' '___')
  if [ ! -f "$dir/.initkit-source" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg:$ARCH=$ver") \
      >"$LOGDIR/download-$pkg.log" 2>&1 || die "apt-get download $pkg:$ARCH=$ver failed (log: $LOGDIR/download-$pkg.log)"
    deb=$(find "$tmp" -name '*.deb' | head -n 1)
    [ -n "$deb" ] || die "apt-get download $pkg:$ARCH=$ver left no .deb"
    rm -rf "$dir"
    mkdir -p "$dir"
    dpkg-deb -x "$deb" "$dir" || die "could not unpack $deb"
    # "Source: mariadb" or "Source: mariadb (1:10.11.19-0+deb12u1)"
    src=$(dpkg-deb -f "$deb" Source)
    [ -n "$src" ] || src=$pkg
    local sv=$ver
    [[ $src == *"("*")"* ]] && sv=${src#*(} && sv=${sv%)}
    printf 'source=%s\ndebian-version=%s\n' "${src%% *}" "$sv" >"$dir/.initkit-source"
    rm -rf "$tmp"
  fi
  echo "$dir"
}
CMAKE_EXTRACTED=()
for p in "${EXTRACT[@]}"; do
  d=$(extract_deb "$p") || exit 1
  case $p in
    libmariadb-dev)
      CMAKE_EXTRACTED+=(-DMARIADB_LIB="$d/usr/lib/$TRIPLET/libmariadb.a" -DMARIADB_INCLUDE="$d/usr/include/mariadb")
      ;;
    *) die "$p:$ARCH is not Multi-Arch: same and the build does not know where to find it unpacked" ;;
  esac
done

# ---- 2. static OpenSSL from Debian's source package -----------------------
# Debian's libcrypto.a has no per-function sections and its default provider
# references every algorithm: ~3.4 MB in each TLS binary. This build keeps
# what TLS clients, MariaDB TLS and the secrets generators need (RSA, EC,
# X25519/Ed25519, DH, AES, ChaCha20-Poly1305, SHA-1/2/3, HMAC, HKDF, PEM and
# X.509) and leaves out legacy ciphers and digests, engines, DSO loading,
# DTLS, SRP, OCSP, CT, CMS, TS and config autoloading: -1.4 MB per binary.
build_openssl() {
  local t0=$SECONDS dir bdir=$OUT/openssl-build
  dir=$(fetch_source openssl "$OPENSSL_SRC_VERSION")
  rm -rf "$bdir" "$OPENSSL_PREFIX"
  mkdir -p "$bdir"
  local cross=()
  [ $CROSS -eq 1 ] && cross=(--cross-compile-prefix="$TRIPLET-")
  local opts=(
    "$OPENSSL_TARGET" "${cross[@]}" --prefix="$OPENSSL_PREFIX" --libdir=lib --openssldir=/usr/lib/ssl
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
  record_source "$OPENSSL_PREFIX" openssl "$dir"
  rm -rf "$bdir"
  echo "$OPENSSL_STAMP" >"$OPENSSL_PREFIX/.initkit-stamp"
  say "built static OpenSSL $(basename "$dir") for $ARCH in $((SECONDS - t0)) s"
}

if [ $need_openssl -eq 1 ]; then
  build_openssl
fi

# ---- 3. static libcurl from Debian's source package ----------------------
build_curl() {
  local t0=$SECONDS

  local dir
  dir=$(fetch_source curl "$CURL_SRC_VERSION")
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
  # A cross build: the target's compiler, and pkg-config reading only the
  # target's .pc files (zlib), never the build machine's.
  local cross=()
  if [ $CROSS -eq 1 ]; then
    cross=(--host="$TRIPLET" --build="$(gcc -dumpmachine)")
    flags+=(CC="$TRIPLET-gcc" AR="$TRIPLET-ar" RANLIB="$TRIPLET-ranlib" STRIP="$TRIPLET-strip")
  fi
  (cd "$bdir" && run curl-configure env CFLAGS="$C_SIZE_FLAGS" CPPFLAGS="-DNDEBUG" \
    PKG_CONFIG_LIBDIR="/usr/lib/$TRIPLET/pkgconfig:/usr/share/pkgconfig" \
    "$dir/configure" "${cross[@]}" "${flags[@]}")
  # The library and its headers only; the curl command-line tool is not needed.
  run curl-make make -C "$bdir/lib" -j "$JOBS"
  run curl-install sh -c "make -C '$bdir/lib' install && make -C '$bdir/include' install"
  [ -f "$CURL_PREFIX/lib/libcurl.a" ] || die "libcurl.a was not installed into $CURL_PREFIX"
  record_source "$CURL_PREFIX" curl "$dir"
  rm -rf "$bdir"
  echo "$CURL_STAMP" >"$CURL_PREFIX/.initkit-stamp"
  say "built static libcurl $(basename "$dir") for $ARCH in $((SECONDS - t0)) s"
}

if [ $need_curl -eq 1 ]; then
  build_curl
fi
exec 9>&-
if [ $LIBS_ONLY -eq 1 ]; then
  say "ok: OpenSSL and libcurl for $ARCH in $CACHE"
  exit 0
fi

# ---- 4. the tools --------------------------------------------------------
# A configured tree re-runs CMake by itself when a CMakeLists.txt or a glob
# changes; configure explicitly only when the options below changed (saves
# ~10 s per run). The linker writes one map per binary into $OUT/maps: the
# archive members it took, which images/sbom.py turns into the SBOM.
cmake_openssl=""
[ "$OPENSSL_MODE" = own ] && cmake_openssl=$OPENSSL_PREFIX
mkdir -p "$OUT/maps"
cmake_args=(
  -DCMAKE_BUILD_TYPE=MinSizeRel
  -DINITKIT_STATIC=ON -DINITKIT_TESTS=OFF
  -DINITKIT_CURL_PREFIX="$CURL_PREFIX"
  -DINITKIT_OPENSSL_PREFIX="$cmake_openssl"
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,-Map=$OUT/maps"
)
if [ $CROSS -eq 1 ]; then
  # Debian's cross compilers search the multiarch directories
  # (/usr/lib/$TRIPLET) themselves; CMake learns the triplet from them.
  printf 'set(CMAKE_SYSTEM_NAME Linux)\nset(CMAKE_SYSTEM_PROCESSOR %s)\nset(CMAKE_C_COMPILER %s-gcc)\nset(CMAKE_CXX_COMPILER %s-g++)\n' \
    "${TRIPLET%%-*}" "$TRIPLET" "$TRIPLET" >"$OUT/toolchain.cmake"
  # Debian's cross toolchain brings its own glibc (libc6-dev-arm64-cross),
  # a snapshot without the security updates of bookworm's glibc; link the
  # target's own libc6-dev (multiarch, updated with the distribution)
  # instead: its crt*.o (-B) and libc.a/libm.a (-L) come first. The headers
  # stay the toolchain's (the same upstream release; the SBOM says which is which).
  cmake_args+=("${CMAKE_EXTRACTED[@]}")
  cmake_args+=(-DCMAKE_TOOLCHAIN_FILE="$OUT/toolchain.cmake" -DINITKIT_OBJCOPY="$(command -v "$TRIPLET-objcopy")"
    -DCMAKE_EXE_LINKER_FLAGS="-Wl,-Map=$OUT/maps -B/usr/lib/$TRIPLET/ -L/usr/lib/$TRIPLET")
fi
if [ "$(cat "$OUT/.initkit-configure" 2>/dev/null)" != "${cmake_args[*]}" ]; then
  # Other options (another OpenSSL, compiler): cached results are stale.
  rm -rf "$OUT/CMakeCache.txt" "$OUT/CMakeFiles" "$OUT/build.ninja" "$OUT/noeh"
fi
if [ ! -f "$OUT/build.ninja" ]; then
  run cmake-configure cmake -S "$ROOT" -B "$OUT" -G Ninja "${cmake_args[@]}"
  echo "${cmake_args[*]}" >"$OUT/.initkit-configure"
fi
run cmake-build cmake --build "$OUT" -j "$JOBS"

# ---- 5. checks -----------------------------------------------------------
shopt -s nullglob
bins=("$OUT"/bin/initkit-*)
[ ${#bins[@]} -gt 0 ] || die "no binaries in $OUT/bin (no tools/*/main.cc?)"
case $ARCH in
  amd64) want_machine="x86-64" ;;
  arm64) want_machine="ARM aarch64" ;;
esac
fail=0
sum=0
for b in "${bins[@]}"; do
  name=$(basename "$b")
  desc=$(file -b "$b")
  size=$(stat -c %s "$b")
  sum=$((sum + size))
  if ! grep -q "statically linked" <<<"$desc"; then
    echo "static: $name is not statically linked: $desc" >&2
    fail=1
  fi
  if ! grep -q "$want_machine" <<<"$desc"; then
    echo "static: $name is not a $want_machine binary: $desc" >&2
    fail=1
  fi
  # A networked tool is one the linker gave OpenSSL (its map says so).
  if grep -q 'libcrypto\.a(' "$OUT/maps/$name.map" 2>/dev/null && [ "$size" -gt "$NET_TOOL_MAX" ]; then
    echo "static: $name is $size bytes, over the budget of $NET_TOOL_MAX for a networked tool" >&2
    fail=1
  fi
  printf 'static: %-20s %9d bytes (%s MB, %s)\n' "$name" "$size" \
    "$(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1000000 }')" "$ARCH"
done
if [ "$sum" -gt "$TOTAL_MAX" ]; then
  echo "static: the ${#bins[@]} binaries are $sum bytes together, over the budget of $TOTAL_MAX" >&2
  fail=1
fi
[ $fail -eq 0 ] || die "see above"

# ---- 6. the SBOM ----------------------------------------------------------
# From the link maps and ninja's header dependencies of this build (see
# images/sbom.py); shipped in the image and kept as a build artifact.
run sbom python3 "$ROOT/images/sbom.py" "$OUT" "$ARCH" "$OUT/initkit.cdx.json"

# ---- 7. the image's root filesystem --------------------------------------
# Exactly what the FROM scratch image holds (images/Containerfile and the
# final stage of images/Dockerfile copy it), so that scripts/static-smoke.sh
# can run the binaries in the same tree without a container engine.
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
[ -s "$CA_BUNDLE" ] || die "no CA bundle at $CA_BUNDLE (package ca-certificates)"
rootfs=$OUT/rootfs
rm -rf "$rootfs.tmp"
mkdir -p "$rootfs.tmp/bin" "$rootfs.tmp/etc/ssl/certs"
install -m 0755 -t "$rootfs.tmp/bin" "${bins[@]}"
install -m 0644 "$CA_BUNDLE" "$rootfs.tmp/etc/ssl/certs/ca-certificates.crt"
install -m 0644 -t "$rootfs.tmp/etc" "$ROOT"/images/rootfs/etc/{passwd,group,nsswitch.conf}
install -d -m 1777 "$rootfs.tmp/tmp"
install -D -m 0644 "$OUT/initkit.cdx.json" "$rootfs.tmp/usr/share/doc/initkit/initkit.cdx.json"
rm -rf "$rootfs"
mv "$rootfs.tmp" "$rootfs"
total=$(du -sb "$rootfs" | cut -f1)
say "ok: ${#bins[@]} static $ARCH binaries in ${OUT#"$ROOT"/}/bin; image root ${OUT#"$ROOT"/}/rootfs is $total bytes"
