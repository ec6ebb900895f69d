// End-to-end tests: initkit-preload's output loaded by real PHP 8.2 (CLI
// and php-fpm), on small fixtures and on the generated fixture app.
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/fakes/php_judge.h"
#include "tests/fakes/test_util.h"

namespace initkit::preload {
namespace {

namespace fs = std::filesystem;
using initkit::testing::BuildOnce;
using initkit::testing::CountOf;
using initkit::testing::FixtureCacheRoot;
using initkit::testing::LoadPreload;
using initkit::testing::Php82;
using initkit::testing::PreloadLoad;
using initkit::testing::ReadFile;
using initkit::testing::RunBinary;
using initkit::testing::RunOutput;
using initkit::testing::TempDir;
using initkit::testing::WriteFile;

// The binary of this build (the shared helpers fall back to build/bin when
// INITKIT_BIN_DIR is not in the environment, e.g. outside ctest).
const std::string kTool = std::string(INITKIT_BIN_DIR) + "/initkit-preload";
const std::string kSmallApp = std::string(INITKIT_SOURCE_DIR) + "/tests/preload/data/small-app";

#define REQUIRE_PHP(var)     \
  std::string var = Php82(); \
  if (var.empty()) GTEST_SKIP() << "php8.2-cli is not installed (scripts/deps.sh)";

nlohmann::json ReadJson(const std::string& path) {
  return nlohmann::json::parse(ReadFile(path), nullptr, /*allow_exceptions=*/false);
}

std::string ReasonOf(const nlohmann::json& report, const std::string& file) {
  for (const auto& e : report["excluded"]) {
    if (e["file"] == file) return e["reason"].get<std::string>();
  }
  return "";
}

bool Included(const nlohmann::json& report, const std::string& file) {
  for (const auto& e : report["included"]) {
    if (e["file"] == file) return true;
  }
  return false;
}

TEST(PreloadPhp, SmallAppLeavesOutWhatPhpWouldRefuseWithReasons) {
  REQUIRE_PHP(php);
  TempDir tmp;
  RunOutput r = RunBinary(
      kTool, {"--app-dir", kSmallApp, "--output", tmp.Sub("preload.php"), "--report",
              tmp.Sub("report.json"), "--exclude", "src/Legacy/", "--log-format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json rep = ReadJson(tmp.Sub("report.json"));
  ASSERT_TRUE(rep.is_object()) << ReadFile(tmp.Sub("report.json"));
  EXPECT_EQ(ReasonOf(rep, "vendor/acme/lib/MissingParent.php"), "missing-dependency");
  EXPECT_EQ(ReasonOf(rep, "vendor/acme/lib/WithTrait.php"), "depends-on-excluded");
  EXPECT_EQ(ReasonOf(rep, "vendor/acme/lib/Conditional.php"), "conditional-declaration");
  EXPECT_EQ(ReasonOf(rep, "vendor/acme/lib/SideEffect.php"), "side-effects");
  EXPECT_EQ(ReasonOf(rep, "vendor/acme/lib/One/Dup.php"), "duplicate-class");
  EXPECT_EQ(ReasonOf(rep, "vendor/acme/lib/Two/Dup.php"), "duplicate-class");
  EXPECT_EQ(ReasonOf(rep, "vendor/acme/lib/Incompatible.php"), "incompatible-signature");
  EXPECT_EQ(ReasonOf(rep, "vendor/acme/lib/UnknownReturn.php"), "unresolved-signature-class");
  EXPECT_EQ(ReasonOf(rep, "src/tests/ServiceTest.php"), "excluded-by-pattern");
  EXPECT_EQ(ReasonOf(rep, "src/Legacy/Old.php"), "excluded-by-pattern");
  for (const char* f :
       {"vendor/acme/lib/Base.php", "vendor/acme/lib/Child.php", "vendor/acme/lib/Grandchild.php",
        "vendor/acme/lib/Shapes.php", "vendor/acme/lib/Helpers.php", "src/Service.php"}) {
    EXPECT_TRUE(Included(rep, f)) << f;
  }
  for (const auto& e : rep["excluded"]) {
    EXPECT_FALSE(e["detail"].get<std::string>().empty()) << e.dump();
  }

  // PHP agrees: silent, and everything the list holds is preloaded.
  PreloadLoad p = LoadPreload(php, tmp.Sub("preload.php"), tmp);
  EXPECT_EQ(p.exit_code, 0) << p.output;
  EXPECT_EQ(p.cant_preload, 0u) << p.output;
  EXPECT_EQ(p.classes, rep["counts"]["preloaded_classes"].get<size_t>()) << p.output;
  EXPECT_NE(p.class_list.find("App\\Service"), std::string::npos);
  EXPECT_NE(p.class_list.find("Acme\\Grandchild"), std::string::npos);

  // And the fixtures are meaningful: compiling every file makes PHP warn.
  std::string naive = "<?php\n";
  for (const char* f :
       {"MissingParent.php", "WithTrait.php", "Incompatible.php", "UnknownReturn.php", "Base.php",
        "Contract.php", "Child.php", "Helpers.php", "One/Dup.php", "Two/Dup.php"}) {
    naive += "opcache_compile_file('" + kSmallApp + "/vendor/acme/lib/" + f + "');\n";
  }
  WriteFile(tmp.Sub("naive.php"), naive);
  PreloadLoad n = LoadPreload(php, tmp.Sub("naive.php"), tmp);
  EXPECT_EQ(n.cant_preload, 5u) << n.output;
  EXPECT_NE(n.output.find("Could not check compatibility"), std::string::npos) << n.output;
  EXPECT_NE(n.output.find("already declared class Acme\\Dup"), std::string::npos) << n.output;
}

TEST(PreloadPhp, OrderPutsDependenciesFirstAndPathsAreRelative) {
  TempDir tmp;
  RunOutput r = RunBinary(kTool, {"--app-dir", kSmallApp, "--output", tmp.Sub("out/preload.php"),
                                  "--log-level", "warn"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string text = ReadFile(tmp.Sub("out/preload.php"));
  size_t contract = text.find("/Contract.php'");
  size_t base = text.find("/Base.php'");
  size_t child = text.find("/Child.php'");
  size_t grand = text.find("/Grandchild.php'");
  ASSERT_NE(grand, std::string::npos) << text;
  EXPECT_LT(contract, base);
  EXPECT_LT(base, child);
  EXPECT_LT(child, grand);
  EXPECT_NE(text.find("opcache_compile_file(__DIR__ . '/"), std::string::npos);
  EXPECT_EQ(text.find("opcache_compile_file('/"), std::string::npos) << "paths must be relative";

  RunOutput a = RunBinary(
      kTool, {"--app-dir", kSmallApp, "--output", tmp.Sub("abs.php"), "--absolute-paths"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_NE(ReadFile(tmp.Sub("abs.php")).find("opcache_compile_file('" + kSmallApp),
            std::string::npos);
}

TEST(PreloadPhp, VerifyWithDropsWhatPhpStillRefuses) {
  REQUIRE_PHP(php);
  TempDir tmp;
  // A class list that wrongly claims the missing parent exists: only PHP
  // itself can tell, and --verify-with must catch it.
  RunOutput list = RunBinary(php, {"-r",
                                   "echo implode(\"\\n\", array_merge(get_declared_classes(), "
                                   "get_declared_interfaces(), get_declared_traits())), \"\\n\";"});
  ASSERT_EQ(list.exit_code, 0);
  WriteFile(tmp.Sub("classes.txt"), list.out + "Vendor\\NotInstalled\\AbstractThing\n");
  RunOutput r =
      RunBinary(kTool, {"--app-dir", kSmallApp, "--output", tmp.Sub("preload.php"), "--report",
                        tmp.Sub("report.json"), "--php-classes", tmp.Sub("classes.txt"),
                        "--verify-with", php, "--log-format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json rep = ReadJson(tmp.Sub("report.json"));
  EXPECT_EQ(ReasonOf(rep, "vendor/acme/lib/MissingParent.php"), "php-refused") << rep.dump(1);
  EXPECT_EQ(ReasonOf(rep, "vendor/acme/lib/WithTrait.php"), "depends-on-excluded");
  EXPECT_GE(rep["verify_rounds"].get<int>(), 2);
  PreloadLoad p = LoadPreload(php, tmp.Sub("preload.php"), tmp);
  EXPECT_EQ(p.cant_preload, 0u) << p.output;
}

TEST(PreloadPhp, HotModeKeepsMostUsedFilesWithTheirDependencies) {
  TempDir tmp;
  std::string lib = kSmallApp + "/vendor/acme/lib/";
  nlohmann::json status = {{"scripts",
                            {{"/var/www/app/vendor/acme/lib/Grandchild.php",
                              {{"full_path", "/var/www/app/vendor/acme/lib/Grandchild.php"},
                               {"hits", 900},
                               {"memory_consumption", 1000},
                               {"last_used_timestamp", 10}}},
                             {lib + "Shapes.php",
                              {{"full_path", lib + "Shapes.php"},
                               {"hits", 5},
                               {"memory_consumption", 100000},
                               {"last_used_timestamp", 10}}}}}};
  WriteFile(tmp.Sub("status.json"), status.dump());
  RunOutput r =
      RunBinary(kTool, {"--app-dir", kSmallApp, "--output", tmp.Sub("preload.php"), "--report",
                        tmp.Sub("report.json"), "--opcache-status", tmp.Sub("status.json"),
                        "--memory-budget", "64K", "--log-level", "warn"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string text = ReadFile(tmp.Sub("preload.php"));
  for (const char* f :
       {"/Grandchild.php'", "/Child.php'", "/Base.php'", "/Contract.php'", "/Helpers.php'"}) {
    EXPECT_NE(text.find(f), std::string::npos) << f << "\n" << text;
  }
  EXPECT_EQ(text.find("/Shapes.php'"), std::string::npos) << "over the budget";
  EXPECT_EQ(text.find("/Service.php'"), std::string::npos) << "never hit";
  nlohmann::json rep = ReadJson(tmp.Sub("report.json"));
  EXPECT_EQ(ReasonOf(rep, "vendor/acme/lib/Shapes.php"), "not-hot");
}

TEST(PreloadPhp, UsageErrorsExitTwoNamingTheInput) {
  TempDir tmp;
  RunOutput none = RunBinary(kTool, {"--output", tmp.Sub("p.php")});
  EXPECT_EQ(none.exit_code, 2) << none.err;
  EXPECT_NE(none.err.find("app-dir"), std::string::npos) << none.err;

  RunOutput empty = RunBinary(kTool, {"--app-dir", tmp.path()});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_NE(empty.err.find("autoload_classmap.php"), std::string::npos) << empty.err;

  RunOutput missing = RunBinary(kTool, {"--app-dir", tmp.Sub("nope")});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;

  RunOutput budget = RunBinary(kTool, {"--app-dir", kSmallApp, "--memory-budget", "lots"});
  EXPECT_EQ(budget.exit_code, 2);
  EXPECT_NE(budget.err.find("--memory-budget"), std::string::npos) << budget.err;

  RunOutput classes = RunBinary(kTool, {"--app-dir", kSmallApp, "--output", tmp.Sub("p.php"),
                                        "--php-classes", tmp.Sub("absent.txt")});
  EXPECT_EQ(classes.exit_code, 2);
  EXPECT_NE(classes.err.find("absent.txt"), std::string::npos) << classes.err;

  RunOutput help = RunBinary(kTool, {"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--verify-with"), std::string::npos);

  // An output directory that cannot be written is a failure of the work.
  WriteFile(tmp.Sub("file"), "x");
  RunOutput unwritable =
      RunBinary(kTool, {"--app-dir", kSmallApp, "--output", tmp.Sub("file/preload.php")});
  EXPECT_EQ(unwritable.exit_code, 1) << unwritable.err;
  EXPECT_NE(unwritable.err.find("file/preload.php"), std::string::npos) << unwritable.err;
}

// ---- the generated fixture app ------------------------------------------

// The fixture app (make-php-app.sh), built once and cached between runs.
// Returns "" and sets *why when it cannot be had on this machine.
std::string FixtureApp(std::string* why) {
  std::string script = std::string(INITKIT_SOURCE_DIR) + "/tests/fixtures/make-php-app.sh";
  std::string dir = FixtureCacheRoot() + "/preload-fixture-1";
  if (fs::exists(dir + "/.initkit-complete")) return dir;
  if (!fs::exists(script)) {
    *why = "fixture script " + script + " is missing";
    return "";
  }
  if (!fs::exists("/usr/share/php/Illuminate") || ::access("/usr/bin/composer", X_OK) != 0) {
    *why = "the fixture's Debian PHP packages are missing (scripts/deps.sh)";
    return "";
  }
  return BuildOnce("preload-fixture-1", script, why);
}

#define REQUIRE_FIXTURE(var)                \
  std::string why_##var;                    \
  std::string var = FixtureApp(&why_##var); \
  if (var.empty()) GTEST_SKIP() << why_##var;

TEST(PreloadPhp, FixtureAppZeroWarningsAndAtLeast98PercentOfNaive) {
  REQUIRE_PHP(php);
  REQUIRE_FIXTURE(app);
  TempDir tmp;
  RunOutput r = RunBinary(kTool,
                          {"--app-dir", app, "--output", tmp.Sub("preload.php"), "--report",
                           tmp.Sub("report.json"), "--log-format", "json"},
                          {}, std::chrono::seconds(300));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json rep = ReadJson(tmp.Sub("report.json"));
  ASSERT_TRUE(rep.is_object());

  // The cases the issue names must be among the reasons.
  EXPECT_EQ(ReasonOf(rep, "vendor/debian/Symfony/Bridge/Doctrine/Middleware/Debug/Statement.php"),
            "incompatible-signature");
  EXPECT_EQ(ReasonOf(rep, "vendor/debian/Symfony/Bridge/Doctrine/Middleware/Debug/Connection.php"),
            "depends-on-excluded");
  EXPECT_EQ(ReasonOf(rep, "vendor/debian/Carbon/Translator.php"), "side-effects");
  EXPECT_EQ(ReasonOf(rep, "vendor/debian/Symfony/Component/HttpClient/Internal/AmpClientState.php"),
            "missing-dependency");

  PreloadLoad ours = LoadPreload(php, tmp.Sub("preload.php"), tmp);
  EXPECT_EQ(ours.exit_code, 0) << ours.output.substr(0, 4000);
  EXPECT_EQ(ours.cant_preload, 0u) << ours.output.substr(0, 4000);

  // The naive list: every class-map file under vendor/.
  WriteFile(tmp.Sub("naive.php"),
            "<?php\n$seen = [];\nforeach (require '" + app +
                "/vendor/composer/autoload_classmap.php' as $f) {\n"
                "  if (isset($seen[$f]) || strpos($f, '/vendor/') === false) continue;\n"
                "  $seen[$f] = 1;\n  @opcache_compile_file($f);\n}\n");
  PreloadLoad naive = LoadPreload(php, tmp.Sub("naive.php"), tmp);
  ASSERT_GT(naive.classes, 5000u) << naive.output.substr(0, 4000);
  EXPECT_GT(naive.cant_preload, 0u);
  EXPECT_GE(ours.classes * 100, naive.classes * 98)
      << "ours " << ours.classes << " naive " << naive.classes;
  std::cout << "[preload] fixture app: ours " << ours.classes << " classes, naive " << naive.classes
            << " classes with " << naive.cant_preload << " warnings\n";
}

TEST(PreloadPhp, PhpFpmMasterStartsWithTheFixturePreload) {
  REQUIRE_PHP(php);
  REQUIRE_FIXTURE(app);
  const std::string fpm = "/usr/sbin/php-fpm8.2";
  if (::access(fpm.c_str(), X_OK) != 0) GTEST_SKIP() << "php8.2-fpm is not installed";
  TempDir tmp;
  RunOutput r = RunBinary(
      kTool, {"--app-dir", app, "--output", tmp.Sub("preload.php"), "--log-level", "warn"}, {},
      std::chrono::seconds(300));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  WriteFile(tmp.Sub("fpm.conf"),
            "[global]\npid = " + tmp.Sub("fpm.pid") +
                "\nerror_log = /proc/self/fd/2\ndaemonize = no\n\n[www]\nlisten = " +
                tmp.Sub("fpm.sock") +
                "\npm = static\npm.max_children = 1\ncatch_workers_output = yes\n");
  initkit::testing::RunningBinary proc(
      fpm, {"-F", "-R", "-y", tmp.Sub("fpm.conf"), "-d", "opcache.enable=1", "-d",
            "opcache.preload=" + tmp.Sub("preload.php"), "-d", "opcache.preload_user=root", "-d",
            "opcache.memory_consumption=768", "-d", "opcache.interned_strings_buffer=64", "-d",
            "opcache.max_accelerated_files=100000"});
  bool ready = proc.WaitForStderr("ready to handle connections", std::chrono::seconds(240));
  proc.Signal(SIGQUIT);
  RunOutput out = proc.Wait(std::chrono::seconds(60));
  EXPECT_TRUE(ready) << out.err.substr(0, 4000);
  EXPECT_EQ(CountOf(out.err, "Can't preload"), 0u) << out.err.substr(0, 4000);
  EXPECT_TRUE(fs::exists(tmp.Sub("fpm.sock")) || ready);
}

}  // namespace
}  // namespace initkit::preload
