// Tokenizer and declaration-scanner tests on tricky PHP inputs.
#include <gtest/gtest.h>

#include <string>

#include "common/php_lexer.h"
#include "tools/preload/php_scanner.h"

namespace initkit::preload {
namespace {

using namespace initkit::php;

std::vector<std::string> Names(const PhpFileInfo& info, bool include_conditional = false) {
  std::vector<std::string> out;
  for (const PhpClass& c : info.classes) {
    if (c.anonymous) continue;
    if (c.conditional && !include_conditional) continue;
    out.push_back(c.name);
  }
  return out;
}

const PhpClass* Find(const PhpFileInfo& info, const std::string& name) {
  for (const PhpClass& c : info.classes) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

TEST(PhpLexer, OpenAndCloseTagsAndInlineHtml) {
  LexResult r = LexPhp("<html><?php echo 1; ?>\n<p><?= $x ?></p>");
  ASSERT_TRUE(r.error.empty());
  ASSERT_GE(r.tokens.size(), 8u);
  EXPECT_EQ(r.tokens[0].kind, TokKind::kInlineHtml);
  EXPECT_EQ(r.tokens[0].text, "<html>");
  EXPECT_EQ(r.tokens[1].kind, TokKind::kOpenTag);
  EXPECT_EQ(r.tokens[2].text, "echo");
  EXPECT_EQ(r.tokens[5].kind, TokKind::kCloseTag);
  EXPECT_EQ(r.tokens[5].text, "?>\n");  // the newline after ?> belongs to it
  EXPECT_EQ(r.tokens[6].kind, TokKind::kInlineHtml);
  EXPECT_EQ(r.tokens[6].text, "<p>");
  EXPECT_EQ(r.tokens[7].kind, TokKind::kOpenTagEcho);
  EXPECT_EQ(r.tokens.back().kind, TokKind::kEnd);
}

TEST(PhpLexer, QualifiedNamesAreOneToken) {
  LexResult r = LexPhp("<?php \\Foo\\Bar::baz(); namespace\\Qux; Foo\\Bar;");
  ASSERT_TRUE(r.error.empty());
  EXPECT_EQ(r.tokens[1].text, "\\Foo\\Bar");
  EXPECT_TRUE(r.tokens[2].IsPunct("::"));
  std::vector<std::string> names;
  for (const Token& t : r.tokens) {
    if (t.kind == TokKind::kName) names.emplace_back(t.text);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"\\Foo\\Bar", "baz", "namespace\\Qux", "Foo\\Bar"}));
}

TEST(PhpLexer, UnterminatedStringIsAnError) {
  LexResult r = LexPhp("<?php\n$a = 'abc;\n");
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(LineOf("<?php\n$a = 'abc;\n", r.error_offset), 2);
}

TEST(PhpScanner, StringsContainingClassKeywordDeclareNothing) {
  PhpFileInfo info = ScanPhp(R"php(<?php
namespace App;
class Real {
  const A = 'class Fake1 {}';
  public $b = "class Fake2 extends X {}";
  function f() { return `class Fake3 {}` . 'interface Fake4 {}'; }
}
)php");
  EXPECT_TRUE(info.error.empty()) << info.error;
  EXPECT_EQ(Names(info, true), (std::vector<std::string>{"App\\Real"}));
  EXPECT_TRUE(info.side_effect.empty()) << info.side_effect;
}

TEST(PhpScanner, HeredocWithInterpolationAndFlexibleClosing) {
  PhpFileInfo info = ScanPhp(R"php(<?php
class A {
  function f($x) {
    $s = <<<EOT
      class NotAClass { {$x["}"]} ${x} $x->y {$x->m("EOT")}
      EOT . 'tail';
    $n = <<<'RAW'
    class Nope { }  {$notInterpolated
    RAW;
    $q = <<<"Q"
    }}} Q-not-the-end
    Q;
    return $s;
  }
}
class B extends A {}
)php");
  EXPECT_TRUE(info.error.empty()) << info.error;
  EXPECT_EQ(Names(info, true), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(Find(info, "B")->parent, "A");
}

TEST(PhpScanner, CloseTagInsideStringsAndComments) {
  PhpFileInfo info = ScanPhp(R"php(<?php
/* ?> not a close tag in a block comment */
$a = '?>';
$b = "?> <?php";
class After {}
)php");
  EXPECT_TRUE(info.error.empty());
  EXPECT_EQ(Names(info), (std::vector<std::string>{"After"}));
  // `?>` ends a line comment: what follows is inline HTML, not code.
  PhpFileInfo c = ScanPhp("<?php\n// comment ?> class Html {}\n");
  EXPECT_TRUE(Names(c).empty());
  EXPECT_NE(c.side_effect.find("inline output"), std::string::npos);
  // A file ending in ?> and one newline prints nothing.
  PhpFileInfo d = ScanPhp("<?php\nclass Ok {}\n?>\n");
  EXPECT_TRUE(d.side_effect.empty()) << d.side_effect;
  EXPECT_EQ(Names(d), (std::vector<std::string>{"Ok"}));
}

TEST(PhpScanner, AttributesEnumsReadonlyAndModifiers) {
  PhpFileInfo info = ScanPhp(R"php(<?php
namespace N;
use Other\Contract as C;
#[\Attribute(\Attribute::TARGET_CLASS), Foo([1, 2, [3]])]
final readonly class Point implements C, \Stringable {
  public function __construct(#[Sensitive] public readonly int $x = 0) {}
  public function __toString(): string { return ''; }
}
enum Suit: string implements HasLabel {
  use Labels;
  case Hearts = 'H';
  const Wild = self::Hearts;
  public function label(): string { return match($this) { self::Hearts => 'h' }; }
}
abstract class Base { abstract protected function run(?Point $p, int|string ...$rest): static; }
interface HasLabel extends \JsonSerializable, Other\Thing {}
trait Labels {}
)php");
  ASSERT_TRUE(info.error.empty()) << info.error;
  EXPECT_EQ(Names(info), (std::vector<std::string>{"N\\Point", "N\\Suit", "N\\Base", "N\\HasLabel",
                                                   "N\\Labels"}));
  const PhpClass* point = Find(info, "N\\Point");
  EXPECT_EQ(point->interfaces, (std::vector<std::string>{"Other\\Contract", "Stringable"}));
  const PhpClass* suit = Find(info, "N\\Suit");
  EXPECT_EQ(suit->kind, ClassKind::kEnum);
  EXPECT_EQ(suit->traits, (std::vector<std::string>{"N\\Labels"}));
  EXPECT_EQ(suit->interfaces, (std::vector<std::string>{"N\\HasLabel"}));
  const PhpClass* base = Find(info, "N\\Base");
  ASSERT_EQ(base->methods.size(), 1u);
  const PhpMethod& run = base->methods[0];
  EXPECT_TRUE(run.is_abstract);
  ASSERT_EQ(run.params.size(), 2u);
  EXPECT_EQ(run.params[0].type.atoms, (std::vector<std::string>{"null", "N\\Point"}));
  EXPECT_TRUE(run.params[1].variadic);
  EXPECT_EQ(run.params[1].type.atoms, (std::vector<std::string>{"int", "string"}));
  EXPECT_EQ(run.ret.atoms, (std::vector<std::string>{"static"}));
  const PhpClass* hl = Find(info, "N\\HasLabel");
  EXPECT_EQ(hl->kind, ClassKind::kInterface);
  EXPECT_EQ(hl->interfaces, (std::vector<std::string>{"JsonSerializable", "N\\Other\\Thing"}));
}

TEST(PhpScanner, NestedBracesAndAnonymousClasses) {
  PhpFileInfo info = ScanPhp(R"php(<?php
namespace App;
use Psr\Log\LoggerInterface;
class Outer {
  public function make() {
    $f = function () { if (true) { return [1, ['a' => "{$this->x}"]]; } };
    return new class($f) extends Base implements LoggerInterface {
      use Helper;
      public function log($level, $message, array $context = []): void { $o = new class {}; }
    };
  }
  public function after(): self { return $this; }
}
)php");
  ASSERT_TRUE(info.error.empty()) << info.error;
  EXPECT_EQ(Names(info), (std::vector<std::string>{"App\\Outer"}));
  EXPECT_TRUE(info.conditional.empty()) << info.conditional;
  int anonymous = 0;
  for (const PhpClass& c : info.classes) {
    if (!c.anonymous) continue;
    ++anonymous;
    if (!c.parent.empty()) {
      EXPECT_EQ(c.parent, "App\\Base");
      EXPECT_EQ(c.interfaces, (std::vector<std::string>{"Psr\\Log\\LoggerInterface"}));
      EXPECT_EQ(c.traits, (std::vector<std::string>{"App\\Helper"}));
    }
  }
  EXPECT_EQ(anonymous, 2);
  const PhpClass* outer = Find(info, "App\\Outer");
  ASSERT_EQ(outer->methods.size(), 2u);  // the anonymous class' methods are not Outer's
  EXPECT_EQ(outer->methods[1].name, "after");
}

TEST(PhpScanner, ClassConstantFetchIsNotADeclaration) {
  PhpFileInfo info = ScanPhp(R"php(<?php
namespace A;
class X {
  public $m = Y::class;
  const C = Z::FOO;
  public function f() { return [static::class, $this->class, foo(class: 1)]; }
}
)php");
  EXPECT_EQ(Names(info, true), (std::vector<std::string>{"A\\X"}));
  // ::class needs no class; a constant fetch does.
  EXPECT_EQ(Find(info, "A\\X")->init_refs, (std::vector<std::string>{"A\\Z"}));
}

TEST(PhpScanner, GroupedAliasedAndFunctionUse) {
  PhpFileInfo info = ScanPhp(R"php(<?php
namespace App\Http;
use Vendor\Pkg\{Base, Contracts\Able as Can, function helper, const FLAG};
use function Other\thing;
use Foo\Bar as Baz, Qux;
class K extends Base implements Can, Baz, Qux, Local, \Root, namespace\Rel {}
)php");
  ASSERT_TRUE(info.error.empty());
  const PhpClass* k = Find(info, "App\\Http\\K");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->parent, "Vendor\\Pkg\\Base");
  EXPECT_EQ(k->interfaces,
            (std::vector<std::string>{"Vendor\\Pkg\\Contracts\\Able", "Foo\\Bar", "Qux",
                                      "App\\Http\\Local", "Root", "App\\Http\\Rel"}));
  EXPECT_TRUE(info.side_effect.empty());
}

TEST(PhpScanner, BracedNamespacesResetImports) {
  PhpFileInfo info = ScanPhp(R"php(<?php
namespace One { use X\Y; class A extends Y {} }
namespace Two { class B extends Y {} }
namespace { class C {} }
)php");
  EXPECT_EQ(Names(info), (std::vector<std::string>{"One\\A", "Two\\B", "C"}));
  EXPECT_EQ(Find(info, "One\\A")->parent, "X\\Y");
  EXPECT_EQ(Find(info, "Two\\B")->parent, "Two\\Y");
}

TEST(PhpScanner, ConditionalDeclarationsAndSideEffects) {
  PhpFileInfo cond = ScanPhp(R"php(<?php
if (!class_exists('Foo')) {
  class Foo {}
}
)php");
  EXPECT_FALSE(cond.conditional.empty());
  ASSERT_EQ(cond.classes.size(), 1u);
  EXPECT_TRUE(cond.classes[0].conditional);

  PhpFileInfo alt = ScanPhp("<?php\nif (PHP_VERSION_ID > 80000):\n  class Bar {}\nendif;\n");
  EXPECT_FALSE(alt.conditional.empty());

  PhpFileInfo in_fn = ScanPhp("<?php\nfunction make() { class Inner {} }\n");
  EXPECT_FALSE(in_fn.conditional.empty());
  EXPECT_TRUE(in_fn.side_effect.empty());
  EXPECT_EQ(in_fn.functions, (std::vector<std::string>{"make"}));

  PhpFileInfo fx = ScanPhp("<?php\nnamespace A;\nrequire __DIR__.'/x.php';\nclass B {}\n");
  EXPECT_NE(fx.side_effect.find("require"), std::string::npos);
  EXPECT_NE(fx.side_effect.find("line 3"), std::string::npos);
  EXPECT_EQ(Names(fx), (std::vector<std::string>{"A\\B"}));

  PhpFileInfo decl = ScanPhp("<?php\ndeclare(strict_types=1);\nnamespace A;\nclass B {}\n");
  EXPECT_TRUE(decl.side_effect.empty());
}

TEST(PhpScanner, AutoloadHintsAndDeprecationsAreNotSideEffects) {
  PhpFileInfo info = ScanPhp(R"php(<?php
namespace A;
trigger_deprecation('pkg', '1.0', 'The "%s" class is deprecated.', B::class);
class_exists(Helper::class);
@trigger_error('old', \E_USER_DEPRECATED);
class B {}
)php");
  EXPECT_TRUE(info.side_effect.empty()) << info.side_effect;
  EXPECT_EQ(info.notes.size(), 3u);
  PhpFileInfo warn = ScanPhp("<?php\ntrigger_error('boom', E_USER_WARNING);\nclass B {}\n");
  EXPECT_FALSE(warn.side_effect.empty());
  PhpFileInfo call = ScanPhp("<?php\nclass_exists(make());\nclass B {}\n");
  EXPECT_FALSE(call.side_effect.empty());
}

TEST(PhpScanner, MethodSignatures) {
  PhpFileInfo info = ScanPhp(R"php(<?php
namespace S;
use Doctrine\DBAL\ParameterType;
class St {
  public function bindValue(string|int $param, mixed $value, ParameterType $type = ParameterType::STRING): void {}
  public static function &ref(array &$a, ?\Closure $c = null, $untyped = [1, 2], Foo&Bar $both = null) {}
  public function implicit(Thing $t = null, (A&B)|null $dnf = null): never {}
}
)php");
  const PhpClass* st = Find(info, "S\\St");
  ASSERT_NE(st, nullptr);
  ASSERT_EQ(st->methods.size(), 3u);
  const PhpMethod& bind = st->methods[0];
  EXPECT_EQ(bind.lname, "bindvalue");
  ASSERT_EQ(bind.params.size(), 3u);
  EXPECT_EQ(bind.params[0].type.atoms, (std::vector<std::string>{"string", "int"}));
  EXPECT_FALSE(bind.params[1].optional);
  EXPECT_TRUE(bind.params[2].optional);
  EXPECT_EQ(bind.params[2].type.atoms, (std::vector<std::string>{"Doctrine\\DBAL\\ParameterType"}));
  EXPECT_EQ(bind.ret.atoms, (std::vector<std::string>{"void"}));
  EXPECT_EQ(st->init_refs, (std::vector<std::string>{"Doctrine\\DBAL\\ParameterType"}));
  const PhpMethod& ref = st->methods[1];
  EXPECT_TRUE(ref.is_static);
  EXPECT_TRUE(ref.returns_ref);
  EXPECT_TRUE(ref.params[0].by_ref);
  EXPECT_EQ(ref.params[1].type.atoms, (std::vector<std::string>{"null", "Closure"}));
  EXPECT_FALSE(ref.params[2].type.present);
  EXPECT_TRUE(ref.params[3].type.intersection);
  EXPECT_FALSE(ref.ret.present);
  const PhpMethod& imp = st->methods[2];
  EXPECT_EQ(imp.params[0].type.atoms, (std::vector<std::string>{"S\\Thing", "null"}));
  EXPECT_EQ(imp.params[1].type.atoms, (std::vector<std::string>{"S\\A", "S\\B", "null"}));
}

TEST(PhpScanner, AnonymousClassDoesNotCountAsTopLevelStatement) {
  PhpFileInfo info = ScanPhp("<?php\nreturn new class { };\n");
  EXPECT_FALSE(info.side_effect.empty());  // `return` is a statement
  ASSERT_EQ(info.classes.size(), 1u);
  EXPECT_TRUE(info.classes[0].anonymous);
  EXPECT_TRUE(info.conditional.empty());
}

TEST(PhpScanner, HaltCompilerStopsScanning) {
  PhpFileInfo info =
      ScanPhp("<?php\nclass A {}\n__halt_compiler();\n<?php class B {} 'unterminated");
  EXPECT_EQ(Names(info), (std::vector<std::string>{"A"}));
}

}  // namespace
}  // namespace initkit::preload
