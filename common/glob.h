// Glob: the one path-glob matcher of initkit (bootstrap's and preload's
// --exclude). The user-facing rules are in tools/bootstrap/README.md
// ("--exclude globs"); both tools link this file, so a pattern means the
// same in each.
//
// Pattern syntax, on relative '/'-separated paths:
//   *        any run of bytes inside one path segment (never a '/')
//   ?        one byte, not '/'
//   [abc] [a-z] [!a] [^a]   one byte of (not of) the class, never '/'
//   \c       the byte c literally (also '\*', '\[', '\\')
//   **       as a whole segment: zero or more whole segments
//            ("**/x" is x at any depth, "a/**/b" includes "a/b"); as the
//            LAST segment one or more, so "dir/**" is everything inside
//            dir but not dir itself (as rsync and .gitignore read it)
// An unclosed '[' and a trailing '\' are literal bytes. Any other byte,
// including non-UTF-8 ones, matches itself.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace initkit {

/// True when the whole of `path` (relative, no leading '/') matches the
/// whole of `pattern` by the rules above. Never throws. Runs in
/// O(|pattern| * |path|) steps whatever the input, so a hostile pattern
/// cannot stall a tool; when `steps` is not null the number of elementary
/// steps taken is added to it (the tests assert the bound with it).
bool GlobMatch(std::string_view pattern, std::string_view path, uint64_t* steps = nullptr);

/// A list of --exclude patterns with rsync-like anchoring:
///  - a pattern without '/' matches the last segment at any depth
///    (`*.log`, `.git`);
///  - a pattern with a '/' matches the whole relative path
///    (`storage/tmp/*`); a leading '/' only anchors (`/vendor` is the
///    top-level vendor, not web/vendor);
///  - a trailing '/' restricts the pattern to directories (`cache/`).
/// Empty patterns and a lone "/" match nothing.
class ExcludeSet {
 public:
  ExcludeSet() = default;
  explicit ExcludeSet(const std::vector<std::string>& patterns);
  bool empty() const { return patterns_.empty(); }

  /// True when the entry at `rel` (a directory when `is_dir`) is matched.
  /// A tree walker does not descend into a matched directory, so all it
  /// holds is excluded with it.
  bool Matches(std::string_view rel, bool is_dir) const;

  /// For a tool that sees file paths without walking: true when the file
  /// `rel` or any directory above it is matched, i.e. exactly the files a
  /// walker using Matches() would leave out.
  bool MatchesPathOrParent(std::string_view rel) const;

 private:
  struct Pattern {
    std::string glob;
    bool basename_only = false;
    bool dir_only = false;
  };
  std::vector<Pattern> patterns_;
};

}  // namespace initkit
