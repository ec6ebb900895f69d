#include "common/php_lexer.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace initkit::php {

namespace {

// Character classes by table: the lexer looks at every byte of every file,
// and one load beats a chain of range compares.
enum : uint8_t { kIdStart = 1, kIdChar = 2, kSpaceChar = 4 };
constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80) {
      t[c] |= kIdStart | kIdChar;
    }
    if (c >= '0' && c <= '9') t[c] |= kIdChar;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      t[c] |= kSpaceChar;
    }
  }
  return t;
}
constexpr std::array<uint8_t, 256> kClasses = MakeClasses();

bool IsIdentStart(unsigned char c) { return kClasses[c] & kIdStart; }
bool IsIdentChar(unsigned char c) { return kClasses[c] & kIdChar; }
bool IsSpace(unsigned char c) { return kClasses[c] & kSpaceChar; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsCi(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < lower.size(); ++i) {
    if (Lower(text[i]) != lower[i]) return false;
  }
  return true;
}

// Roles of one-character punctuation.
constexpr std::array<uint8_t, 256> MakePunctRoles() {
  std::array<uint8_t, 256> t{};
  for (char c : {'(', '[', '{'}) t[static_cast<unsigned char>(c)] = kRoleOpen;
  for (char c : {')', ']', '}'}) t[static_cast<unsigned char>(c)] = kRoleClose;
  return t;
}
constexpr std::array<uint8_t, 256> kPunctRoles = MakePunctRoles();

uint8_t NameRole(std::string_view name) {
  bool decl = false;
  switch (name.size()) {
    case 3:
      decl = EqualsCi(name, "new");
      break;
    case 4:
      decl = EqualsCi(name, "enum");
      break;
    case 5:
      decl = EqualsCi(name, "class") || EqualsCi(name, "trait") || EqualsCi(name, "final");
      break;
    case 8:
      decl = EqualsCi(name, "abstract") || EqualsCi(name, "readonly");
      break;
    case 9:
      decl = EqualsCi(name, "interface");
      break;
    default:
      break;
  }
  return decl ? kRoleDeclWord : 0;
}

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

  void Run(LexResult* r) {
    std::vector<Token>& tokens = r->tokens;
    tokens.clear();
    tokens.reserve(s_.size() / 6 + 16);
    LexInlineHtml(&tokens);
    while (error_.empty() && pos_ < s_.size()) {
      size_t start = 0;
      TokKind k = NextKind(&start);
      if (k == TokKind::kEnd) break;
      std::string_view text = s_.substr(start, pos_ - start);
      tokens.push_back(Token{text, static_cast<uint32_t>(start), k, role_});
      if (k == TokKind::kCloseTag) {
        LexInlineHtml(&tokens);
      } else if (k == TokKind::kName && tokens.back().IsKeyword("__halt_compiler")) {
        // Everything after "__halt_compiler();" is data, not PHP.
        Token t;
        while (Next(&t)) {
          tokens.push_back(t);
          if (t.Is(';') || t.kind == TokKind::kCloseTag) break;
        }
        break;
      }
    }
    tokens.push_back(Token{std::string_view(), static_cast<uint32_t>(s_.size()), TokKind::kEnd});
    r->error = error_;
    r->error_offset = error_offset_;
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
    std::string_view text = s_.substr(start, pos_ - start);
    return Token{text, static_cast<uint32_t>(start), k, role_};
  }

  // Text up to the next open tag, then the open tag itself.
  void LexInlineHtml(std::vector<Token>* out) {
    size_t start = pos_;
    size_t p = pos_;
    while (true) {
      p = s_.find("<?", p);
      if (p == std::string_view::npos) {
        pos_ = s_.size();
        if (pos_ > start) {
          out->push_back(Token{s_.substr(start, pos_ - start), static_cast<uint32_t>(start),
                               TokKind::kInlineHtml});
        }
        return;
      }
      if (StartsWithCi(s_, p + 2, "php") &&
          (p + 5 == s_.size() || IsSpace(static_cast<unsigned char>(s_[p + 5])))) {
        if (p > start) {
          out->push_back(Token{s_.substr(start, p - start), static_cast<uint32_t>(start),
                               TokKind::kInlineHtml});
        }
        pos_ = p + 5;
        // The open tag includes one whitespace character (a newline counts whole).
        if (pos_ < s_.size()) {
          if (s_[pos_] == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') {
            pos_ += 2;
          } else {
            ++pos_;
          }
        }
        out->push_back(Token{s_.substr(p, pos_ - p), static_cast<uint32_t>(p), TokKind::kOpenTag});
        return;
      }
      if (p + 2 < s_.size() && s_[p + 2] == '=') {
        if (p > start) {
          out->push_back(Token{s_.substr(start, p - start), static_cast<uint32_t>(start),
                               TokKind::kInlineHtml});
        }
        pos_ = p + 3;
        out->push_back(Token{s_.substr(p, 3), static_cast<uint32_t>(p), TokKind::kOpenTagEcho});
        return;
      }
      p += 2;  // short open tags are off by default: plain text
    }
  }

  // The loops below work on local copies of the position: a member stored
  // back on every byte costs a memory write per byte.
  void SkipSpaceAndComments() {
    const char* d = s_.data();
    size_t n = s_.size();
    size_t i = pos_;
    while (i < n) {
      unsigned char c = d[i];
      if (c == ' ') {
        i = SpacesEnd(i);
      } else if (IsSpace(c)) {
        ++i;
      } else if ((c == '#' && !(i + 1 < n && d[i + 1] == '[')) ||  // not an attribute
                 (c == '/' && i + 1 < n && d[i + 1] == '/')) {
        i = LineCommentEnd(i);
      } else if (c == '/' && i + 1 < n && d[i + 1] == '*') {
        i = BlockCommentEnd(i);
      } else {
        break;
      }
    }
    pos_ = i;
  }

  // End of the run of ' ' starting at `i`, eight bytes at a time:
  // indentation is the most common byte sequence in PHP source.
  size_t SpacesEnd(size_t i) const {
    const char* d = s_.data();
    size_t n = s_.size();
    constexpr uint64_t kSpaces = 0x2020202020202020ull;
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, d + i, 8);
      w ^= kSpaces;  // zero bytes are spaces
      if (w != 0) {
        if constexpr (std::endian::native == std::endian::little) {
          return i + static_cast<size_t>(std::countr_zero(w)) / 8;
        } else {
          return i + static_cast<size_t>(std::countl_zero(w)) / 8;
        }
      }
      i += 8;
    }
    while (i < n && d[i] == ' ') ++i;
    return i;
  }

  // Just past the "*/" closing the comment opened at `i` ("/*/" does not
  // close it). Doc blocks are much of a PHP file, and every line of one has
  // a '*': memchr looks for the rarer '/'. PHP accepts an unterminated
  // comment at the end of the file.
  size_t BlockCommentEnd(size_t i) const {
    const char* d = s_.data();
    size_t n = s_.size();
    for (size_t from = i + 3; from < n;) {
      const void* slash = std::memchr(d + from, '/', n - from);
      if (slash == nullptr) break;
      size_t at = static_cast<size_t>(static_cast<const char*>(slash) - d);
      if (d[at - 1] == '*') return at + 1;
      from = at + 1;
    }
    return n;
  }

  // A line comment ends at the newline or before a closing tag.
  size_t LineCommentEnd(size_t i) const {
    const char* d = s_.data();
    size_t n = s_.size();
    for (; i < n; ++i) {
      char c = d[i];
      if (c == '\n' || c == '\r') return i;
      if (c == '?' && i + 1 < n && d[i + 1] == '>') return i;
    }
    return n;
  }

  // The kind of the next token, whose text is s_[*start, pos_), or kEnd at
  // the end of the input. Run stores it straight into the token vector: a
  // Token written field by field and then copied whole stalls the CPU's
  // store forwarding, which cost a tenth of the lexing time.
  TokKind NextKind(size_t* start_out) {
    SkipSpaceAndComments();
    if (pos_ >= s_.size()) return TokKind::kEnd;
    role_ = 0;
    size_t start = pos_;
    *start_out = start;
    unsigned char c = s_[pos_];
    if (c == '?' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '>') {
      pos_ += 2;
      if (pos_ < s_.size() && s_[pos_] == '\n') {
        ++pos_;
      } else if (pos_ + 1 < s_.size() && s_[pos_] == '\r' && s_[pos_ + 1] == '\n') {
        pos_ += 2;
      }
      return TokKind::kCloseTag;
    }
    if (IsIdentStart(c) || (c == '\\' && pos_ + 1 < s_.size() &&
                            IsIdentStart(static_cast<unsigned char>(s_[pos_ + 1])))) {
      if (c == '\\') ++pos_;
      LexNameParts();
      role_ = NameRole(s_.substr(start, pos_ - start));
      return TokKind::kName;
    }
    if (c == '$' && pos_ + 1 < s_.size() &&
        IsIdentStart(static_cast<unsigned char>(s_[pos_ + 1]))) {
      pos_ = IdentEnd(pos_ + 1);
      return TokKind::kVariable;
    }
    if (c >= '0' && c <= '9') {
      LexNumber();
      return TokKind::kNumber;
    }
    if (c == '.' && pos_ + 1 < s_.size() && s_[pos_ + 1] >= '0' && s_[pos_ + 1] <= '9') {
      LexNumber();
      return TokKind::kNumber;
    }
    if (c == '\'') {
      LexSingleQuoted();
      return TokKind::kString;
    }
    if (c == '"' || c == '`') {
      LexInterpolated(static_cast<char>(c));
      role_ = 0;  // lexing an interpolation set it
      return TokKind::kString;
    }
    if (c == '<' && n1_is(pos_, '<') && n1_is(pos_ + 1, '<') && LexHeredoc()) {
      role_ = 0;
      return TokKind::kString;
    }
    if (c == '#') {  // only "#[" gets here
      pos_ += 2;
      role_ = kRoleOpen;
      return TokKind::kAttrOpen;
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
      return TokKind::kPunct;
    }
    ++pos_;
    role_ = kPunctRoles[c];
    return TokKind::kPunct;
  }

  bool Next(Token* t) {
    size_t start = 0;
    TokKind k = NextKind(&start);
    if (k == TokKind::kEnd) return false;
    *t = Make(k, start);
    return true;
  }

  bool n1_is(size_t at, char ch) const { return at + 1 < s_.size() && s_[at + 1] == ch; }

  // End of the run of identifier characters starting at `i`.
  size_t IdentEnd(size_t i) const {
    const char* d = s_.data();
    size_t n = s_.size();
    while (i < n && IsIdentChar(static_cast<unsigned char>(d[i]))) ++i;
    return i;
  }

  // identifier(\identifier)* starting at pos_ (an identifier start).
  void LexNameParts() {
    const char* d = s_.data();
    size_t n = s_.size();
    size_t i = IdentEnd(pos_);
    while (i + 1 < n && d[i] == '\\' && IsIdentStart(static_cast<unsigned char>(d[i + 1]))) {
      i = IdentEnd(i + 1);
    }
    pos_ = i;
  }

  void LexNumber() {
    while (pos_ < s_.size()) {
      unsigned char c = s_[pos_];
      bool part = IsIdentChar(c) ||
                  (c == '.' && !(pos_ + 1 < s_.size() && s_[pos_ + 1] == '.')) ||  // 1.5, not 1..
                  ((c == '+' || c == '-') && (Lower(s_[pos_ - 1]) == 'e') &&  // 1e+5, not 0xe+5
                   !(s_[pos_ - 2] == '0' && Lower(s_[pos_ - 1]) == 'x'));
      if (!part) return;
      ++pos_;
    }
  }

  void LexSingleQuoted() {
    const char* d = s_.data();
    size_t n = s_.size();
    size_t start = pos_;
    size_t i = pos_ + 1;
    while (i < n) {
      char c = d[i];
      if (c == '\\') {
        i += 2;
      } else if (c == '\'') {
        pos_ = i + 1;
        return;
      } else {
        ++i;
      }
    }
    pos_ = i;
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
      pos_ += pos_ + 1 < s_.size() ? 2 : 1;  // never past the end (a final lone '\\')
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
    const char* d = s_.data();
    size_t n = s_.size();
    size_t start = pos_;
    ++pos_;
    while (pos_ < n && error_.empty()) {
      // Plain characters in a local loop; the others one at a time.
      size_t i = pos_;
      while (i < n && d[i] != quote && d[i] != '\\' && d[i] != '{' && d[i] != '$') ++i;
      pos_ = i;
      if (i >= n) break;
      if (d[i] == quote) {
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
  uint8_t role_ = 0;  // the TokRole of the token NextKind returned
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

LexResult LexPhp(std::string_view src) {
  LexResult r;
  Lexer(src).Run(&r);
  return r;
}

void LexPhp(std::string_view src, LexResult* out) { Lexer(src).Run(out); }

std::string LiteralValue(std::string_view lit) {
  std::string out;
  if (lit.size() < 2) return out;
  char q = lit[0];
  std::string_view body = lit.substr(1, lit.size() - 2);
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\\' && i + 1 < body.size()) {
      char n = body[i + 1];
      if (n == '\\' || n == q || (q == '"' && n == '$')) {
        out += n;
        ++i;
        continue;
      }
    }
    out += c;
  }
  return out;
}

int LineOf(std::string_view src, uint32_t offset) {
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(src.size()));
  return 1 + static_cast<int>(std::count(src.begin(), src.begin() + offset, '\n'));
}

}  // namespace initkit::php
