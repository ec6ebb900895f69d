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
  python3-yaml python3-jsonschema docker-compose
  # initkit-preload's fixture app (shared/fixtures/make-php-app.sh) and benchmark
  php8.2-mbstring php8.2-xml composer php-laravel-framework php-symfony phpunit
  php-doctrine-orm php-doctrine-dbal php-twig php-monolog php-guzzlehttp-guzzle
  php-nikic-fast-route php-league-commonmark php-phpstan-phpdoc-parser php-sabre-dav
  php-tcpdf php-phpseclib3 php-parser time
)
PKGS+=("$@")

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

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

# The Dockerfile linter comes from npm (Debian has none); optional: the smoke
# test skips the lint with a message when npm is not there.
if ! command -v dockerfile-utils >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  npm install -g --silent --no-fund --no-audit dockerfile-utils@0.16.3 >/dev/null 2>&1 ||
    echo "deps: could not install dockerfile-utils from npm; the Dockerfile lint will be skipped" >&2
fi
