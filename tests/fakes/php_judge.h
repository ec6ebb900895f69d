// What the preload tests ask of PHP 8.2: where it is, what it makes of a
// preload list, and the once-per-machine build of the PHP apps they judge.
#pragma once

#include <cstddef>
#include <string>

#include "tests/fakes/test_util.h"

namespace initkit::testing {

/// "/usr/bin/php8.2" when it is installed, else "" (the tests then skip).
/// Only 8.2: it is the PHP the tool's tables are for, and a newer `php`
/// would judge differently.
std::string Php82();

/// How often `needle` occurs in `haystack`.
size_t CountOf(const std::string& haystack, const std::string& needle);

/// What PHP made of a preload list.
struct PreloadLoad {
  int exit_code = -1;
  std::string output;       // stdout + stderr
  size_t cant_preload = 0;  // "Can't preload" warnings
  // Classes preloaded: PHP's preload statistics less anonymous classes and
  // the classes PHP warned it could not preload (its statistics list those
  // too, although they are not preloaded).
  size_t classes = 0;
  std::string class_list;  // their names, one per line
};

/// Starts the CLI `php` with `preload` as opcache.preload and
/// display_startup_errors=1, error_reporting=-1 (Debian's php.ini hides
/// preload warnings otherwise), errors logged to stderr only, so each
/// warning is counted once. `tmp` holds the script that reports the classes.
PreloadLoad LoadPreload(const std::string& php, const std::string& preload, const TempDir& tmp);

/// Where the built apps are cached between runs: $INITKIT_FIXTURE_CACHE,
/// else ~/.cache/initkit (scripts/demo.sh reads the same).
std::string FixtureCacheRoot();

/// Builds FixtureCacheRoot()/`name` once per machine: under a lock (test
/// binaries run in parallel; one builds, the others wait) runs
/// `bash script DIR.building`, renames that to DIR and keeps the script's
/// stdout in DIR/.initkit-complete. Returns DIR, or "" with *why set when
/// the script fails or the cache cannot be locked.
std::string BuildOnce(const std::string& name, const std::string& script, std::string* why);

}  // namespace initkit::testing
