// PHP declaration scanner: what a file declares and what that depends on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/strings.h"

namespace initkit::preload {

/// A declared type, flattened: every atom of a union/intersection/DNF type.
/// Atoms are built-in type keywords in lower case ("int", "null", "self",
/// "static", "mixed", ...) or fully qualified class names without leading
/// backslash. `present` is false for an untyped parameter/return.
struct PhpType {
  bool present = false;
  bool intersection = false;  // a pure A&B type
  std::vector<std::string> atoms;
};

/// One parameter of a method.
struct PhpParam {
  PhpType type;
  bool optional = false;  // has a default value (or is variadic)
  bool by_ref = false;
  bool variadic = false;
};

/// One method of a class-like, with what inheritance checks compare.
struct PhpMethod {
  std::string name;   // as declared
  std::string lname;  // lower case
  std::vector<PhpParam> params;
  PhpType ret;
  bool returns_ref = false;
  bool is_static = false;
  bool is_abstract = false;
  bool is_private = false;
  int line = 0;
};

enum class ClassKind : uint8_t { kClass, kInterface, kTrait, kEnum };

/// A class, interface, trait or enum declaration (or an anonymous class).
struct PhpClass {
  ClassKind kind = ClassKind::kClass;
  std::string name;    // fully qualified, no leading backslash; "class@anonymous" for anonymous
  std::string parent;  // "" if none
  std::vector<std::string> interfaces;  // implements (classes/enums) or extends (interfaces)
  std::vector<std::string> traits;
  std::vector<PhpMethod> methods;
  /// Classes named in constant, property or parameter-default initialisers
  /// (Foo::BAR, new Foo) other than self/static/parent.
  std::vector<std::string> init_refs;
  bool anonymous = false;
  /// Declared inside a condition, function or other block: PHP declares it
  /// at run time only, so preloading never sees it.
  bool conditional = false;
  int line = 0;
};

/// What one PHP file holds, as far as preloading is concerned.
struct PhpFileInfo {
  std::vector<PhpClass> classes;       // top-level, conditional and anonymous
  std::vector<std::string> functions;  // top-level functions (fully qualified)
  /// First top-level statement that is not namespace/use/declare/class-like/
  /// function declaration (e.g. "require at line 12"); "" if none.
  std::string side_effect;
  /// First conditional declaration (e.g. "class Foo declared inside a block at line 3").
  std::string conditional;
  /// Top-level statements tolerated as harmless for preloading (autoload
  /// hints, deprecation notices), for the report.
  std::vector<std::string> notes;
  /// Lexer/scanner failure ("unterminated heredoc at line 9"); "" if fine.
  std::string error;
  /// Code PHP 8 refuses to compile (FindCompileError); "" if none was seen.
  std::string compile_error;
};

/// Scans PHP source text. Never fails hard: problems are reported in the
/// result (`error`), and what could be read before them is kept.
PhpFileInfo ScanPhp(std::string_view src);

/// True if `lname` (lower case) is a type keyword rather than a class name
/// in type position (int, string, self, static, mixed, iterable, ...).
bool IsBuiltinTypeKeyword(std::string_view lname);

}  // namespace initkit::preload
