// Constructs that PHP 8 refuses when it compiles a file, found from tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/php_lexer.h"

namespace initkit::preload {

/// Looks through the tokens of one file (lexed from `src`) for code that
/// PHP 8.0-8.3 stops on at compile time: opcache_compile_file() in a preload
/// script then ends PHP's start with a fatal error, so such a file must never
/// be listed. Returns "" when none is found, else a sentence naming the
/// construct, the PHP version that removed it and the line, e.g.
/// "array/string offset with curly braces ($a{0}; removed in PHP 8.0) at line 48".
///
/// Found: curly-brace offsets after a variable, ']', a property or constant
/// name, a string literal or a call; the (real) and (unset) casts;
/// unparenthesised nested ternaries (`a ? b : c ? d : e`, and the forms
/// mixing `?:`); declaring __autoload() in the global namespace or assert()
/// anywhere; 'mixed' / 'never' as a class-like name; writing $GLOBALS as a
/// whole; "parent" in a class without a parent or in a named function
/// outside any class. A tokenizer cannot see every compile error (plain
/// syntax errors, for one): --verify-with catches the rest.
std::string FindCompileError(std::string_view src, const std::vector<php::Token>& tokens);

}  // namespace initkit::preload
