#!/usr/bin/env bash
# The repository is the whole product: a copy of its committed files, alone
# in an empty directory (no sibling directory beside it), must run `make demo`.
# Run by `make test`; prints how long the check took.
#
# The copy builds in its own tree through the shared ccache (paths are made
# relative with CCACHE_BASEDIR, so a second run is mostly cache hits), and
# with the fixture cache the preload tests share (FRESH_FIXTURE=1: an empty
# one, so the PHP fixture generator in the copy runs too; a few minutes
# more). KEEP=1 keeps the copy for a look.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
tmp=$(mktemp -d /tmp/initkit-standalone.XXXXXX)
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$tmp"' EXIT; fi
repo="$tmp/initkit"
mkdir "$repo"
# Committed files only: what a clone has (uncommitted changes do not count).
git -C "$root" archive --format=tar HEAD | tar -x -C "$repo"
echo "standalone check: $(git -C "$root" rev-parse --short=12 HEAD) copied to $repo (nothing beside it)"

log="$tmp/demo.log"
if ! (cd "$repo" && env CCACHE_BASEDIR="$repo" CCACHE_NOHASHDIR=1 \
      ${FRESH_FIXTURE:+INITKIT_FIXTURE_CACHE="$tmp/fixture-cache"} \
      make demo) >"$log" 2>&1; then
  tail -n 40 "$log"
  echo "standalone check FAILED: 'make demo' in a lone copy of the repository (log above; KEEP=1 keeps $tmp)" >&2
  exit 1
fi
# A reference outside the repository would have failed above; say so plainly
# if one is still written down somewhere.
if grep -rn --exclude=standalone-check.sh -e '\.\./shared/' "$repo" >"$tmp/refs" 2>/dev/null; then
  cat "$tmp/refs"
  echo "standalone check FAILED: the files above refer to a directory beside the repository (outside it)" >&2
  exit 1
fi
echo "standalone check passed in $(( $(date +%s) - start )) s"
