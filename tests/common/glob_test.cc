#include "common/glob.h"

#include <gtest/gtest.h>

namespace initkit {
namespace {

TEST(GlobMatch, StarStaysInsideOneSegment) {
  EXPECT_TRUE(GlobMatch("*.php", "index.php"));
  EXPECT_FALSE(GlobMatch("*.php", "src/index.php"));
  EXPECT_TRUE(GlobMatch("src/*.php", "src/index.php"));
  EXPECT_FALSE(GlobMatch("src/*.php", "src/a/index.php"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_FALSE(GlobMatch("a*", "b"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXXbYY"));
}

TEST(GlobMatch, DoubleStarSpansSegments) {
  EXPECT_TRUE(GlobMatch("**/*.log", "a.log"));
  EXPECT_TRUE(GlobMatch("**/*.log", "x/y/z/a.log"));
  EXPECT_FALSE(GlobMatch("**/*.log", "x/y/z/a.txt"));
  EXPECT_TRUE(GlobMatch("storage/**", "storage/tmp/a"));
  EXPECT_TRUE(GlobMatch("storage/**", "storage/tmp"));
  // A trailing ** is what is inside, not the directory itself (rsync, git).
  EXPECT_FALSE(GlobMatch("storage/**", "storage"));
  EXPECT_TRUE(GlobMatch("**/vendor", "vendor"));  // a leading ** may be empty
  EXPECT_TRUE(GlobMatch("a/**/b", "a/b"));
  EXPECT_TRUE(GlobMatch("a/**/b", "a/x/y/b"));
  EXPECT_FALSE(GlobMatch("a/**/b", "a/x/y/c"));
  EXPECT_TRUE(GlobMatch("**", "anything/at/all"));
  EXPECT_TRUE(GlobMatch("a/**/**/b", "a/b"));
}

TEST(GlobMatch, QuestionClassesAndEscapes) {
  EXPECT_TRUE(GlobMatch("?.txt", "a.txt"));
  EXPECT_FALSE(GlobMatch("?.txt", "/.txt"));
  EXPECT_TRUE(GlobMatch("[abc].txt", "b.txt"));
  EXPECT_FALSE(GlobMatch("[abc].txt", "d.txt"));
  EXPECT_TRUE(GlobMatch("[!abc].txt", "d.txt"));
  EXPECT_TRUE(GlobMatch("[^abc].txt", "d.txt"));
  EXPECT_TRUE(GlobMatch("[a-c]x", "bx"));
  EXPECT_FALSE(GlobMatch("[a-c]x", "dx"));
  EXPECT_TRUE(GlobMatch("[]]", "]"));
  EXPECT_TRUE(GlobMatch("[", "["));  // unclosed: literal
  EXPECT_TRUE(GlobMatch("\\*", "*"));
  EXPECT_FALSE(GlobMatch("\\*", "a"));
  EXPECT_TRUE(GlobMatch("a\\", "a\\"));  // trailing backslash: literal
}

TEST(GlobMatch, ArbitraryBytes) {
  EXPECT_TRUE(GlobMatch("*", "\xff\xfe"));
  EXPECT_TRUE(GlobMatch("a?b", std::string("a\xc3"
                                           "b")));
  EXPECT_TRUE(GlobMatch("with space*", "with space and\nnewline"));
}

// Steps GlobMatch takes for `pattern` against `path`.
uint64_t Steps(const std::string& pattern, const std::string& path) {
  uint64_t steps = 0;
  (void)GlobMatch(pattern, path, &steps);
  return steps;
}

// The header's bound, 4 * (|pattern| + 1) * (|path| + 2), as the fuzzer
// checks it too.
uint64_t Bound(const std::string& pattern, const std::string& path) {
  return 4 * (pattern.size() + 1) * (path.size() + 2);
}

// Found by fuzz/glob_fuzz.cc: every unclosed '[' was read to the end of its
// segment again on each attempt (12,614 steps against a bound of 6,240).
TEST(GlobMatch, UnclosedBracketsAreReadOnce) {
  const std::string fuzzed = "*" + std::string(17, '[') + "a.lo*";
  const std::string fuzzed_path = "*" + std::string(56, '[') + " /a/";
  EXPECT_LE(Steps(fuzzed, fuzzed_path), Bound(fuzzed, fuzzed_path));
  for (const std::string& tail : {std::string(), std::string("\\]"), std::string("-]")}) {
    const std::string pattern = "*" + std::string(300, '[') + "x" + tail;
    const std::string path(40, '[');
    EXPECT_LE(Steps(pattern, path), Bound(pattern, path)) << tail;
  }
  // They are still literals, and a closed class after them still works.
  EXPECT_TRUE(GlobMatch("a[[b", "a[[b"));
  EXPECT_TRUE(GlobMatch("[[[x]", "x"));  // one class of '[', '[' and 'x'
  EXPECT_TRUE(GlobMatch("[[[x]", "["));
  EXPECT_FALSE(GlobMatch("[[[x]", "y"));
  EXPECT_TRUE(GlobMatch("[]]", "]"));
  EXPECT_TRUE(GlobMatch("[!]]", "a"));
  EXPECT_TRUE(GlobMatch("a[\\]", "a[]"));  // `\]` is escaped: '[' stays a literal
}

TEST(GlobMatch, PathologicalInputStaysWithinTheStepBound) {
  // Exponential backtracking would take ~C(3000, 30) steps on this one.
  std::string pattern;
  for (int i = 0; i < 30; ++i) pattern += "*a";
  pattern += "b";
  std::string text(3000, 'a');
  uint64_t steps = 0;
  EXPECT_FALSE(GlobMatch(pattern, text, &steps));
  EXPECT_GT(steps, 0u);
  EXPECT_LE(steps, Bound(pattern, text));
  // Linear in the path for a fixed pattern: twice the text, at most about
  // twice the steps (an algorithm that rescans would be 4x).
  std::string text2(6000, 'a');
  EXPECT_LE(Steps(pattern, text2), 2 * steps + 2 * pattern.size() + 64);

  std::string deep_pattern, deep_path;
  for (int i = 0; i < 200; ++i) {
    deep_pattern += "**/";
    deep_path += "a/";
  }
  deep_pattern += "c";
  deep_path += "b";
  steps = 0;
  EXPECT_FALSE(GlobMatch(deep_pattern, deep_path, &steps));
  EXPECT_LE(steps, Bound(deep_pattern, deep_path));
  std::string deeper_path = deep_path + deep_path;
  EXPECT_LE(Steps(deep_pattern, deeper_path), 2 * steps + 2 * deep_pattern.size() + 64);

  // Classes are rescanned per byte: still within the bound.
  std::string class_pattern = "*[" + std::string(200, 'x') + "]*[" + std::string(200, 'y') + "]z";
  std::string class_text(2000, 'x');
  EXPECT_LE(Steps(class_pattern, class_text), Bound(class_pattern, class_text));
}

TEST(ExcludeSet, AnchoringRules) {
  ExcludeSet set({"*.log", "/node_modules", "storage/tmp/*", "cache/", ".git"});
  EXPECT_TRUE(set.Matches("a.log", false));
  EXPECT_TRUE(set.Matches("deep/dir/a.log", false));  // no '/': any depth
  EXPECT_TRUE(set.Matches("node_modules", true));
  EXPECT_FALSE(set.Matches("web/node_modules", true));  // anchored
  EXPECT_TRUE(set.Matches("storage/tmp/x", false));
  EXPECT_FALSE(set.Matches("storage/tmp", true));
  EXPECT_FALSE(set.Matches("x/storage/tmp/y", false));
  EXPECT_TRUE(set.Matches("cache", true));
  EXPECT_TRUE(set.Matches("a/cache", true));
  EXPECT_FALSE(set.Matches("cache", false));  // trailing '/': directories only
  EXPECT_TRUE(set.Matches("vendor/x/.git", true));
  EXPECT_FALSE(set.Matches("index.php", false));
  EXPECT_TRUE(ExcludeSet().empty());
  EXPECT_TRUE(ExcludeSet({"", "/", "//"}).empty());
  EXPECT_FALSE(ExcludeSet().Matches("a", false));
}

TEST(ExcludeSet, StarStaysInItsSegmentForBothTools) {
  // `storage/*.log` means the same to bootstrap (walking) and preload
  // (file paths only): the logs directly in storage/, not deeper.
  ExcludeSet set({"storage/*.log"});
  EXPECT_TRUE(set.Matches("storage/a.log", false));
  EXPECT_FALSE(set.Matches("storage/sub/a.log", false));
  EXPECT_TRUE(set.MatchesPathOrParent("storage/a.log"));
  EXPECT_FALSE(set.MatchesPathOrParent("storage/sub/a.log"));
}

TEST(ExcludeSet, MatchesPathOrParentIsWhatAWalkerLeavesOut) {
  ExcludeSet set({"cache/", "vendor/x/**", "/tests", "*.bak"});
  EXPECT_TRUE(set.MatchesPathOrParent("app/cache/a.php"));  // under an excluded dir
  EXPECT_FALSE(set.MatchesPathOrParent("app/cache"));       // a file named cache
  EXPECT_TRUE(set.MatchesPathOrParent("vendor/x/a/b.php"));
  EXPECT_TRUE(set.MatchesPathOrParent("vendor/x/b.php"));
  EXPECT_FALSE(set.MatchesPathOrParent("vendor/y/b.php"));
  EXPECT_TRUE(set.MatchesPathOrParent("tests/unit/T.php"));
  EXPECT_FALSE(set.MatchesPathOrParent("src/tests/T.php"));  // anchored
  EXPECT_TRUE(set.MatchesPathOrParent("a/b.bak/c.php"));     // a directory named *.bak
  EXPECT_FALSE(set.MatchesPathOrParent("index.php"));
}

}  // namespace
}  // namespace initkit
