// Each exclusion reason against PHP 8.2 itself: the tool leaves a file out
// only where PHP refuses it (shown by loading the file anyway), and keeps the
// near misses PHP accepts (shown by PHP preloading them without a word).
// Also --verify-with's bisection, driven by a stand-in PHP.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/fakes/php_judge.h"
#include "tests/fakes/test_util.h"

namespace initkit::preload {
namespace {

using initkit::testing::Php82;
using initkit::testing::ReadFile;
using initkit::testing::RunBinary;
using initkit::testing::RunOutput;
using initkit::testing::TempDir;
using initkit::testing::WriteFile;

const std::string kTool = std::string(INITKIT_BIN_DIR) + "/initkit-preload";

// A Composer app under tmp/app whose class map lists `files` (name -> source).
std::string MakeApp(const TempDir& tmp, const std::map<std::string, std::string>& files) {
  std::string app = tmp.Sub("app");
  std::string map =
      "<?php\n$vendorDir = dirname(__DIR__);\n$baseDir = dirname($vendorDir);\n"
      "return array(\n";
  int n = 0;
  for (const auto& [name, src] : files) {
    WriteFile(app + "/vendor/lib/" + name, src);
    map += "    'C" + std::to_string(++n) + "' => $vendorDir . '/lib/" + name + "',\n";
  }
  WriteFile(app + "/vendor/composer/autoload_classmap.php", map + ");\n");
  return app;
}

nlohmann::json RunTool(const std::string& app, const TempDir& tmp,
                       std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "--app-dir",   app,   "--output", tmp.Sub("preload.php"), "--report", tmp.Sub("report.json"),
      "--log-level", "warn"};
  args.insert(args.end(), extra.begin(), extra.end());
  RunOutput r = RunBinary(kTool, args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(ReadFile(tmp.Sub("report.json")), nullptr, false);
}

std::string Reason(const nlohmann::json& rep, const std::string& name) {
  for (const auto& e : rep["excluded"]) {
    if (e["file"] == "vendor/lib/" + name) return e["reason"];
  }
  return "";
}

// PHP 8.2 started with a preload script compiling `names` of the app.
std::string PhpLoads(const std::string& php, const std::string& app, const TempDir& tmp,
                     const std::vector<std::string>& names) {
  std::string list = "<?php\n";
  for (const auto& n : names) list += "opcache_compile_file('" + app + "/vendor/lib/" + n + "');\n";
  WriteFile(tmp.Sub("naive.php"), list);
  RunOutput r = RunBinary(
      php, {"-d", "display_startup_errors=1", "-d", "error_reporting=-1", "-d", "opcache.enable=1",
            "-d", "opcache.enable_cli=1", "-d", "opcache.preload=" + tmp.Sub("naive.php"), "-d",
            "opcache.preload_user=root", "-r", "echo 'started', PHP_EOL;"});
  return r.out + r.err;
}

TEST(ReasonsAgreeWithPhp, LeftOutOnlyWhatPhpRefuses) {
  std::map<std::string, std::string> files = {
      {"Base.php", "<?php class Base { public function f(int $x): Base { return $this; } }"},
      {"Gone.php", "<?php class Orphan extends NotInstalled {}"},
      {"Kid.php", "<?php class Kid extends Orphan {}"},
      {"Narrow.php",
       "<?php class Narrow extends Base { public function f(string $x): Base "
       "{ return $this; } }"},
      {"Unknown.php",
       "<?php class Unknown extends Base { public function f(int $x): Missing "
       "{ return $this; } }"},
      {"Dup1.php", "<?php class Dup {}"},
      {"Dup2.php", "<?php class Dup {}"},
      {"Fn1.php", "<?php function helper() {} class Fn1 {}"},
      {"Fn2.php", "<?php function helper() {} class Fn2 {}"},
      {"Curly.php", "<?php class Curly { function f($s) { return $s{0}; } }"},
  };
  TempDir tmp;
  std::string app = MakeApp(tmp, files);
  nlohmann::json rep = RunTool(app, tmp);
  EXPECT_EQ(Reason(rep, "Gone.php"), "missing-dependency");
  EXPECT_EQ(Reason(rep, "Kid.php"), "depends-on-excluded");
  EXPECT_EQ(Reason(rep, "Narrow.php"), "incompatible-signature");
  EXPECT_EQ(Reason(rep, "Unknown.php"), "unresolved-signature-class");
  EXPECT_EQ(Reason(rep, "Dup1.php"), "duplicate-class");
  EXPECT_EQ(Reason(rep, "Fn1.php"), "duplicate-function");
  EXPECT_EQ(Reason(rep, "Curly.php"), "php-compile-error");
  EXPECT_EQ(Reason(rep, "Base.php"), "");

  std::string php = Php82();
  if (php.empty()) GTEST_SKIP() << "php8.2-cli is not installed: PHP's side not checked";
  // What PHP says about each, loading it anyway.
  std::string links = PhpLoads(
      php, app, tmp,
      {"Base.php", "Gone.php", "Kid.php", "Narrow.php", "Unknown.php", "Dup1.php", "Dup2.php"});
  EXPECT_NE(links.find("Can't preload unlinked class Orphan: Unknown parent NotInstalled"),
            std::string::npos)
      << links;
  EXPECT_NE(links.find("Can't preload unlinked class Kid: Unknown parent Orphan"),
            std::string::npos)
      << links;
  EXPECT_NE(links.find("Declaration of Narrow::f(string $x): Base must be compatible"),
            std::string::npos)
      << links;
  EXPECT_NE(links.find("Could not check compatibility between Unknown::f(int $x): Missing"),
            std::string::npos)
      << links;
  EXPECT_NE(links.find("Can't preload already declared class Dup"), std::string::npos) << links;
  std::string redeclare = PhpLoads(php, app, tmp, {"Fn1.php", "Fn2.php"});
  EXPECT_NE(redeclare.find("Fatal error"), std::string::npos) << redeclare;
  EXPECT_NE(redeclare.find("redeclare"), std::string::npos) << redeclare;
  std::string curly = PhpLoads(php, app, tmp, {"Curly.php"});
  EXPECT_NE(curly.find("Fatal error"), std::string::npos) << curly;
  EXPECT_EQ(curly.find("started"), std::string::npos) << "PHP must not start: " << curly;
}

TEST(ReasonsAgreeWithPhp, NearMissesPhpAcceptsAreKept) {
  std::map<std::string, std::string> files = {
      // Constructors: not checked unless abstract or from an interface.
      {"Ex.php",
       "<?php class AppException extends Exception { public function __construct("
       "NotInstalled $why) {} }"},
      {"P.php", "<?php class P { public function __construct(int $x) {} }"},
      {"C.php", "<?php class C extends P { public function __construct(string $s, $more) {} }"},
      // Constant, property and default initialisers naming absent classes.
      {"Init.php",
       "<?php class Init { const A = NotInstalled::X; public $p = [Gone::class => "
       "Gone::Y]; public function f($d = Gone::Z) {} }"},
      // Enum cases, readonly, first-class callables, new in initialisers.
      {"Suit.php", "<?php enum Suit: string { case Hearts = 'H'; case Spades = Other::S; }"},
      {"Point.php",
       "<?php readonly class Point { public function __construct(public int $x, "
       "public ?Point $next = null) {} }"},
      {"Calls.php", "<?php class Calls { public function f() { return strlen(...); } }"},
      {"NewInit.php",
       "<?php class NewInit { public function __construct(private object $o = "
       "new Gone()) {} }"},
      // static / never / mixed, intersection and DNF types in overrides.
      {"I.php",
       "<?php interface A {} interface B {} interface Shape { public function me(): "
       "static; public function stop(): void; public function take(int $x): mixed; "
       "public function both(A&B $x): A; }"},
      {"Impl.php",
       "<?php class Impl implements Shape { public function me(): static { return "
       "$this; } public function stop(): never { exit; } public function take(mixed "
       "$x): int { return 1; } public function both((A&B)|null $x): A&B { return "
       "$x; } }"},
  };
  TempDir tmp;
  std::string app = MakeApp(tmp, files);
  nlohmann::json rep = RunTool(app, tmp);
  EXPECT_EQ(rep["excluded"].size(), 0u) << rep["excluded"].dump(1);
  EXPECT_EQ(rep["counts"]["preloaded_files"], files.size());

  std::string php = Php82();
  if (php.empty()) GTEST_SKIP() << "php8.2-cli is not installed: PHP's side not checked";
  // PHP loads the tool's own list without a word.
  RunOutput r = RunBinary(
      php, {"-d", "display_startup_errors=1", "-d", "error_reporting=-1", "-d", "opcache.enable=1",
            "-d", "opcache.enable_cli=1", "-d", "opcache.preload=" + tmp.Sub("preload.php"), "-d",
            "opcache.preload_user=root", "-r",
            "echo count(opcache_get_status(true)['preload_statistics']['classes']), PHP_EOL;"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.find("Warning"), std::string::npos) << r.out;
  EXPECT_EQ(std::stoul(r.out), rep["counts"]["preloaded_classes"].get<size_t>()) << r.out;
}

// A stand-in PHP: dies with a fatal error naming no file whenever the
// preload list holds Poison.php, else prints the marker.
TEST(VerifyWith, BisectsAFatalErrorThatNamesNoFile) {
  TempDir tmp;
  std::map<std::string, std::string> files;
  for (int i = 0; i < 9; ++i) {
    files["F" + std::to_string(i) + ".php"] = "<?php class F" + std::to_string(i) + " {}";
  }
  files["Poison.php"] = "<?php class Poison {}";
  std::string app = MakeApp(tmp, files);
  std::string fake = tmp.Sub("fake-php");
  WriteFile(fake,
            "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in opcache.preload=*) list=${a#*=};; "
            "esac; done\necho run >>" +
                tmp.Sub("runs") +
                "\nif grep -q Poison.php \"$list\"; then echo 'PHP Fatal error:  Out of luck' >&2; "
                "exit 255; fi\necho 'PHP Deprecated:  old style in /x.php on line 1' >&2\n"
                "echo initkit-preload-verified\n");
  ::chmod(fake.c_str(), 0755);
  WriteFile(tmp.Sub("preload.php"), "<?php // the previous list\n");
  nlohmann::json rep = RunTool(app, tmp, {"--verify-with", fake});
  EXPECT_EQ(Reason(rep, "Poison.php"), "php-fatal") << rep.dump(1);
  EXPECT_EQ(rep["counts"]["preloaded_files"], 9);
  EXPECT_EQ(rep["verify"]["rounds"], 2);
  EXPECT_GT(rep["verify"]["php_runs"].get<int>(), 3);  // baseline, round 1, bisection, round 2
  EXPECT_EQ(ReadFile(tmp.Sub("preload.php")).find("Poison.php"), std::string::npos);
}

TEST(VerifyWith, FailsWithoutTouchingTheOutputWhenPhpNeverLoadsTheList) {
  TempDir tmp;
  std::string app = MakeApp(tmp, {{"A.php", "<?php class A {}"}});
  std::string fake = tmp.Sub("fake-php");
  // Starts with an empty list only.
  WriteFile(fake,
            "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in opcache.preload=*) list=${a#*=};; "
            "esac; done\nif grep -q A.php \"$list\"; then sleep 30; fi\n"
            "echo initkit-preload-verified\n");
  ::chmod(fake.c_str(), 0755);
  WriteFile(tmp.Sub("preload.php"), "<?php // the previous list\n");
  RunOutput r = RunBinary(kTool, {"--app-dir", app, "--output", tmp.Sub("preload.php"),
                                  "--verify-with", fake, "--verify-timeout", "2s"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("nothing was written"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(tmp.Sub("preload.php")), "<?php // the previous list\n");
}

}  // namespace
}  // namespace initkit::preload
