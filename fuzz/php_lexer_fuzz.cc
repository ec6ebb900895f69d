// The PHP tokenizer: tokens are in order, inside the source, never empty
// (but the end marker), and the list always ends with exactly one kEnd; the
// buffer-reusing LexPhp overload agrees with the plain one.
#include "common/php_lexer.h"
#include "fuzz/fuzz_target.h"

using initkit::php::TokKind;

INITKIT_FUZZ_TARGET(php_lexer) {
  initkit::php::LexResult r = initkit::php::LexPhp(input);
  FUZZ_CHECK(!r.tokens.empty() && r.tokens.back().kind == TokKind::kEnd, "no final kEnd");
  uint32_t prev_end = 0;
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    const initkit::php::Token& t = r.tokens[i];
    if (t.kind == TokKind::kEnd) {
      FUZZ_CHECK(i + 1 == r.tokens.size(), "kEnd before the end");
      break;
    }
    FUZZ_CHECK(!t.text.empty(), "empty token at offset " + std::to_string(t.offset));
    FUZZ_CHECK(t.text.data() >= input.data() &&
                   t.text.data() + t.text.size() <= input.data() + input.size(),
               "token outside the source");
    FUZZ_CHECK(t.offset == static_cast<uint32_t>(t.text.data() - input.data()),
               "offset does not match the token's text");
    FUZZ_CHECK(t.offset >= prev_end, "tokens overlap or go backwards");
    prev_end = t.offset + static_cast<uint32_t>(t.text.size());
  }
  if (!r.error.empty()) FUZZ_CHECK(r.error_offset <= input.size(), "error offset past the end");
  // The buffer-reusing form (one LexResult per scanning thread) must give
  // exactly what a fresh lex gives, whatever the previous input left in it.
  static initkit::php::LexResult reused;
  initkit::php::LexPhp(input, &reused);
  FUZZ_CHECK(reused.error == r.error && reused.error_offset == r.error_offset &&
                 reused.tokens.size() == r.tokens.size(),
             "reused buffer lexes differently");
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    const auto& a = r.tokens[i];
    const auto& b = reused.tokens[i];
    FUZZ_CHECK(a.kind == b.kind && a.offset == b.offset && a.text.data() == b.text.data() &&
                   a.text.size() == b.text.size(),
               "reused buffer token " + std::to_string(i) + " differs");
  }
  int line = initkit::php::LineOf(input, static_cast<uint32_t>(input.size()));
  FUZZ_CHECK(line >= 1 && static_cast<size_t>(line) <= input.size() + 1, "line number");
}
