// PhpLexer: splits PHP source into tokens (one tokenizer for every PHP reader:
// the preload declaration scanner, Composer maps, cron-gate's version files).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace initkit::php {

/// The kinds of token the scanner distinguishes. Comments and whitespace are
/// dropped; every string form (quoted, heredoc, nowdoc, backtick) is one
/// kString token whatever it interpolates.
enum class TokKind : uint8_t {
  kInlineHtml,   // text outside <?php ... ?>
  kOpenTag,      // <?php
  kOpenTagEcho,  // <?=
  kCloseTag,     // ?> (and the one newline after it)
  kName,         // identifier, keyword or (qualified) name: Foo, \Foo\Bar, namespace\Baz
  kVariable,     // $name
  kString,       // any string literal
  kNumber,
  kAttrOpen,  // #[
  kPunct,     // operators and punctuation: one char, or :: -> ?-> => ... && || ??
  kEnd,
};

/// What the scanner's code-skipping loops need to know of a token, worked
/// out once by the lexer (bits).
enum TokRole : uint8_t {
  kRoleOpen = 1,      // ( [ { and #[
  kRoleClose = 2,     // ) ] }
  kRoleDeclWord = 4,  // new, class, interface, trait, enum, abstract, final, readonly (any case)
};

/// One token: a view into the source it was lexed from. (Field order keeps
/// it at 24 bytes: files have tens of thousands of tokens.)
struct Token {
  std::string_view text;
  uint32_t offset;
  TokKind kind;
  uint8_t role = 0;  // TokRole bits

  bool Is(char c) const { return kind == TokKind::kPunct && text.size() == 1 && text[0] == c; }
  bool IsPunct(std::string_view p) const { return kind == TokKind::kPunct && text == p; }
  /// Case-insensitive keyword test for kName tokens (`kw` is lower case).
  bool IsKeyword(std::string_view kw) const;
};

/// Result of lexing one file. `error` is empty on success; on an error
/// (unterminated string, comment or heredoc) `tokens` holds what came before.
struct LexResult {
  std::vector<Token> tokens;  // always ends with a kEnd token
  std::string error;
  uint32_t error_offset = 0;
};

/// Lexes `src` the way PHP 8's lexer would for declaration purposes. The
/// returned tokens point into `src`, which must outlive them.
LexResult LexPhp(std::string_view src);

/// The same into `*out`, reusing its token buffer: a scanning thread lexes
/// thousands of files, and a fresh buffer per file costs page faults.
void LexPhp(std::string_view src, LexResult* out);

/// 1-based line number of byte `offset` in `src`.
int LineOf(std::string_view src, uint32_t offset);

/// The value of a single- or double-quoted kString token `literal` (quotes
/// included) whose text interpolates nothing: \\ and the quote character
/// are unescaped (and \$ in double quotes); other escapes stay as written,
/// which is all Composer's maps and version files use.
std::string LiteralValue(std::string_view literal);

}  // namespace initkit::php
