// initkit-preload on real PHP code nobody on this project wrote, judged by
// PHP 8.2 with Debian's php.ini (plus display_startup_errors=1 and
// error_reporting=-1): the corpus app (tests/fixtures/make-php-corpus.sh, ~80
// Debian library packages the fixture app does not use) and MediaWiki as
// Debian ships it (vendor/composer/autoload_*.php of its own). Each list must
// load with exit 0, no fatal error and no "Can't preload" warning, and hold
// at least 98% of the classes a naive list of every loadable file gives.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/fakes/php_judge.h"
#include "tests/fakes/test_util.h"

namespace initkit::preload {
namespace {

namespace fs = std::filesystem;
using initkit::testing::BuildOnce;
using initkit::testing::CountOf;
using initkit::testing::LoadPreload;
using initkit::testing::Php82;
using initkit::testing::PreloadLoad;
using initkit::testing::ReadFile;
using initkit::testing::RunBinary;
using initkit::testing::RunOutput;
using initkit::testing::TempDir;
using initkit::testing::WriteFile;

const std::string kTool = std::string(INITKIT_BIN_DIR) + "/initkit-preload";
const std::string kMediaWiki = "/usr/share/mediawiki";
constexpr size_t kMinPackages = 60;

// The corpus app, built once and cached beside the fixture app (a few
// seconds to build, but no reason to redo it per run). "" and *why when it
// cannot be had.
std::string CorpusApp(std::string* why) {
  std::string dir =
      BuildOnce("preload-corpus-1",
                std::string(INITKIT_SOURCE_DIR) + "/tests/fixtures/make-php-corpus.sh", why);
  if (!why->empty()) return "";
  // "make-php-corpus.sh: DIR: 82 packages, ..."
  std::string summary = ReadFile(dir + "/.initkit-complete");
  size_t at = summary.find(": ", summary.find(": ") + 2);
  size_t packages =
      at == std::string::npos ? 0 : std::strtoul(summary.c_str() + at + 2, nullptr, 10);
  if (packages < kMinPackages) {
    *why = "only " + std::to_string(packages) + " corpus packages are installed (scripts/deps.sh)";
    return "";
  }
  return dir;
}

size_t Fatals(const std::string& output) {
  return CountOf(output, "Fatal error") + CountOf(output, "Parse error");
}

nlohmann::json RunTool(const std::string& app, const TempDir& tmp, const std::string& name,
                       std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "--app-dir",   app,   "--output", tmp.Sub(name + ".php"), "--report", tmp.Sub(name + ".json"),
      "--log-level", "warn"};
  args.insert(args.end(), extra.begin(), extra.end());
  RunOutput r = RunBinary(kTool, args, {}, std::chrono::seconds(600));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(ReadFile(tmp.Sub(name + ".json")), nullptr, false);
}

// Every class-map file of the app but those no preload list can hold
// whatever the tool thinks of linking: files that do something when
// included (side effects), declare conditionally, do not compile in PHP 8,
// redeclare a function, or cannot be read.
std::string NaiveList(const std::string& app, const nlohmann::json& report) {
  std::set<std::string> skip;
  for (const auto& e : report["excluded"]) {
    std::string reason = e["reason"];
    if (reason == "side-effects" || reason == "conditional-declaration" ||
        reason == "php-compile-error" || reason == "duplicate-function" || reason == "unreadable" ||
        reason == "excluded-by-pattern") {
      skip.insert(app + "/" + e["file"].get<std::string>());
    }
  }
  std::string list = "<?php\nini_set('memory_limit', '-1');\n";
  for (const auto& e : report["excluded"]) {
    std::string path = app + "/" + e["file"].get<std::string>();
    if (!skip.count(path)) list += "opcache_compile_file('" + path + "');\n";
  }
  for (const auto& e : report["included"]) {
    list += "opcache_compile_file('" + app + "/" + e["file"].get<std::string>() + "');\n";
  }
  return list;
}

void JudgeApp(const std::string& label, const std::string& app) {
  TempDir tmp;
  nlohmann::json rep = RunTool(app, tmp, "ours");
  ASSERT_TRUE(rep.is_object());
  PreloadLoad ours = LoadPreload(Php82(), tmp.Sub("ours.php"), tmp);
  EXPECT_EQ(ours.exit_code, 0) << ours.output.substr(0, 4000);
  EXPECT_EQ(Fatals(ours.output), 0u) << ours.output.substr(0, 4000);
  EXPECT_EQ(CountOf(ours.output, "Can't preload"), 0u) << ours.output.substr(0, 4000);
  EXPECT_EQ(ours.classes, rep["counts"]["preloaded_classes"].get<size_t>());

  WriteFile(tmp.Sub("naive.php"), NaiveList(app, rep));
  PreloadLoad naive = LoadPreload(Php82(), tmp.Sub("naive.php"), tmp);
  ASSERT_GT(naive.classes, 1000u) << naive.output.substr(0, 4000);
  EXPECT_GE(ours.classes * 100, naive.classes * 98)
      << label << ": ours " << ours.classes << ", naive " << naive.classes;
  std::cout << "[preload-corpus] " << label << ": " << ours.classes << " classes preloaded of "
            << naive.classes << " in the naive list ("
            << (ours.classes * 1000 / naive.classes) / 10.0 << " %), "
            << CountOf(naive.output, "Can't preload") << " warnings there; excluded "
            << rep["counts"]["excluded_by_reason"].dump() << "\n";
}

TEST(PreloadCorpus, CorpusAppLoadsCleanlyWithNearlyEverythingNaiveLoads) {
  if (Php82().empty()) GTEST_SKIP() << "php8.2-cli is not installed (scripts/deps.sh)";
  std::string why;
  std::string app = CorpusApp(&why);
  if (app.empty()) GTEST_SKIP() << why;
  JudgeApp("corpus app", app);
  // The files the issue found PHP dying on are left out, with the line.
  TempDir tmp;
  nlohmann::json rep = RunTool(app, tmp, "again");
  size_t found = 0;
  for (const auto& e : rep["excluded"]) {
    std::string f = e["file"];
    if (f.find("HTMLPurifier/ChildDef/Custom.php") != std::string::npos ||
        f.find("HTMLPurifier/Encoder.php") != std::string::npos ||
        f.find("HTMLPurifier/TagTransform/Font.php") != std::string::npos) {
      EXPECT_EQ(e["reason"], "php-compile-error") << e.dump();
      EXPECT_NE(e["detail"].get<std::string>().find("at line"), std::string::npos);
      ++found;
    }
  }
  EXPECT_EQ(found, 3u);
}

TEST(PreloadCorpus, MediaWikiLoadsCleanlyWithNearlyEverythingNaiveLoads) {
  if (Php82().empty()) GTEST_SKIP() << "php8.2-cli is not installed (scripts/deps.sh)";
  if (!fs::exists(kMediaWiki + "/vendor/composer/autoload_classmap.php")) {
    GTEST_SKIP() << "Debian's mediawiki package is not installed (scripts/deps.sh)";
  }
  JudgeApp("mediawiki", kMediaWiki);
}

TEST(PreloadCorpus, VerifyWithKeepsWhatOnlyDeprecationsAreSaidAbout) {
  if (Php82().empty()) GTEST_SKIP() << "php8.2-cli is not installed (scripts/deps.sh)";
  if (!fs::exists(kMediaWiki + "/vendor/composer/autoload_classmap.php")) {
    GTEST_SKIP() << "Debian's mediawiki package is not installed (scripts/deps.sh)";
  }
  TempDir tmp;
  nlohmann::json plain = RunTool(kMediaWiki, tmp, "plain");
  nlohmann::json verified = RunTool(kMediaWiki, tmp, "verified", {"--verify-with", Php82()});
  ASSERT_TRUE(verified.is_object());
  // MediaWiki's libraries make PHP 8.2 print Deprecated lines: notes, not drops.
  EXPECT_EQ(verified["counts"]["preloaded_files"], plain["counts"]["preloaded_files"]);
  EXPECT_EQ(verified["verify"]["rounds"], 1);
  size_t notes = 0;
  for (const auto& e : verified["included"]) {
    if (e.contains("notes")) {
      for (const auto& n : e["notes"])
        notes += n.get<std::string>().find("Deprecated") != std::string::npos ||
                 n.get<std::string>().find("deprecated") != std::string::npos;
    }
  }
  EXPECT_GT(notes, 0u) << "expected PHP's Deprecated lines as notes";
}

TEST(PreloadCorpus, VerifyWithDropsASeededFatalFileAndLeavesACleanList) {
  if (Php82().empty()) GTEST_SKIP() << "php8.2-cli is not installed (scripts/deps.sh)";
  std::string why;
  std::string app = CorpusApp(&why);
  if (app.empty()) GTEST_SKIP() << why;
  TempDir tmp;
  // A syntax error no tokenizer-level check sees: PHP's parser stops on it.
  WriteFile(tmp.Sub("seed/Broken.php"),
            "<?php\nnamespace Seed;\nclass Broken\n{\n    public function f()\n    {\n"
            "        return 1 +;\n    }\n}\n");
  WriteFile(tmp.Sub("seed/Fine.php"), "<?php\nnamespace Seed;\nclass Fine\n{\n}\n");
  nlohmann::json rep =
      RunTool(app, tmp, "seeded", {"--psr4-dir", tmp.Sub("seed"), "--verify-with", Php82()});
  ASSERT_TRUE(rep.is_object());
  bool dropped = false;
  for (const auto& e : rep["excluded"]) {
    if (e["file"].get<std::string>().find("Broken.php") != std::string::npos) {
      EXPECT_EQ(e["reason"], "php-fatal") << e.dump();
      dropped = true;
    }
  }
  EXPECT_TRUE(dropped) << rep["excluded"].dump();
  EXPECT_GE(rep["verify"]["rounds"].get<int>(), 2);
  PreloadLoad p = LoadPreload(Php82(), tmp.Sub("seeded.php"), tmp);
  EXPECT_EQ(p.exit_code, 0) << p.output.substr(0, 4000);
  EXPECT_EQ(Fatals(p.output), 0u) << p.output.substr(0, 4000);
  EXPECT_EQ(CountOf(p.output, "Can't preload"), 0u) << p.output.substr(0, 4000);
  EXPECT_NE(ReadFile(tmp.Sub("seeded.php")).find("Fine.php"), std::string::npos);
}

}  // namespace
}  // namespace initkit::preload
