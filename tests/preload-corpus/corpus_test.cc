// initkit-preload on real PHP code nobody on this project wrote, judged by
// PHP 8.2 with Debian's php.ini (plus display_startup_errors=1 and
// error_reporting=-1): the corpus app (tests/fixtures/make-php-corpus.sh, ~80
// Debian library packages the fixture app does not use) and MediaWiki as
// Debian ships it (vendor/composer/autoload_*.php of its own). Each list must
// load with exit 0, no fatal error and no "Can't preload" warning, and hold
// at least 98% of the classes a naive list of every loadable file gives.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/fakes/test_util.h"

namespace initkit::preload {
namespace {

namespace fs = std::filesystem;
using initkit::testing::ReadFile;
using initkit::testing::RunBinary;
using initkit::testing::RunOutput;
using initkit::testing::TempDir;
using initkit::testing::WriteFile;

const std::string kTool = std::string(INITKIT_BIN_DIR) + "/initkit-preload";
const std::string kMediaWiki = "/usr/share/mediawiki";
constexpr size_t kMinPackages = 60;

const std::string& Php() {
  static const std::string php = ::access("/usr/bin/php8.2", X_OK) == 0 ? "/usr/bin/php8.2" : "";
  return php;
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

std::string CacheRoot() {
  if (const char* c = std::getenv("INITKIT_FIXTURE_CACHE"); c && *c) return c;
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/initkit";
  return "/tmp/initkit-cache";
}

// The corpus app, built once and cached beside the fixture app (a few
// seconds to build, but no reason to redo it per run). "" and *why when it
// cannot be had.
std::string CorpusApp(std::string* why) {
  std::string root = CacheRoot();
  std::string dir = root + "/preload-corpus-1";
  fs::create_directories(root);
  int lock = ::open((dir + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
    *why = "cannot lock the corpus cache " + root;
    return "";
  }
  if (!fs::exists(dir + "/.initkit-complete")) {
    std::string script = std::string(INITKIT_SOURCE_DIR) + "/tests/fixtures/make-php-corpus.sh";
    RunOutput r =
        RunBinary("/bin/bash", {script, dir + ".building"}, {}, std::chrono::seconds(600));
    if (r.exit_code != 0) {
      *why = "make-php-corpus.sh failed: " + r.err;
    } else {
      std::error_code ec;
      fs::remove_all(dir, ec);
      fs::rename(dir + ".building", dir, ec);
      WriteFile(dir + "/.initkit-complete", r.out);
    }
  }
  ::close(lock);
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

struct PhpLoad {
  int exit_code = -1;
  std::string output;
  size_t classes = 0;  // preloaded, anonymous ones not counted
};

// PHP 8.2 with Debian's php.ini, started with `preload` as opcache.preload.
PhpLoad LoadWithPhp(const std::string& preload, const TempDir& tmp) {
  std::string script = tmp.Sub("count.php");
  WriteFile(script,
            "<?php\n$c = opcache_get_status(true)['preload_statistics']['classes'] ?? [];\n"
            "$c = array_filter($c, fn($n) => !str_contains($n, '@anonymous'));\n"
            "echo 'classes=', count($c), \"\\n\", implode(\"\\n\", $c), \"\\n\";\n");
  RunOutput r = RunBinary(
      Php(),
      {"-d", "display_startup_errors=1", "-d", "error_reporting=-1", "-d", "opcache.enable=1", "-d",
       "opcache.enable_cli=1", "-d", "opcache.preload=" + preload, "-d",
       "opcache.preload_user=root", "-d", "opcache.memory_consumption=1024", "-d",
       "opcache.interned_strings_buffer=128", "-d", "opcache.max_accelerated_files=100000", script},
      {}, std::chrono::seconds(300));
  PhpLoad p;
  p.exit_code = r.exit_code;
  p.output = r.out + r.err;
  size_t at = r.out.find("classes=");
  if (at == std::string::npos) return p;
  // PHP's statistics list a class it warned about ("Can't preload unlinked
  // class X: ...") too, although it is not preloaded: those do not count.
  std::set<std::string> refused;
  for (size_t w = p.output.find("Can't preload "); w != std::string::npos;
       w = p.output.find("Can't preload ", w + 1)) {
    size_t c = p.output.find("class ", w);
    if (c == std::string::npos) break;
    size_t e = p.output.find_first_of(": \n", c + 6);
    refused.insert(p.output.substr(c + 6, e - c - 6));
  }
  std::string list = r.out.substr(r.out.find('\n', at) + 1);
  for (size_t b = 0, e; b < list.size(); b = e + 1) {
    e = list.find('\n', b);
    if (e == std::string::npos) e = list.size();
    if (e > b && !refused.count(list.substr(b, e - b))) ++p.classes;
  }
  return p;
}

size_t Fatals(const std::string& output) {
  return Count(output, "Fatal error") + Count(output, "Parse error");
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
  PhpLoad ours = LoadWithPhp(tmp.Sub("ours.php"), tmp);
  EXPECT_EQ(ours.exit_code, 0) << ours.output.substr(0, 4000);
  EXPECT_EQ(Fatals(ours.output), 0u) << ours.output.substr(0, 4000);
  EXPECT_EQ(Count(ours.output, "Can't preload"), 0u) << ours.output.substr(0, 4000);
  EXPECT_EQ(ours.classes, rep["counts"]["preloaded_classes"].get<size_t>());

  WriteFile(tmp.Sub("naive.php"), NaiveList(app, rep));
  PhpLoad naive = LoadWithPhp(tmp.Sub("naive.php"), tmp);
  ASSERT_GT(naive.classes, 1000u) << naive.output.substr(0, 4000);
  EXPECT_GE(ours.classes * 100, naive.classes * 98)
      << label << ": ours " << ours.classes << ", naive " << naive.classes;
  std::cout << "[preload-corpus] " << label << ": " << ours.classes << " classes preloaded of "
            << naive.classes << " in the naive list ("
            << (ours.classes * 1000 / naive.classes) / 10.0 << " %), "
            << Count(naive.output, "Can't preload") << " warnings there; excluded "
            << rep["counts"]["excluded_by_reason"].dump() << "\n";
}

TEST(PreloadCorpus, CorpusAppLoadsCleanlyWithNearlyEverythingNaiveLoads) {
  if (Php().empty()) GTEST_SKIP() << "php8.2-cli is not installed (scripts/deps.sh)";
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
  if (Php().empty()) GTEST_SKIP() << "php8.2-cli is not installed (scripts/deps.sh)";
  if (!fs::exists(kMediaWiki + "/vendor/composer/autoload_classmap.php")) {
    GTEST_SKIP() << "Debian's mediawiki package is not installed (scripts/deps.sh)";
  }
  JudgeApp("mediawiki", kMediaWiki);
}

TEST(PreloadCorpus, VerifyWithKeepsWhatOnlyDeprecationsAreSaidAbout) {
  if (Php().empty()) GTEST_SKIP() << "php8.2-cli is not installed (scripts/deps.sh)";
  if (!fs::exists(kMediaWiki + "/vendor/composer/autoload_classmap.php")) {
    GTEST_SKIP() << "Debian's mediawiki package is not installed (scripts/deps.sh)";
  }
  TempDir tmp;
  nlohmann::json plain = RunTool(kMediaWiki, tmp, "plain");
  nlohmann::json verified = RunTool(kMediaWiki, tmp, "verified", {"--verify-with", Php()});
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
  if (Php().empty()) GTEST_SKIP() << "php8.2-cli is not installed (scripts/deps.sh)";
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
      RunTool(app, tmp, "seeded", {"--psr4-dir", tmp.Sub("seed"), "--verify-with", Php()});
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
  PhpLoad p = LoadWithPhp(tmp.Sub("seeded.php"), tmp);
  EXPECT_EQ(p.exit_code, 0) << p.output.substr(0, 4000);
  EXPECT_EQ(Fatals(p.output), 0u) << p.output.substr(0, 4000);
  EXPECT_EQ(Count(p.output, "Can't preload"), 0u) << p.output.substr(0, 4000);
  EXPECT_NE(ReadFile(tmp.Sub("seeded.php")).find("Fine.php"), std::string::npos);
}

}  // namespace
}  // namespace initkit::preload
