// --exclude globs (common/glob.h): input is patterns, one a line, and a path
// as the last line. Compiling and matching never throws; cheap algebraic
// invariants hold and every match stays within its step bound.
#include "common/glob.h"
#include "fuzz/fuzz_target.h"

using initkit::ExcludeSet;
using initkit::GlobMatch;

namespace {

bool HasGlobChars(std::string_view s) { return s.find_first_of("*?[\\") != std::string_view::npos; }

}  // namespace

INITKIT_FUZZ_TARGET(glob) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (lines.size() < 16) {
    size_t nl = input.find('\n', start);
    lines.emplace_back(input.substr(start, nl == std::string_view::npos ? nl : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  std::string path = lines.back();
  lines.pop_back();

  // Any pattern matches itself when it has no special characters.
  if (!HasGlobChars(path)) FUZZ_CHECK(GlobMatch(path, path), "a literal does not match itself");
  // A lone ** matches every path; * and ? never cross a '/'.
  FUZZ_CHECK(GlobMatch("**", path), "** does not match " + path);
  if (path.find('/') != std::string::npos) FUZZ_CHECK(!GlobMatch("*", path), "* crossed a /");

  // "x/**" is what is inside x, never x itself.
  if (!HasGlobChars(path)) FUZZ_CHECK(!GlobMatch(path + "/**", path), "x/** matched x");

  for (const std::string& p : lines) {
    uint64_t steps = 0;
    bool m = GlobMatch(p, path, &steps);
    const uint64_t bound = 4 * (p.size() + 1) * (path.size() + 2);
    FUZZ_CHECK(steps <= bound,
               "glob took " + std::to_string(steps) + " steps, bound " + std::to_string(bound));
    // "**/" before a pattern can match zero segments, so it only widens it.
    if (m) FUZZ_CHECK(GlobMatch("**/" + p, path), "**/ narrowed " + p);
  }
  ExcludeSet set(lines);
  bool file = set.Matches(path, false);
  bool dir = set.Matches(path, true);
  // A trailing '/' restricts a pattern to directories, never the reverse.
  if (file) FUZZ_CHECK(dir, "a pattern matched the file but not the directory");
  if (lines.empty()) FUZZ_CHECK(!file && !dir && set.empty(), "empty set matched");
}
