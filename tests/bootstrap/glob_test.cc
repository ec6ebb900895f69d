#include "tools/bootstrap/glob.h"

#include <gtest/gtest.h>

namespace initkit::bootstrap {
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
  EXPECT_TRUE(GlobMatch("storage/**", "storage"));
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

TEST(GlobMatch, PathologicalInputIsFast) {
  // Exponential backtracking would never finish this.
  std::string pattern;
  for (int i = 0; i < 30; ++i) pattern += "*a";
  pattern += "b";
  std::string text(3000, 'a');
  EXPECT_FALSE(GlobMatch(pattern, text));
  std::string deep_pattern;
  std::string deep_path;
  for (int i = 0; i < 200; ++i) {
    deep_pattern += "**/";
    deep_path += "a/";
  }
  deep_pattern += "c";
  deep_path += "b";
  EXPECT_FALSE(GlobMatch(deep_pattern, deep_path));
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
  EXPECT_FALSE(ExcludeSet().Matches("a", false));
}

}  // namespace
}  // namespace initkit::bootstrap
