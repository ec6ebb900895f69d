#!/usr/bin/env bash
# The image steps of `make test`, after `make image`: checks every platform of
# build-image/initkit.oci.tar (config, labels, size, no shell, the SBOM against
# the binaries and their --version; images/check-image.py), then runs the
# static smoke test (scripts/static-smoke.sh) in the root filesystem exported
# from each platform's image: natively for this machine's architecture,
# under qemu-user for the other (no container runs on our CI machines).
# Environment: PLATFORMS (default "amd64 arm64"), INITKIT_IMAGE_DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMG=${INITKIT_IMAGE_DIR:-$ROOT/build-image}
PLATFORMS=${PLATFORMS:-amd64 arm64}
HOST_ARCH=$(dpkg --print-architecture)
ARCHIVE=$IMG/initkit.oci.tar
[ -s "$ARCHIVE" ] || {
  echo "image-check: no $ARCHIVE; run 'make image' first" >&2
  exit 1
}

rc=0
# shellcheck disable=SC2086 # one word per platform
python3 "$ROOT/images/check-image.py" "$ARCHIVE" "$IMG/check" $PLATFORMS || rc=1

for arch in $PLATFORMS; do
  rootfs=$IMG/check/rootfs-$arch
  [ -d "$rootfs/bin" ] || continue
  emulator=""
  if [ "$arch" != "$HOST_ARCH" ]; then
    case $arch in
      arm64) emulator=$(command -v qemu-aarch64-static || true) ;;
      amd64) emulator=$(command -v qemu-x86_64-static || true) ;;
    esac
    if [ -z "$emulator" ]; then
      echo "image-check: no qemu-user emulator for $arch (package qemu-user-static)" >&2
      rc=1
      continue
    fi
  fi
  echo "== smoke test in the linux/$arch image's root filesystem"
  INITKIT_SMOKE_ROOTFS=$rootfs INITKIT_SMOKE_DIR=$IMG/check/smoke-$arch \
    INITKIT_SMOKE_EMULATOR=$emulator "$ROOT/scripts/static-smoke.sh" || rc=1
done
[ $rc -eq 0 ] && echo "image-check: PASS" || echo "image-check: FAIL"
exit $rc
