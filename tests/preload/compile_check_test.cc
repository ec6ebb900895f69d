// FindCompileError against PHP 8.2 itself: every construct the tool calls a
// compile error is one PHP refuses to compile (php -l says so), and every
// near miss the tool accepts PHP accepts too.
#include "tools/preload/compile_check.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "tests/fakes/php_judge.h"
#include "tests/fakes/test_util.h"

namespace initkit::preload {
namespace {

using initkit::testing::Php82;
using initkit::testing::RunBinary;
using initkit::testing::RunOutput;
using initkit::testing::TempDir;
using initkit::testing::WriteFile;

std::string Check(const std::string& src) {
  php::LexResult lex = php::LexPhp(src);
  EXPECT_TRUE(lex.error.empty()) << lex.error << "\n" << src;
  return FindCompileError(src, lex.tokens);
}

// What `php -l` (compile only) prints for `src`; "" without PHP.
std::string PhpLint(const std::string& php, const TempDir& tmp, const std::string& src) {
  static int n = 0;
  std::string file = tmp.Sub("snippet" + std::to_string(++n) + ".php");
  WriteFile(file, src);
  RunOutput r =
      RunBinary(php, {"-n", "-d", "error_reporting=-1", "-d", "display_errors=stderr", "-l", file});
  return r.out + r.err;
}

struct Case {
  const char* php_says;  // the start of PHP 8.2's message
  const char* we_say;    // a word the tool's sentence holds
  const char* src;
};

// One row per construct of the README's table.
const Case kRefused[] = {
    {"Array and string offset access syntax with curly braces", "curly",
     "<?php function f($a) { return $a{0}; }"},
    {"Array and string offset access syntax with curly braces", "curly",
     "<?php function f($a) { return $a->b{1}; }"},
    {"Array and string offset access syntax with curly braces", "curly",
     "<?php function f($a) { return $a[1]{0}; }"},
    {"Array and string offset access syntax with curly braces", "curly",
     "<?php function f() { return 'abc'{0}; }"},
    {"Array and string offset access syntax with curly braces", "curly",
     "<?php function f() { return g(){0}; }"},
    {"Array and string offset access syntax with curly braces", "curly",
     "<?php class K { const S = 'x'; function f() { return self::S{0}; } }"},
    {"The (real) cast has been removed", "(real)", "<?php function f($a) { return (real)$a; }"},
    {"The (real) cast has been removed", "(real)", "<?php function f($a) { return ( REAL )$a; }"},
    {"The (unset) cast is no longer supported", "(unset)",
     "<?php function f($a) { return (unset)$a; }"},
    {"Unparenthesized `a ? b : c ? d : e`", "ternary",
     "<?php function f($a) { return $a ? 1 : $a ? 2 : 3; }"},
    {"Unparenthesized `a ? b : c ? d : e`", "ternary",
     "<?php function f($a, $b) { return $a ? 1 : $b == 2 ? 2 : 3; }"},
    {"Unparenthesized `a ?: b ? c : d`", "ternary",
     "<?php function f($a) { return $a ?: 1 ? 2 : 3; }"},
    {"Unparenthesized `a ? b : c ?: d`", "ternary",
     "<?php function f($a) { return $a ? 1 : 2 ?: 3; }"},
    {"__autoload() is no longer supported", "__autoload", "<?php function __autoload($c) {}"},
    {"Defining a custom assert() function is not allowed", "assert",
     "<?php namespace N; function assert($a) {}"},
    {"Cannot use 'Mixed' as class name as it is reserved", "reserved", "<?php class Mixed {}"},
    {"Cannot use 'Never' as class name as it is reserved", "reserved", "<?php interface Never {}"},
    {"$GLOBALS can only be modified using the $GLOBALS[$name] = $value syntax", "$GLOBALS",
     "<?php function f() { $GLOBALS = []; }"},
    {"$GLOBALS can only be modified using the $GLOBALS[$name] = $value syntax", "$GLOBALS",
     "<?php function f() { unset($GLOBALS); }"},
    {"Cannot acquire reference to $GLOBALS", "$GLOBALS",
     "<?php function f() { $r = &$GLOBALS; return $r; }"},
    {"Cannot use \"parent\" when current class scope has no parent", "parent",
     "<?php class A { function f() { return parent::f(); } }"},
    {"Cannot use \"parent\" when current class scope has no parent", "parent",
     "<?php enum E { case A; function f() { return parent::f(); } }"},
    {"Cannot use \"parent\" when no class scope is active", "parent",
     "<?php function f() { return parent::f(); }"},
};

// Near misses: code that looks like the above and that PHP 8.2 compiles.
const char* const kAccepted[] = {
    "<?php function f($a) { return $a[0] . ${'a'} . \"{$a}\" . $a->{'b'}; }",
    "<?php function f($a) { if ($a) { } foreach ($a as $v) { } while ($a) { break; } }",
    "<?php function f($a) { switch ($a) { case 1: { break; } } }",
    "<?php function f($a) { $g = function () use ($a) { return $a; }; return $g; }",
    "<?php function f($a) { return match ($a) { 1 => 2, default => 3 }; }",
    "<?php function f() { try { } catch (\\Exception $e) { } finally { } }",
    "<?php function f($x) { return new class($x) { public function __construct($x) {} }; }",
    "<?php declare(strict_types=1); function f($a) { return (float)$a + (int)$a; }",
    "<?php function f($a, $b) { return $a ? 1 : ($b ? 2 : 3); }",
    "<?php function f($a, $b) { return ($a ? 1 : 2) ? 3 : 4; }",
    "<?php function f($a, $b, $c) { return $a ?: $b ?: $c; }",
    "<?php function f($a, $b) { return $a ? ($b ? 1 : 2) : 3; }",
    "<?php function f($a, $b) { return $a ? $b ? 1 : 2 : 3; }",
    "<?php function f($a, $b) { return $a ?? $b ? 1 : 2; }",
    "<?php function f($a, $c) { return $a ? 1 : $c = $a ? 2 : 3; }",
    "<?php function f($a) { return g(a: $a ? 1 : 2, b: 3); } function g($a, $b) {}",
    "<?php function f(?int $x): ?int { return $x ? 1 : 2; }",
    "<?php function f($a) { $x = $a ? [1] : [2]; $y = $a ? 1 : 2; return $x ?: $y; }",
    "<?php namespace N; function __autoload($c) {}",
    "<?php class A { public function __autoload($c) {} public function assert() {} }",
    "<?php trait T { function f() { return parent::f(); } }",
    "<?php class A { function f() { return function () { return parent::f(); }; } }",
    "<?php class B {} class A extends B { function f() { return parent::class; } }",
    "<?php class Enum {} class Mixer {} interface Nevermore {}",
    "<?php function f() { $GLOBALS['x'] = 1; $y = $GLOBALS; return $y == $GLOBALS; }",
    "<?php function f() { $m = &$GLOBALS['m']; $GLOBALS['n'] += 1; return $m; }",
    "<?php use function N\\g; use function N\\__autoload as x;",
    "<?php function f(array $a = []) { foreach ($a as [$x, $y]) { } }",
    "<?php #[Attribute] class A {} #[A] function f() {}",
    "<?php if (true): ?>x<?php endif;",
};

TEST(CompileCheck, FindsWhatPhpRefusesToCompile) {
  TempDir tmp;
  std::string php = Php82();
  for (const Case& c : kRefused) {
    std::string ours = Check(c.src);
    EXPECT_NE(ours.find(c.we_say), std::string::npos) << c.src << "\n-> " << ours;
    EXPECT_NE(ours.find("line 1"), std::string::npos) << ours;
    if (php.empty()) continue;
    std::string theirs = PhpLint(php, tmp, c.src);
    EXPECT_NE(theirs.find(c.php_says), std::string::npos) << c.src << "\nPHP: " << theirs;
  }
  if (php.empty()) GTEST_SKIP() << "php8.2-cli is not installed: PHP's side not checked";
}

TEST(CompileCheck, AcceptsTheNearMissesAsPhpDoes) {
  TempDir tmp;
  std::string php = Php82();
  for (const char* src : kAccepted) {
    EXPECT_EQ(Check(src), "") << src;
    if (php.empty()) continue;
    std::string theirs = PhpLint(php, tmp, src);
    EXPECT_NE(theirs.find("No syntax errors detected"), std::string::npos)
        << src << "\nPHP: " << theirs;
  }
  if (php.empty()) GTEST_SKIP() << "php8.2-cli is not installed: PHP's side not checked";
}

TEST(CompileCheck, NamesTheLineOfTheConstruct) {
  EXPECT_NE(Check("<?php\nclass A\n{\n  function f($s)\n  {\n    return $s{0};\n  }\n}\n")
                .find("at line 6"),
            std::string::npos);
}

}  // namespace
}  // namespace initkit::preload
