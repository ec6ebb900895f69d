#include "tools/preload/php_lexer.h"

#include <algorithm>
#include <cstring>

namespace initkit::preload {

namespace {

bool IsIdentStart(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool IsIdentChar(unsigned char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool StartsWithCi(std::string_view s, size_t pos, std::string_view lit) {
  if (pos + lit.size() > s.size()) return false;
  for (size_t i = 0; i < lit.size(); ++i) {
    if (Lower(s[pos + i]) != lit[i]) return false;
  }
  return true;
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : s_(src) {}

  LexResult Run() {
    LexResult r;
    r.tokens.reserve(s_.size() / 6 + 16);
    LexInlineHtml(&r.tokens);
    while (error_.empty() && pos_ < s_.size()) {
      Token t;
      if (!Next(&t)) break;
      r.tokens.push_back(t);
      if (t.kind == TokKind::kCloseTag) LexInlineHtml(&r.tokens);
      if (t.IsKeyword("__halt_compiler")) {
        // Everything after "__halt_compiler();" is data, not PHP.
        while (Next(&t)) {
          r.tokens.push_back(t);
          if (t.Is(';') || t.kind == TokKind::kCloseTag) break;
        }
        break;
      }
    }
    r.tokens.push_back(Token{TokKind::kEnd, std::string_view(), static_cast<uint32_t>(s_.size())});
    r.error = error_;
    r.error_offset = error_offset_;
    return r;
  }

 private:
  void Fail(const char* what, size_t at) {
    if (error_.empty()) {
      error_ = what;
      error_offset_ = static_cast<uint32_t>(at);
    }
    pos_ = s_.size();
  }

  Token Make(TokKind k, size_t start) {
    return Token{k, s_.substr(start, pos_ - start), static_cast<uint32_t>(start)};
  }

  // Text up to the next open tag, then the open tag itself.
  void LexInlineHtml(std::vector<Token>* out) {
    size_t start = pos_;
    size_t p = pos_;
    while (true) {
      p = s_.find("<?", p);
      if (p == std::string_view::npos) {
        pos_ = s_.size();
        if (pos_ > start) out->push_back(Make(TokKind::kInlineHtml, start));
        return;
      }
      if (StartsWithCi(s_, p + 2, "php") &&
          (p + 5 == s_.size() || IsSpace(static_cast<unsigned char>(s_[p + 5])))) {
        if (p > start)
          out->push_back(Token{TokKind::kInlineHtml, s_.substr(start, p - start),
                               static_cast<uint32_t>(start)});
        pos_ = p + 5;
        // The open tag includes one whitespace character (a newline counts whole).
        if (pos_ < s_.size()) {
          if (s_[pos_] == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') {
            pos_ += 2;
          } else {
            ++pos_;
          }
        }
        out->push_back(Token{TokKind::kOpenTag, s_.substr(p, pos_ - p), static_cast<uint32_t>(p)});
        return;
      }
      if (p + 2 < s_.size() && s_[p + 2] == '=') {
        if (p > start)
          out->push_back(Token{TokKind::kInlineHtml, s_.substr(start, p - start),
                               static_cast<uint32_t>(start)});
        pos_ = p + 3;
        out->push_back(Token{TokKind::kOpenTagEcho, s_.substr(p, 3), static_cast<uint32_t>(p)});
        return;
      }
      p += 2;  // short open tags are off by default: plain text
    }
  }

  void SkipSpaceAndComments() {
    while (pos_ < s_.size()) {
      unsigned char c = s_[pos_];
      if (IsSpace(c)) {
        ++pos_;
      } else if (c == '#' && !(pos_ + 1 < s_.size() && s_[pos_ + 1] == '[')) {
        SkipLineComment();
      } else if (c == '/' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '/') {
        SkipLineComment();
      } else if (c == '/' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '*') {
        size_t end = s_.find("*/", pos_ + 2);
        if (end == std::string_view::npos) {
          // PHP accepts an unterminated comment at the end of the file.
          pos_ = s_.size();
          return;
        }
        pos_ = end + 2;
      } else {
        return;
      }
    }
  }

  // A line comment ends at the newline or before a closing tag.
  void SkipLineComment() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\n' || c == '\r') return;
      if (c == '?' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '>') return;
      ++pos_;
    }
  }

  bool Next(Token* t) {
    SkipSpaceAndComments();
    if (pos_ >= s_.size()) return false;
    size_t start = pos_;
    unsigned char c = s_[pos_];
    if (c == '?' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '>') {
      pos_ += 2;
      if (pos_ < s_.size() && s_[pos_] == '\n') {
        ++pos_;
      } else if (pos_ + 1 < s_.size() && s_[pos_] == '\r' && s_[pos_ + 1] == '\n') {
        pos_ += 2;
      }
      *t = Make(TokKind::kCloseTag, start);
      return true;
    }
    if (IsIdentStart(c) || (c == '\\' && pos_ + 1 < s_.size() &&
                            IsIdentStart(static_cast<unsigned char>(s_[pos_ + 1])))) {
      if (c == '\\') ++pos_;
      LexNameParts();
      *t = Make(TokKind::kName, start);
      return true;
    }
    if (c == '$' && pos_ + 1 < s_.size() &&
        IsIdentStart(static_cast<unsigned char>(s_[pos_ + 1]))) {
      ++pos_;
      while (pos_ < s_.size() && IsIdentChar(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      *t = Make(TokKind::kVariable, start);
      return true;
    }
    if (c >= '0' && c <= '9') {
      LexNumber();
      *t = Make(TokKind::kNumber, start);
      return true;
    }
    if (c == '.' && pos_ + 1 < s_.size() && s_[pos_ + 1] >= '0' && s_[pos_ + 1] <= '9') {
      LexNumber();
      *t = Make(TokKind::kNumber, start);
      return true;
    }
    if (c == '\'') {
      LexSingleQuoted();
      *t = Make(TokKind::kString, start);
      return true;
    }
    if (c == '"' || c == '`') {
      LexInterpolated(static_cast<char>(c));
      *t = Make(TokKind::kString, start);
      return true;
    }
    if (c == '<' && n1_is(pos_, '<') && n1_is(pos_ + 1, '<') && LexHeredoc()) {
      *t = Make(TokKind::kString, start);
      return true;
    }
    if (c == '#') {  // only "#[" gets here
      pos_ += 2;
      *t = Make(TokKind::kAttrOpen, start);
      return true;
    }
    // Multi-character operators the scanner distinguishes:
    // ?-> ... :: -> => && || ??
    char n1 = pos_ + 1 < s_.size() ? s_[pos_ + 1] : '\0';
    size_t len = 1;
    switch (c) {
      case '?':
        if (n1 == '-' && pos_ + 2 < s_.size() && s_[pos_ + 2] == '>') {
          len = 3;
        } else if (n1 == '?') {
          len = 2;
        }
        break;
      case '.':
        if (n1 == '.' && pos_ + 2 < s_.size() && s_[pos_ + 2] == '.') len = 3;
        break;
      case ':':
        if (n1 == ':') len = 2;
        break;
      case '-':
      case '=':
        if (n1 == '>') len = 2;
        break;
      case '&':
      case '|':
        if (n1 == static_cast<char>(c)) len = 2;
        break;
      default:
        break;
    }
    if (len > 1) {
      pos_ += len;
      *t = Make(TokKind::kPunct, start);
      return true;
    }
    ++pos_;
    *t = Make(TokKind::kPunct, start);
    return true;
  }

  bool n1_is(size_t at, char ch) const { return at + 1 < s_.size() && s_[at + 1] == ch; }

  // identifier(\identifier)* starting at pos_ (an identifier start).
  void LexNameParts() {
    while (true) {
      while (pos_ < s_.size() && IsIdentChar(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      if (pos_ + 1 < s_.size() && s_[pos_] == '\\' &&
          IsIdentStart(static_cast<unsigned char>(s_[pos_ + 1]))) {
        ++pos_;
        continue;
      }
      return;
    }
  }

  void LexNumber() {
    while (pos_ < s_.size()) {
      unsigned char c = s_[pos_];
      if (IsIdentChar(c)) {
        ++pos_;
      } else if (c == '.' && !(pos_ + 1 < s_.size() && s_[pos_ + 1] == '.')) {
        ++pos_;
      } else if ((c == '+' || c == '-') && (Lower(s_[pos_ - 1]) == 'e') &&
                 !(s_[pos_ - 2] == '0' && Lower(s_[pos_ - 1]) == 'x')) {
        ++pos_;
      } else {
        return;
      }
    }
  }

  void LexSingleQuoted() {
    size_t start = pos_;
    ++pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\\') {
        pos_ += 2;
      } else if (c == '\'') {
        ++pos_;
        return;
      } else {
        ++pos_;
      }
    }
    Fail("unterminated single-quoted string", start);
  }

  // Skips PHP code from pos_ up to and including the '}' that closes an
  // interpolation ("{$...}" or "${...}"); nested strings are lexed whole.
  void SkipInterpolation(size_t at) {
    int depth = 1;
    Token t;
    while (error_.empty()) {
      if (!Next(&t)) {
        Fail("unterminated interpolation in a string", at);
        return;
      }
      if (t.kind != TokKind::kPunct) continue;
      if (t.text == "{") {
        ++depth;
      } else if (t.text == "}") {
        if (--depth == 0) return;
      }
    }
  }

  // Handles "\x", "{$" and "${" at pos_ inside an interpolating string or
  // heredoc; returns false when pos_ is at an ordinary character.
  bool LexEscapeOrInterpolation() {
    char c = s_[pos_];
    if (c == '\\') {
      pos_ += 2;
      return true;
    }
    if (c == '{' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '$') {
      size_t at = pos_;
      ++pos_;
      SkipInterpolation(at);
      return true;
    }
    if (c == '$' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '{') {
      size_t at = pos_;
      pos_ += 2;
      SkipInterpolation(at);
      return true;
    }
    return false;
  }

  void LexInterpolated(char quote) {
    size_t start = pos_;
    ++pos_;
    while (pos_ < s_.size() && error_.empty()) {
      if (s_[pos_] == quote) {
        ++pos_;
        return;
      }
      if (!LexEscapeOrInterpolation()) ++pos_;
    }
    Fail(quote == '"' ? "unterminated double-quoted string" : "unterminated backtick string",
         start);
  }

  // <<<ID, <<<"ID" or <<<'ID' (nowdoc), ended by ID on a line of its own
  // after optional indentation (PHP 7.3 flexible syntax: ID may be followed
  // by any non-identifier character). Returns false if "<<<" is no heredoc.
  bool LexHeredoc() {
    size_t start = pos_;
    size_t p = pos_ + 3;
    while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t')) ++p;
    char quote = 0;
    if (p < s_.size() && (s_[p] == '"' || s_[p] == '\'')) quote = s_[p++];
    size_t id_start = p;
    if (p >= s_.size() || !IsIdentStart(static_cast<unsigned char>(s_[p]))) return false;
    while (p < s_.size() && IsIdentChar(static_cast<unsigned char>(s_[p]))) ++p;
    std::string_view id = s_.substr(id_start, p - id_start);
    if (quote) {
      if (p >= s_.size() || s_[p] != quote) return false;
      ++p;
    }
    if (p < s_.size() && s_[p] == '\r') ++p;
    if (p >= s_.size() || s_[p] != '\n') return false;
    pos_ = p + 1;
    bool nowdoc = quote == '\'';
    bool line_start = true;
    while (pos_ < s_.size() && error_.empty()) {
      if (line_start) {
        size_t q = pos_;
        while (q < s_.size() && (s_[q] == ' ' || s_[q] == '\t')) ++q;
        if (s_.compare(q, id.size(), id) == 0 &&
            (q + id.size() >= s_.size() ||
             !IsIdentChar(static_cast<unsigned char>(s_[q + id.size()])))) {
          pos_ = q + id.size();
          return true;
        }
        line_start = false;
      }
      char c = s_[pos_];
      if (c == '\n') {
        ++pos_;
        line_start = true;
        continue;
      }
      if (nowdoc || !LexEscapeOrInterpolation()) {
        ++pos_;
      } else if (pos_ > 0 && s_[pos_ - 1] == '\n') {
        // An escape like "\<newline>" or an interpolation that ended at a
        // line end: the next line may still be the terminator.
        line_start = true;
      }
    }
    Fail("unterminated heredoc", start);
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
  uint32_t error_offset_ = 0;
};

}  // namespace

bool Token::IsKeyword(std::string_view kw) const {
  if (kind != TokKind::kName || text.size() != kw.size()) return false;
  for (size_t i = 0; i < kw.size(); ++i) {
    if (Lower(text[i]) != kw[i]) return false;
  }
  return true;
}

LexResult LexPhp(std::string_view src) { return Lexer(src).Run(); }

int LineOf(std::string_view src, uint32_t offset) {
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(src.size()));
  return 1 + static_cast<int>(std::count(src.begin(), src.begin() + offset, '\n'));
}

}  // namespace initkit::preload
