#!/usr/bin/env bash
# Builds the initkit OCI image for every platform from the static root
# filesystems images/build-static.sh assembled (build-static/rootfs for the
# machine's architecture, build-static-<arch>/rootfs for the others), with
# buildah and images/Containerfile (FROM scratch, COPY only: no network, no
# registry, no emulator), and saves the multi-platform image index as an OCI
# archive: build-image/initkit.oci.tar (tag = the project version).
#
# Reproducible: the image's `created` time and label are the commit's time,
# not the build's; buildah's own identity label is left out. buildah keeps
# its storage in build-image/storage (vfs driver), so nothing outside the
# build tree is touched. Run `make image` (it builds the static trees first).
# Environment: PLATFORMS (default "amd64 arm64"), INITKIT_IMAGE_DIR (default
# build-image), SOURCE_URL and LICENSES (OCI labels, default empty and
# Apache-2.0, the LICENSE file).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
IMG=${INITKIT_IMAGE_DIR:-$ROOT/build-image}
mkdir -p "$IMG"
IMG=$(cd "$IMG" && pwd)
PLATFORMS=${PLATFORMS:-amd64 arm64}
HOST_ARCH=$(dpkg --print-architecture)

say() { echo "image: $*"; }
die() {
  echo "image: FAILED: $*" >&2
  exit 1
}
command -v buildah >/dev/null || die "buildah is not installed (scripts/deps.sh installs it)"

static_dir() {
  if [ "$1" = "$HOST_ARCH" ]; then echo "$ROOT/build-static"; else echo "$ROOT/build-static-$1"; fi
}

VERSION=$(sed -n 's/^project(initkit VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$VERSION" ] || die "no project version in CMakeLists.txt"
if REVISION=$(git rev-parse HEAD 2>/dev/null); then
  EPOCH=$(git log -1 --format=%ct HEAD)
  # Sources that differ from the commit are not that commit.
  [ -z "$(git status --porcelain --untracked-files=no)" ] || REVISION=$REVISION-dirty
else
  REVISION=unknown
  EPOCH=${SOURCE_DATE_EPOCH:-0}
fi
CREATED=$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)

for arch in $PLATFORMS; do
  dir=$(static_dir "$arch")
  [ -d "$dir/rootfs/bin" ] || die "no $dir/rootfs: run 'make static ARCH=$arch' first"
  [ -s "$dir/rootfs/usr/share/doc/initkit/initkit.cdx.json" ] || die "$dir/rootfs has no SBOM"
done

# A private store: no clash with other builds, and `rm -rf build-image` resets it.
BUILDAH=(buildah --root "$IMG/storage" --runroot "$IMG/run" --storage-driver vfs)
LIST=localhost/initkit:$VERSION
"${BUILDAH[@]}" manifest rm "$LIST" >/dev/null 2>&1 || true
"${BUILDAH[@]}" rmi --all --force >/dev/null 2>&1 || true
"${BUILDAH[@]}" manifest create "$LIST" >/dev/null
for arch in $PLATFORMS; do
  dir=$(static_dir "$arch")
  # Every file's time is the commit's too, so equal sources give equal layers.
  if ! "${BUILDAH[@]}" build --quiet --layers=false --identity-label=false \
    --platform "linux/$arch" --timestamp "$EPOCH" --manifest "$LIST" \
    --build-arg VERSION="$VERSION" --build-arg REVISION="$REVISION" \
    --build-arg CREATED="$CREATED" --build-arg SOURCE_URL="${SOURCE_URL:-}" \
    --build-arg LICENSES="${LICENSES:-Apache-2.0}" \
    -f "$ROOT/images/Containerfile" "$dir/rootfs" >"$IMG/build-$arch.log" 2>&1; then
    cat "$IMG/build-$arch.log" >&2
    die "buildah build for linux/$arch failed"
  fi
  say "built linux/$arch from ${dir#"$ROOT"/}/rootfs"
done
rm -f "$IMG/initkit.oci.tar.tmp"
"${BUILDAH[@]}" manifest push --quiet --all --format oci "$LIST" \
  "oci-archive:$IMG/initkit.oci.tar.tmp:$VERSION" >"$IMG/push.log" 2>&1 ||
  {
    cat "$IMG/push.log" >&2
    die "could not write the OCI archive"
  }
mv "$IMG/initkit.oci.tar.tmp" "$IMG/initkit.oci.tar"
# The SBOMs as build artifacts, next to the archive.
for arch in $PLATFORMS; do
  cp "$(static_dir "$arch")/rootfs/usr/share/doc/initkit/initkit.cdx.json" "$IMG/initkit-$arch.cdx.json"
done
say "ok: ${IMG#"$ROOT"/}/initkit.oci.tar ($(stat -c %s "$IMG/initkit.oci.tar") bytes): initkit:$VERSION for" \
  "$(for a in $PLATFORMS; do printf 'linux/%s ' "$a"; done)revision $REVISION, created $CREATED"
