// Analysis tests on in-memory files: linking, signatures, reasons, order.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "tools/preload/analysis.h"
#include "tools/preload/composer_autoload.h"
#include "tools/preload/preload.h"

namespace initkit::preload {
namespace {

class AnalysisTest : public ::testing::Test {
 protected:
  void Add(const std::string& rel, const std::string& src) {
    SourceFile f;
    f.path = "/app/" + rel;
    f.rel = rel;
    f.size = src.size();
    f.info = ScanPhp(src);
    files_.push_back(std::move(f));
  }
  Analysis Run() { return Analyze(files_, builtins_); }
  size_t Index(const std::string& rel) const {
    for (size_t i = 0; i < files_.size(); ++i) {
      if (files_[i].rel == rel) return i;
    }
    ADD_FAILURE() << "no file " << rel;
    return 0;
  }
  std::string Reason(const Analysis& a, const std::string& rel) const {
    return a.excluded[Index(rel)].reason;
  }
  std::string Detail(const Analysis& a, const std::string& rel) const {
    return a.excluded[Index(rel)].detail;
  }
  size_t Pos(const Analysis& a, const std::string& rel) const {
    auto it = std::find(a.order.begin(), a.order.end(), Index(rel));
    return static_cast<size_t>(it - a.order.begin());
  }

  std::vector<SourceFile> files_;
  BuiltinClasses builtins_ = BuiltinClasses::Default();
};

TEST_F(AnalysisTest, OrdersParentsFirstAndLinksBuiltins) {
  Add("C.php",
      "<?php namespace A; class C extends B implements \\Countable { "
      "public function count(): int { return 0; } }");
  Add("B.php", "<?php namespace A; abstract class B extends Base {}");
  Add("Base.php", "<?php namespace A; class Base extends \\Exception implements I {}");
  Add("I.php", "<?php namespace A; interface I extends \\JsonSerializable {}");
  Analysis a = Run();
  EXPECT_EQ(a.order.size(), 4u);
  EXPECT_EQ(a.preloaded_classes, 4u);
  EXPECT_LT(Pos(a, "I.php"), Pos(a, "Base.php"));
  EXPECT_LT(Pos(a, "Base.php"), Pos(a, "B.php"));
  EXPECT_LT(Pos(a, "B.php"), Pos(a, "C.php"));
  EXPECT_EQ(a.deps[Index("C.php")], (std::vector<size_t>{Index("B.php")}));
}

TEST_F(AnalysisTest, MissingParentIsLeftOutTransitively) {
  Add("Child.php", "<?php class Child extends Missing\\Base {}");
  Add("Grand.php", "<?php class Grand extends Child {}");
  Add("Ok.php", "<?php class Ok {}");
  Analysis a = Run();
  EXPECT_EQ(Reason(a, "Child.php"), "missing-dependency");
  EXPECT_NE(Detail(a, "Child.php").find("parent Missing\\Base"), std::string::npos);
  EXPECT_EQ(Reason(a, "Grand.php"), "depends-on-excluded");
  EXPECT_NE(Detail(a, "Grand.php").find("Child.php"), std::string::npos);
  EXPECT_EQ(Reason(a, "Ok.php"), "");
  EXPECT_EQ(a.order, (std::vector<size_t>{Index("Ok.php")}));
}

TEST_F(AnalysisTest, FileRules) {
  Add("Side.php", "<?php\nnamespace S;\n$x = 1;\nclass Side {}\n");
  Add("Cond.php", "<?php\nif (true) { class Cond {} }\n");
  Add("Dup1.php", "<?php class Dup {}");
  Add("Dup2.php", "<?php class Dup {}");
  Add("Builtin.php", "<?php class ArrayObject {}");
  Add("Funcs.php", "<?php function helper() {}");
  Add("Broken.php", "<?php class Broken { const X = 'oops; }");
  Analysis a = Run();
  EXPECT_EQ(Reason(a, "Side.php"), "side-effects");
  EXPECT_NE(Detail(a, "Side.php").find("line 3"), std::string::npos);
  EXPECT_EQ(Reason(a, "Cond.php"), "conditional-declaration");
  EXPECT_EQ(Reason(a, "Dup1.php"), "duplicate-class");
  EXPECT_NE(Detail(a, "Dup1.php").find("Dup2.php"), std::string::npos);
  EXPECT_EQ(Reason(a, "Dup2.php"), "duplicate-class");
  EXPECT_EQ(Reason(a, "Builtin.php"), "duplicate-class");
  EXPECT_EQ(Reason(a, "Funcs.php"), "no-class");
  EXPECT_EQ(Reason(a, "Broken.php"), "parse-error");
  EXPECT_TRUE(a.order.empty());
}

TEST_F(AnalysisTest, IncompatibleSignatureAsPhpChecksIt) {
  Add("P.php", R"php(<?php namespace D;
abstract class P {
  public function bindValue($param, $value, $type = 1) {}
  public function prepare(string $sql): Stmt {}
  public function many(int $a, int $b = 0) {}
  public function fluent(): self {}
  public function nul(?P $p): ?P {}
}
interface Stmt {}
)php");
  Add("Bad.php", R"php(<?php namespace D;
class Bad extends P { public function bindValue(string|int $param, mixed $value, int $type): void {} }
)php");
  Add("Fewer.php", "<?php namespace D; class Fewer extends P { public function many(int $a) {} }");
  Add("Good.php", R"php(<?php namespace D;
class Good extends P {
  public function bindValue($param, $value, $type = 2, $extra = null) {}
  public function prepare(string $sql, int $more = 0): GoodStmt {}
  public function fluent(): static {}
  public function nul(?P $p): Good {}
}
class GoodStmt implements Stmt {}
)php");
  Add("Unknown.php", R"php(<?php namespace D;
class Unknown extends P { public function prepare(string $sql): \Nowhere\Stmt {} }
)php");
  Analysis a = Run();
  EXPECT_EQ(Reason(a, "P.php"), "");
  EXPECT_EQ(Reason(a, "Bad.php"), "incompatible-signature");
  EXPECT_NE(Detail(a, "Bad.php").find("D\\Bad::bindValue()"), std::string::npos);
  EXPECT_EQ(Reason(a, "Fewer.php"), "incompatible-signature");
  EXPECT_EQ(Reason(a, "Good.php"), "") << Detail(a, "Good.php");
  EXPECT_EQ(Reason(a, "Unknown.php"), "unresolved-signature-class");
  EXPECT_NE(Detail(a, "Unknown.php").find("Nowhere\\Stmt"), std::string::npos);
}

TEST_F(AnalysisTest, SignatureClassesLeftOutMakeOverridesUncheckable) {
  Add("Base.php", "<?php namespace E; class Base { public function get(): Base {} }");
  Add("Gone.php", "<?php namespace E; $x = 1; class Gone extends Base {}");
  Add("User.php", "<?php namespace E; class User extends Base { public function get(): Gone {} }");
  Analysis a = Run();
  EXPECT_EQ(Reason(a, "Gone.php"), "side-effects");
  EXPECT_EQ(Reason(a, "User.php"), "depends-on-excluded");
  EXPECT_NE(Detail(a, "User.php").find("could not check compatibility"), std::string::npos);
}

TEST_F(AnalysisTest, InitializersNeverKeepAClassOut) {
  // PHP 8.1+ resolves initialisers on first use, also ones naming classes it
  // does not have (preload_php_test's near-miss cases show PHP accepting them).
  Add("Conn.php", "<?php namespace F; class Conn { const T = ArrayType::X; }");
  Add("ArrayType.php",
      "<?php namespace F; final class ArrayType { const X = 1; const C = Conn::T; }");
  Add("Redis.php",
      "<?php namespace F; class RedisCaster { const M = [\\Redis::SERIALIZER_NONE => 1]; }");
  Add("Enum.php", "<?php namespace F; enum E: int { case A = \\Gone::V; }");
  Add("New.php",
      "<?php namespace F; class N { function __construct(private X $x = new Gone()) {} }");
  Analysis a = Run();
  for (const char* f : {"Conn.php", "ArrayType.php", "Redis.php", "Enum.php", "New.php"}) {
    EXPECT_EQ(Reason(a, f), "") << f;
  }
}

TEST_F(AnalysisTest, ConstructorsAreCheckedOnlyAgainstAbstractOrInterfaceOnes) {
  Add("Ex.php",
      "<?php namespace K; class Ex extends \\Exception { function __construct(\\Gone $g) {} }");
  Add("P.php", "<?php namespace K; class P { function __construct(int $x) {} }");
  Add("C.php", "<?php namespace K; class C extends P { function __construct(\\Gone $g, $y) {} }");
  Add("AP.php", "<?php namespace K; abstract class AP { abstract function __construct(int $x); }");
  Add("AC.php", "<?php namespace K; class AC extends AP { function __construct(\\Gone $g) {} }");
  Add("I.php", "<?php namespace K; interface I { function __construct(int $x); }");
  Add("IC.php", "<?php namespace K; class IC implements I { function __construct(string $x) {} }");
  Analysis a = Run();
  EXPECT_EQ(Reason(a, "Ex.php"), "");
  EXPECT_EQ(Reason(a, "C.php"), "");
  EXPECT_EQ(Reason(a, "AC.php"), "incompatible-signature");  // as PHP 8.2 says
  EXPECT_EQ(Reason(a, "IC.php"), "incompatible-signature");
}

TEST_F(AnalysisTest, CompileErrorsLeaveTheFileOutWithItsDependents) {
  Add("Old.php", "<?php class Old { function f($s) { return $s{0}; } }");
  Add("Kid.php", "<?php class Kid extends Old {}");
  Analysis a = Run();
  EXPECT_EQ(Reason(a, "Old.php"), "php-compile-error");
  EXPECT_NE(Detail(a, "Old.php").find("line 1"), std::string::npos) << Detail(a, "Old.php");
  EXPECT_EQ(Reason(a, "Kid.php"), "depends-on-excluded");
}

TEST_F(AnalysisTest, AnonymousClassesMustLinkToo) {
  Add("Runner.php", R"php(<?php namespace G;
class Runner { public function f() { return new class implements \Amp\Socket\Connector {}; } }
)php");
  Analysis a = Run();
  EXPECT_EQ(Reason(a, "Runner.php"), "missing-dependency");
  EXPECT_NE(Detail(a, "Runner.php").find("anonymous class"), std::string::npos);
}

TEST_F(AnalysisTest, TraitsAndCycles) {
  Add("T.php", "<?php namespace H; trait T { use U; }");
  Add("U.php", "<?php namespace H; trait U { public function u(): int { return 1; } }");
  Add("User.php", "<?php namespace H; class User { use T; }");
  Add("A.php", "<?php namespace H; class A extends B {}");
  Add("B.php", "<?php namespace H; class B extends A {}");
  Analysis a = Run();
  EXPECT_EQ(Reason(a, "User.php"), "");
  EXPECT_LT(Pos(a, "U.php"), Pos(a, "T.php"));
  EXPECT_LT(Pos(a, "T.php"), Pos(a, "User.php"));
  EXPECT_FALSE(Reason(a, "A.php").empty());
  EXPECT_FALSE(Reason(a, "B.php").empty());
}

TEST_F(AnalysisTest, ForcedExclusionsPropagate) {
  Add("Base.php", "<?php class Base {}");
  Add("Kid.php", "<?php class Kid extends Base {}");
  Analysis a = Analyze(files_, builtins_, {{Index("Base.php"), {"php-refused", "PHP said no"}}});
  EXPECT_EQ(Reason(a, "Base.php"), "php-refused");
  EXPECT_EQ(Reason(a, "Kid.php"), "depends-on-excluded");
}

TEST_F(AnalysisTest, PhpClassesOverride) {
  ASSERT_TRUE(builtins_.LoadOverride("# my image\nArrayObject\nRedis\n", "list.txt").ok());
  EXPECT_NE(builtins_.Find("redis"), nullptr);
  EXPECT_EQ(builtins_.Find("exception"), nullptr);
  EXPECT_TRUE(builtins_.Find("arrayobject")->known_shape);  // shape from the shipped table
  Add("R.php", "<?php class R { const M = \\Redis::X; }");
  Add("E.php", "<?php class E extends \\Exception {}");
  Analysis a = Run();
  EXPECT_EQ(Reason(a, "R.php"), "");
  EXPECT_EQ(Reason(a, "E.php"), "missing-dependency");
  EXPECT_EQ(builtins_.LoadOverride("\n# nothing\n", "empty.txt").kind(), Status::Kind::kUsage);
}

TEST(ComposerMaps, ParsesClassMapAndPsr4) {
  const char* cm = R"php(<?php

// autoload_classmap.php @generated by Composer

$vendorDir = dirname(__DIR__);
$baseDir = dirname($vendorDir);

return array(
    'App\\Http\\Kernel' => $baseDir . '/src/Http/Kernel.php',
    'Brick\\Math\\BigDecimal' => $vendorDir . '/debian/Brick/Math/BigDecimal.php',
    'It\'s' => $vendorDir . '/../odd/./x.php',
);
)php";
  ClassMap map;
  ASSERT_TRUE(ParseClassMap(cm, "/srv/app/vendor/composer", "cm", &map).ok());
  ASSERT_EQ(map.size(), 3u);
  EXPECT_EQ(map[0].first, "App\\Http\\Kernel");
  EXPECT_EQ(map[0].second, "/srv/app/src/Http/Kernel.php");
  EXPECT_EQ(map[1].second, "/srv/app/vendor/debian/Brick/Math/BigDecimal.php");
  EXPECT_EQ(map[2].first, "It's");
  EXPECT_EQ(map[2].second, "/srv/app/odd/x.php");

  const char* psr4 = R"php(<?php
$vendorDir = dirname(dirname(__DIR__));
$baseDir = dirname($vendorDir);
return array(
    'App\\' => array($baseDir . '/src', $baseDir . '/lib'),
    'Psr\\Log\\' => array($vendorDir . '/psr/log/src'),
);
)php";
  Psr4Map pm;
  ASSERT_TRUE(ParsePsr4Map(psr4, "/srv/app/lib/vendor/composer", "psr4", &pm).ok());
  ASSERT_EQ(pm.size(), 2u);
  EXPECT_EQ(pm[0].first, "App\\");
  EXPECT_EQ(pm[0].second, (std::vector<std::string>{"/srv/app/src", "/srv/app/lib"}));
  EXPECT_EQ(pm[1].second, (std::vector<std::string>{"/srv/app/lib/psr/log/src"}));

  ClassMap bad;
  EXPECT_EQ(ParseClassMap("<?php echo 1;", "/x", "broken.php", &bad).kind(), Status::Kind::kUsage);
}

TEST(PreloadHelpers, ByteSizesAndGlobs) {
  uint64_t v = 0;
  ASSERT_TRUE(ParseByteSize("64M", "--memory-budget", &v).ok());
  EXPECT_EQ(v, 64ull << 20);
  ASSERT_TRUE(ParseByteSize("512K", "--memory-budget", &v).ok());
  EXPECT_EQ(v, 512ull << 10);
  ASSERT_TRUE(ParseByteSize("1000", "--memory-budget", &v).ok());
  EXPECT_EQ(v, 1000u);
  EXPECT_EQ(ParseByteSize("12Q", "--memory-budget", &v).kind(), Status::Kind::kUsage);
  EXPECT_EQ(ParseByteSize("", "--memory-budget", &v).kind(), Status::Kind::kUsage);

  EXPECT_TRUE(GlobMatch("vendor/debian/Symfony/", "vendor/debian/Symfony/A/B.php"));
  EXPECT_TRUE(GlobMatch("**/Legacy/*", "vendor/x/Legacy/Old.php"));
  EXPECT_TRUE(GlobMatch("*.inc.php", "src/a/b.inc.php"));
  EXPECT_FALSE(GlobMatch("vendor/debian/Symfony/", "vendor/debian/Twig/A.php"));
  // The same rules as initkit-bootstrap's --exclude: '*' stays in its segment.
  EXPECT_TRUE(GlobMatch("storage/*.log", "storage/a.log"));
  EXPECT_FALSE(GlobMatch("storage/*.log", "storage/old/a.log"));
  EXPECT_TRUE(GlobMatch("storage/**/*.log", "storage/old/a.log"));
  EXPECT_EQ(NormalizePath("/a/b/../c/./d"), "/a/c/d");
}

}  // namespace
}  // namespace initkit::preload
