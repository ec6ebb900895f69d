#include "tools/preload/compile_check.h"

#include <array>
#include <optional>

namespace initkit::preload {

namespace {

using php::Token;
using php::TokKind;

// Per bracket level: what the level is and where a ternary on it stands.
struct Frame {
  char open = 0;             // '(' '[' '{' or 'A' (an attribute's "#[")
  bool block_paren = false;  // '(' of if/while/.../a declaration: ") {" opens a body
  int pending = 0;           // '?' still waiting for their ':'
  bool completed = false;    // a whole ternary ends just before here
  bool completed_short = false;
  bool outer_short = false;  // the outermost pending one is "?:"

  void ResetTernary() {
    pending = 0;
    completed = false;
  }
};

// Class, trait, named function or closure bodies, for "parent".
struct Scope {
  enum Kind { kClass, kTrait, kFunction, kClosure } kind;
  size_t depth;  // frames.size() just after its '{'
  bool has_parent = false;
};

bool AnyOf(const Token& t, std::initializer_list<std::string_view> words) {
  for (std::string_view w : words) {
    if (t.IsKeyword(w)) return true;
  }
  return false;
}

class Checker {
 public:
  Checker(std::string_view src, const std::vector<Token>& t) : src_(src), t_(t) {}

  std::string Run() {
    frames_.push_back(Frame{});
    for (i_ = 0; i_ < t_.size() && error_.empty(); ++i_) Step();
    return error_;
  }

 private:
  const Token& At(size_t k) const {
    static const Token kNone{std::string_view(), 0, TokKind::kEnd};
    return k < t_.size() ? t_[k] : kNone;
  }
  const Token& Prev(size_t back = 1) const { return i_ >= back ? t_[i_ - back] : At(t_.size()); }
  const Token& Next(size_t ahead = 1) const { return At(i_ + ahead); }

  void Fail(const std::string& what, const Token& at) {
    if (error_.empty()) {
      error_ = what + " at line " + std::to_string(php::LineOf(src_, at.offset));
    }
  }

  static bool IsMemberAccess(const Token& t) {
    return t.IsPunct("->") || t.IsPunct("?->") || t.IsPunct("::");
  }

  // "(real)" / "(unset)": the lexer PHP uses takes "(" spaces word spaces ")"
  // as one cast token wherever it appears.
  void CheckCast() {
    const Token& word = Next();
    if (word.kind != TokKind::kName || !Next(2).Is(')')) return;
    bool real = word.IsKeyword("real");
    if (!real && !word.IsKeyword("unset")) return;
    for (uint32_t p = At(i_).offset + 1; p < Next(2).offset; ++p) {
      char c = src_[p];
      bool in_word = p >= word.offset && p < word.offset + word.text.size();
      if (!in_word && c != ' ' && c != '\t') return;
    }
    Fail(real ? "the (real) cast (removed in PHP 8.0; use (float))"
              : "the (unset) cast (removed in PHP 8.0)",
         At(i_));
  }

  // An '=' that assigns (not part of ==, !=, <=, >=, ===).
  bool IsAssignment(const Token& t) const {
    if (!t.Is('=')) return false;
    uint32_t p = t.offset;
    if (p + 1 < src_.size() && src_[p + 1] == '=') return false;
    if (p == 0) return true;
    char b = src_[p - 1];
    if (b == '=' || b == '!') return false;
    if ((b == '<' || b == '>') && !(p >= 2 && src_[p - 2] == b)) return false;  // <= but <<=
    return true;
  }

  void OpenFrame(char kind) {
    Frame f;
    f.open = kind;
    if (kind == '(') {
      // ") {" opens a body after these; after anything else ") {" is an offset.
      const Token& p = Prev();
      f.block_paren =
          AnyOf(p, {"if", "elseif", "while", "for", "foreach", "switch", "catch", "declare",
                    "match", "use", "function", "fn", "class", "set"}) ||
          (p.kind == TokKind::kName &&
           (Prev(2).IsKeyword("function") || (Prev(2).Is('&') && Prev(3).IsKeyword("function")))) ||
          (p.Is('&') && (Prev(2).IsKeyword("function") || Prev(2).IsKeyword("fn")));
    }
    if (kind == '{') {
      frames_.back().ResetTernary();
      if (pending_scope_) {
        Scope s = *pending_scope_;
        s.depth = frames_.size() + 1;
        scopes_.push_back(s);
        pending_scope_.reset();
      }
    }
    frames_.push_back(f);
  }

  void CloseFrame() {
    if (frames_.size() <= 1) return;  // unbalanced: PHP will say so, not us
    if (!scopes_.empty() && scopes_.back().depth == frames_.size()) scopes_.pop_back();
    char open = frames_.back().open;
    frames_.pop_back();
    if (open == '{') frames_.back().ResetTernary();
  }

  // Curly offsets: "{" right after something PHP could index.
  void CheckCurlyOffset() {
    const Token& p = Prev();
    bool offset = false;
    if (p.kind == TokKind::kVariable) {
      // "public int $x {" is a property hook (PHP 8.4), not an offset.
      const Token& pp = Prev(2);
      offset = pp.kind != TokKind::kName ||
               AnyOf(pp, {"return", "echo", "print", "yield", "throw", "case", "and", "or", "xor",
                          "clone", "include", "include_once", "require", "require_once", "else"});
    } else if (p.kind == TokKind::kString) {
      offset = p.text.front() == '\'' || p.text.front() == '"';
    } else if (p.kind == TokKind::kName) {
      offset = IsMemberAccess(Prev(2)) && !p.IsKeyword("class");
    } else if (p.Is(']')) {
      offset = last_closed_ == '[';
    } else if (p.Is(')')) {
      offset = last_closed_ == '(' && !last_closed_block_;
    }
    if (offset) {
      Fail("array/string offset with curly braces ($a{0}; removed in PHP 8.0, use $a[0])", At(i_));
    }
  }

  void Question() {
    Frame& f = frames_.back();
    bool is_short = Next().Is(':');
    if (f.pending == 0) {
      if (f.completed && !(f.completed_short && is_short)) {
        Fail(std::string("a nested ternary without parentheses (") +
                 (f.completed_short ? "a ?: b ? c : d"
                  : is_short        ? "a ? b : c ?: d"
                                    : "a ? b : c ? d : e") +
                 "; removed in PHP 8.0)",
             At(i_));
        return;
      }
      f.outer_short = is_short;
    }
    ++f.pending;
  }

  void Colon() {
    Frame& f = frames_.back();
    if (f.pending == 0) return;  // a label, case, named argument, return type, alt syntax
    if (--f.pending == 0) {
      f.completed = true;
      f.completed_short = f.outer_short;
    }
  }

  // A class-like keyword that declares: remembers the scope its '{' opens
  // and checks the name.
  void ClassLike(const Token& kw) {
    if (IsMemberAccess(Prev())) return;
    const Token& name = Next();
    bool anonymous = kw.IsKeyword("class") && Prev().IsKeyword("new");
    if (!anonymous && name.kind != TokKind::kName) return;
    if (kw.IsKeyword("enum") &&
        !(Next(2).Is('{') || Next(2).Is(':') || Next(2).IsKeyword("implements"))) {
      return;  // "enum" used as an ordinary name
    }
    if (!anonymous) {
      static constexpr std::array<std::pair<std::string_view, const char*>, 12> kReserved = {
          {{"mixed", "8.0"},
           {"never", "8.1"},
           {"int", "7.0"},
           {"float", "7.0"},
           {"bool", "7.0"},
           {"string", "7.0"},
           {"true", "7.0"},
           {"false", "7.0"},
           {"null", "7.0"},
           {"void", "7.1"},
           {"iterable", "7.1"},
           {"object", "7.2"}}};
      for (const auto& [word, version] : kReserved) {
        if (name.IsKeyword(word)) {
          Fail("'" + std::string(name.text) + "' as a class name (reserved since PHP " + version +
                   ")",
               name);
          return;
        }
      }
    }
    Scope s{kw.IsKeyword("trait") ? Scope::kTrait : Scope::kClass, 0, false};
    // "extends" before the body (interfaces extend interfaces: no "parent").
    if (kw.IsKeyword("class")) {
      for (size_t k = i_ + 1; k < t_.size() && k < i_ + 64; ++k) {
        if (t_[k].Is('{') || t_[k].Is(';')) break;
        if (t_[k].IsKeyword("extends")) {
          s.has_parent = true;
          break;
        }
      }
    }
    pending_scope_ = s;
  }

  void Function(const Token& kw) {
    if (IsMemberAccess(Prev()) || Prev().IsKeyword("use")) return;
    size_t k = i_ + 1;
    if (At(k).Is('&')) ++k;
    const Token& name = At(k);
    bool in_class = !scopes_.empty() && scopes_.back().depth == frames_.size() &&
                    (scopes_.back().kind == Scope::kClass || scopes_.back().kind == Scope::kTrait);
    if (kw.IsKeyword("fn") || name.Is('(')) {
      pending_scope_ = Scope{Scope::kClosure, 0, false};
      return;
    }
    if (name.kind != TokKind::kName) return;
    if (!in_class) {
      if (name.IsKeyword("__autoload") && !in_namespace_) {
        Fail("declaring __autoload() (removed in PHP 8.0; use spl_autoload_register())", name);
        return;
      }
      if (name.IsKeyword("assert")) {
        Fail("declaring a function named assert() (refused since PHP 8.0)", name);
        return;
      }
    }
    pending_scope_ = Scope{Scope::kFunction, 0, false};
  }

  void Parent(const Token& t) {
    if (!Next().IsPunct("::") || IsMemberAccess(Prev())) return;
    for (size_t k = scopes_.size(); k-- > 0;) {
      const Scope& s = scopes_[k];
      if (s.kind == Scope::kClosure) return;  // may be bound to any class
      if (s.kind == Scope::kFunction) {
        if (k > 0 && scopes_[k - 1].kind != Scope::kFunction &&
            scopes_[k - 1].kind != Scope::kClosure) {
          continue;  // a method: the class decides
        }
        Fail("\"parent\" in a function outside any class (refused since PHP 8.0)", t);
        return;
      }
      if (s.kind == Scope::kTrait) return;
      if (!s.has_parent) {
        Fail("\"parent\" in a class that has no parent (refused since PHP 8.0)", t);
      }
      return;
    }
  }

  void Step() {
    const Token& t = t_[i_];
    switch (t.kind) {
      case TokKind::kPunct:
        if (t.text.size() == 1) {
          switch (t.text[0]) {
            case '(':
              CheckCast();
              OpenFrame('(');
              return;
            case '[':
              OpenFrame('[');
              return;
            case '{':
              CheckCurlyOffset();
              OpenFrame('{');
              return;
            case ')':
            case ']':
            case '}':
              last_closed_ = frames_.back().open == 'A' ? 'A' : frames_.back().open;
              last_closed_block_ = frames_.back().block_paren;
              CloseFrame();
              return;
            case '?':
              Question();
              return;
            case ':':
              Colon();
              return;
            case ';':
            case ',':
              frames_.back().ResetTernary();
              // No body follows: an abstract method, an arrow function, "use function".
              if (t.Is(';')) pending_scope_.reset();
              return;
            case '=':
              if (IsAssignment(t)) frames_.back().ResetTernary();
              return;
            default:
              return;
          }
        }
        if (t.IsPunct("=>")) frames_.back().ResetTernary();
        return;
      case TokKind::kAttrOpen:
        OpenFrame('A');
        return;
      case TokKind::kOpenTag:
      case TokKind::kCloseTag:
        frames_.back().ResetTernary();
        return;
      case TokKind::kVariable:
        if (t.text == "$GLOBALS") Globals(t);
        return;
      case TokKind::kName:
        break;
      default:
        return;
    }
    // Names: only a few words matter, and most names are none of them (one
    // test on the length and first letter keeps this pass cheap).
    std::string_view w = t.text;
    if (w.size() < 2 || w.size() > 9) return;
    switch (w[0] | 0x20) {  // ASCII lower case
      case 'a':
      case 'c':
      case 'e':
      case 'f':
      case 'i':
      case 'n':
      case 'o':
      case 'p':
      case 'r':
      case 't':
      case 'x':
      case 'y':
        break;
      default:
        return;
    }
    if (AnyOf(t, {"and", "or", "xor", "yield", "print", "throw", "echo", "return", "as"})) {
      frames_.back().ResetTernary();
    } else if (AnyOf(t, {"class", "interface", "trait", "enum"})) {
      ClassLike(t);
    } else if (AnyOf(t, {"function", "fn"})) {
      Function(t);
    } else if (t.IsKeyword("parent")) {
      Parent(t);
    } else if (t.IsKeyword("namespace") && !IsMemberAccess(Prev())) {
      if (Next().kind == TokKind::kName && Next().text[0] != '\\') {
        in_namespace_ = true;
      } else if (Next().Is('{')) {
        in_namespace_ = false;
      }
    }
  }

  // $GLOBALS may be read and its elements written, not written whole.
  void Globals(const Token& t) {
    const Token& n = Next();
    bool whole = IsAssignment(n) ||
                 (n.kind == TokKind::kPunct && n.text.size() == 1 && Next(2).Is('=') &&
                  Next(2).offset == n.offset + 1 &&
                  std::string_view("+-*/.%&|^").find(n.text[0]) != std::string_view::npos) ||
                 (Prev().Is('(') && AnyOf(Prev(2), {"unset", "list"})) ||
                 (Prev().Is('&') && Prev(2).Is('=') && !n.Is('['));
    if (whole) {
      Fail("writing $GLOBALS as a whole (refused since PHP 8.1; write $GLOBALS['name'])", t);
    }
  }

  std::string_view src_;
  const std::vector<Token>& t_;
  size_t i_ = 0;
  std::vector<Frame> frames_;
  std::vector<Scope> scopes_;
  std::optional<Scope> pending_scope_;
  char last_closed_ = 0;
  bool last_closed_block_ = false;
  bool in_namespace_ = false;
  std::string error_;
};

}  // namespace

std::string FindCompileError(std::string_view src, const std::vector<Token>& tokens) {
  return Checker(src, tokens).Run();
}

}  // namespace initkit::preload
