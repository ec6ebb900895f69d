#!/usr/bin/env bash
# Installs the Debian packages initkit needs to build, test and demo, only
# those missing, quietly. Idempotent; needs root (or sudo) on Debian 12.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config file ccache
  libcurl4-openssl-dev libssl-dev zlib1g-dev nlohmann-json3-dev
  libspdlog-dev libfmt-dev libcli11-dev libmariadb-dev libhiredis-dev
  libgtest-dev libgmock-dev
  mariadb-server mariadb-client redis-server
  php8.2-cli php8.2-opcache php8.2-fpm php8.2-mysql
  hyperfine rsync dpkg-dev
  # the man page lint in the reference test (docs/man)
  mandoc
  python3-yaml python3-jsonschema docker-compose
  # the pod runner (tests/pods): loopback in its network namespace, test CAs
  iproute2 openssl
  # `make image`: buildah builds the OCI image offline; the arm64 binaries
  # run under qemu-user in the smoke test (the cross toolchain and arm64
  # -dev packages are installed by images/build-static.sh when needed)
  buildah qemu-user-static
  # initkit-preload's fixture app (tests/fixtures/make-php-app.sh) and benchmark
  php8.2-mbstring php8.2-xml composer php-laravel-framework php-symfony phpunit
  php-doctrine-orm php-doctrine-dbal php-twig php-monolog php-guzzlehttp-guzzle
  php-nikic-fast-route php-league-commonmark php-phpstan-phpdoc-parser php-sabre-dav
  php-tcpdf php-phpseclib3 php-parser time
  # initkit-preload's real-world corpus (tests/fixtures/make-php-corpus.sh, CORPUS_PKGS
  # below) and a real application that ships its own Composer autoloader
  mediawiki
)
# Library packages the fixture app does not use (the preload corpus).
mapfile -t CORPUS_PKGS < <(grep -v '^#' "$(dirname "$0")/../tests/fixtures/php-corpus-packages.txt")
PKGS+=("${CORPUS_PKGS[@]}")
PKGS+=("$@")

# From npm (Debian packages neither), pinned; installed globally when missing.
# dockerfile-utils: the Dockerfile linter; @cyclonedx/cyclonedx-library (with
# the ajv packages its JSON validator needs): images/sbom-validate.js.
NPM_PKGS=(
  dockerfile-utils@0.16.3
  @cyclonedx/cyclonedx-library@10.3.0 ajv@8.20.0 ajv-formats@3.0.1 ajv-formats-draft2019@1.6.1
)
npm_install() {
  command -v npm >/dev/null 2>&1 || return 0
  local want
  # One node run prints the pinned packages that are missing or another version.
  want=$(node -e '
    const root = require("child_process").execSync("npm root -g").toString().trim();
    for (const p of process.argv.slice(1)) {
      const at = p.lastIndexOf("@");
      let v = "";
      try { v = require(root + "/" + p.slice(0, at) + "/package.json").version; } catch (e) {}
      if (v !== p.slice(at + 1)) console.log(p);
    }' "${NPM_PKGS[@]}" 2>/dev/null) || return 0
  [ -z "$want" ] && return 0
  # shellcheck disable=SC2206 # one package spec per line, no spaces in them
  want=($want)
  npm install -g --silent --no-fund --no-audit "${want[@]}" >/dev/null 2>&1 ||
    echo "deps: could not install ${want[*]} from npm; the Dockerfile lint and SBOM validation will fail or be skipped" >&2
}

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  npm_install
  exit 0
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Package services must not start on install: tests start their own servers.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

npm_install
