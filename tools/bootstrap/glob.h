// Glob matching of relative paths for --exclude.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace initkit::bootstrap {

/// Matches `path` (relative, '/'-separated, no leading '/') against the shell
/// glob `pattern`, path-aware: `*`, `?` and `[...]` (`[!...]`/`[^...]`
/// negation, ranges) never match '/'; a `**` segment matches zero or more
/// whole segments; a backslash escapes the next character. Never throws, and
/// runs in O(|pattern| * |path|) time whatever the input (fuzzed).
bool GlobMatch(std::string_view pattern, std::string_view path);

/// A set of --exclude patterns with rsync-like anchoring: a pattern without
/// '/' matches the last segment at any depth (`*.log`, `.git`); a pattern
/// containing '/' matches the whole relative path (`storage/tmp/*`), a
/// leading '/' is dropped, and a trailing '/' restricts it to directories.
class ExcludeSet {
 public:
  ExcludeSet() = default;
  explicit ExcludeSet(const std::vector<std::string>& patterns);
  bool empty() const { return patterns_.empty(); }
  /// True when the entry at `rel` (a directory when `is_dir`) is excluded.
  /// An excluded directory is not descended into, so its contents are too.
  bool Matches(std::string_view rel, bool is_dir) const;

 private:
  struct Pattern {
    std::string glob;
    bool basename_only = false;
    bool dir_only = false;
  };
  std::vector<Pattern> patterns_;
};

}  // namespace initkit::bootstrap
