#include "tools/preload/php_scanner.h"

#include <algorithm>
#include <array>
#include <unordered_map>

#include "common/php_lexer.h"
#include "tools/preload/compile_check.h"

namespace initkit::preload {

bool IsBuiltinTypeKeyword(std::string_view lname) {
  static constexpr std::array<std::string_view, 17> kTypes = {
      "int",   "float",    "string",   "bool",   "false", "true", "null",   "void",  "never",
      "mixed", "iterable", "callable", "object", "array", "self", "static", "parent"};
  return std::find(kTypes.begin(), kTypes.end(), lname) != kTypes.end();
}

namespace {

using namespace php;

class Scanner {
 public:
  Scanner(std::string_view src, const LexResult& lex) : src_(src), lex_(lex) {}

  PhpFileInfo Run() {
    if (!lex_.error.empty()) {
      out_.error = lex_.error + " at line " + std::to_string(LineOf(src_, lex_.error_offset));
    }
    ParseStatements(false);
    return std::move(out_);
  }

 private:
  const Token& T(size_t k = 0) const {
    size_t idx = std::min(i_ + k, lex_.tokens.size() - 1);
    return lex_.tokens[idx];
  }
  const Token& Prev() const {
    static const Token kNone{std::string_view(), 0, TokKind::kEnd};
    return i_ == 0 ? kNone : lex_.tokens[i_ - 1];
  }
  bool AtEnd() const { return T().kind == TokKind::kEnd; }
  // LineOf, counting on from the previous answer: lines are asked for in
  // file order (every class), and counting from the top each time was
  // quadratic in the file size.
  int Line(const Token& t) const {
    uint32_t offset = std::min<uint32_t>(t.offset, static_cast<uint32_t>(src_.size()));
    if (offset < line_offset_) {
      line_offset_ = 0;
      line_ = 1;
    }
    line_ += static_cast<int>(std::count(src_.begin() + line_offset_, src_.begin() + offset, '\n'));
    line_offset_ = offset;
    return line_;
  }

  // ---- names ---------------------------------------------------------
  std::string Qualify(std::string_view name) const {
    if (ns_.empty()) return std::string(name);
    return ns_ + "\\" + std::string(name);
  }

  // Resolves a class name as PHP does: fully qualified, namespace-relative,
  // or through the imports of the current namespace.
  std::string Resolve(std::string_view name) const {
    if (!name.empty() && name[0] == '\\') return std::string(name.substr(1));
    if (name.size() > 10 && ToLower(name.substr(0, 10)) == "namespace\\") {
      return Qualify(name.substr(10));
    }
    size_t sep = name.find('\\');
    std::string first = ToLower(name.substr(0, sep));
    if (sep == std::string_view::npos &&
        (first == "self" || first == "static" || first == "parent")) {
      return first;
    }
    auto it = imports_.find(first);
    if (it != imports_.end()) {
      if (sep == std::string_view::npos) return it->second;
      return it->second + std::string(name.substr(sep));
    }
    return Qualify(name);
  }

  std::string ResolveTypeAtom(std::string_view name) const {
    if (name.find('\\') == std::string_view::npos) {
      std::string l = ToLower(name);
      if (IsBuiltinTypeKeyword(l) || l == "boolean" || l == "integer" || l == "double") {
        return l == "boolean" ? std::string("bool") : l == "integer" ? std::string("int") : l;
      }
    }
    return Resolve(name);
  }

  // ---- statements ----------------------------------------------------
  void SideEffect(const Token& t, const char* what) {
    if (out_.side_effect.empty()) {
      std::string text(t.text.substr(0, 40));
      for (char& c : text) {
        if (c == '\n' || c == '\r' || c == '"') c = ' ';
      }
      out_.side_effect = std::string(what) + " '" + text + "' at line " + std::to_string(Line(t));
    }
  }

  void ParseStatements(bool in_block) {
    while (!AtEnd()) {
      const Token& t = T();
      switch (t.kind) {
        case TokKind::kInlineHtml:
          if (std::any_of(t.text.begin(), t.text.end(),
                          [](char c) { return c != ' ' && c != '\t' && c != '\n' && c != '\r'; })) {
            SideEffect(t, "inline output");
          }
          ++i_;
          continue;
        case TokKind::kOpenTag:
        case TokKind::kCloseTag:
          ++i_;
          continue;
        case TokKind::kAttrOpen:
          SkipAttribute();
          continue;
        case TokKind::kPunct:
          if (t.Is(';')) {
            ++i_;
            continue;
          }
          if (t.Is('}') && in_block) {
            ++i_;
            return;
          }
          break;
        case TokKind::kName:
          if (t.IsKeyword("namespace") &&
              (T(1).kind == TokKind::kName || T(1).Is('{') || T(1).Is(';'))) {
            ParseNamespace();
            continue;
          }
          if (t.IsKeyword("use")) {
            ParseUse();
            continue;
          }
          if (t.IsKeyword("declare")) {
            ++i_;
            if (T().Is('(')) SkipBalanced();
            if (T().Is(';')) ++i_;
            continue;
          }
          if (ClassDeclAhead()) {
            ParseClass(false);
            continue;
          }
          if (t.IsKeyword("function") &&
              (T(1).kind == TokKind::kName || (T(1).Is('&') && T(2).kind == TokKind::kName))) {
            ParseFunction();
            continue;
          }
          if (t.IsKeyword("__halt_compiler")) {
            i_ = lex_.tokens.size() - 1;
            return;
          }
          break;
        default:
          break;
      }
      if (BenignStatement()) continue;
      SideEffect(t, t.kind == TokKind::kOpenTagEcho ? "output" : "statement");
      SkipStatement();
    }
  }

  // A top-level call whose only effect is an autoload hint or a deprecation
  // notice: class_exists(Foo::class); trigger_deprecation(...);
  // @trigger_error('...', E_USER_DEPRECATED). Preloading skips it harmlessly
  // (the hinted classes are preloaded or autoloaded on demand), so it does
  // not make the file a side-effect file; it is noted instead. Consumes the
  // statement and returns true if it is one.
  bool BenignStatement() {
    size_t k = 0;
    if (T().Is('@')) ++k;
    const Token& fn = T(k);
    if (fn.kind != TokKind::kName || !T(k + 1).Is('(')) return false;
    std::string name = ToLower(fn.text);
    if (!name.empty() && name[0] == '\\') name.erase(0, 1);
    bool hint = name == "class_exists" || name == "interface_exists" || name == "trait_exists" ||
                name == "enum_exists";
    bool deprecation = name == "trigger_deprecation" || name == "trigger_error";
    if (!hint && !deprecation) return false;
    // Arguments: literals, constants and Foo::class only, no nested calls.
    size_t j = k + 2;
    bool user_deprecated = false;
    while (true) {
      const Token& a = T(j);
      if (a.Is(')')) break;
      if (a.kind == TokKind::kEnd || a.Is('(') || a.Is(';') || a.Is('{') || a.Is('=') ||
          a.kind == TokKind::kVariable) {
        return false;
      }
      if (a.kind == TokKind::kName) {
        std::string_view v = a.text;
        if (v.size() >= 17 && v.substr(v.size() - 17) == "E_USER_DEPRECATED") {
          user_deprecated = true;
        }
      }
      ++j;
    }
    if (!T(j + 1).Is(';') && T(j + 1).kind != TokKind::kCloseTag) return false;
    if (name == "trigger_error" && !user_deprecated) return false;
    out_.notes.push_back("ignored top-level " + std::string(fn.text) + "() at line " +
                         std::to_string(Line(fn)));
    i_ += j + 1;
    if (T().Is(';')) ++i_;
    return true;
  }

  void ParseNamespace() {
    ++i_;
    std::string name;
    if (T().kind == TokKind::kName) {
      name = std::string(T().text);
      if (!name.empty() && name[0] == '\\') name.erase(0, 1);
      ++i_;
    }
    ns_ = name;
    imports_.clear();
    if (T().Is('{')) {
      ++i_;
      ParseStatements(true);
      ns_.clear();
      imports_.clear();
    } else if (T().Is(';')) {
      ++i_;
    }
  }

  void AddImport(std::string full, std::string alias) {
    if (!full.empty() && full[0] == '\\') full.erase(0, 1);
    if (alias.empty()) {
      size_t p = full.rfind('\\');
      alias = p == std::string::npos ? full : full.substr(p + 1);
    }
    imports_[ToLower(alias)] = full;
  }

  // use A\B [as C], ...;  use function/const ...;  use A\{B, C as D, function e};
  void ParseUse() {
    ++i_;
    bool only_classes = true;
    if (T().IsKeyword("function") || T().IsKeyword("const")) {
      only_classes = false;
      ++i_;
    }
    while (!AtEnd()) {
      if (T().kind != TokKind::kName) break;
      std::string name(T().text);
      ++i_;
      if (T().Is('\\') && T(1).Is('{')) {
        i_ += 2;
        while (!AtEnd() && !T().Is('}')) {
          bool is_class = only_classes;
          if (T().IsKeyword("function") || T().IsKeyword("const")) {
            is_class = false;
            ++i_;
          }
          if (T().kind != TokKind::kName) {
            ++i_;
            continue;
          }
          std::string sub(T().text);
          ++i_;
          std::string alias;
          if (T().IsKeyword("as") && T(1).kind == TokKind::kName) {
            alias = std::string(T(1).text);
            i_ += 2;
          }
          if (is_class) AddImport(name + "\\" + sub, alias);
          if (T().Is(',')) ++i_;
        }
        if (T().Is('}')) ++i_;
      } else {
        std::string alias;
        if (T().IsKeyword("as") && T(1).kind == TokKind::kName) {
          alias = std::string(T(1).text);
          i_ += 2;
        }
        if (only_classes) AddImport(name, alias);
      }
      if (T().Is(',')) {
        ++i_;
        continue;
      }
      break;
    }
    if (T().Is(';')) {
      ++i_;
    } else {
      SkipStatement();
    }
  }

  // ---- generic code ----------------------------------------------------
  static bool IsMemberAccess(const Token& t) {
    return t.IsPunct("::") || t.IsPunct("->") || t.IsPunct("?->");
  }

  // True if a class-like declaration starts at the current token (after
  // optional abstract/final/readonly modifiers).
  bool ClassDeclAhead() const {
    if (IsMemberAccess(Prev()) || Prev().IsKeyword("new") || Prev().IsKeyword("function") ||
        Prev().IsKeyword("const")) {
      return false;
    }
    size_t k = 0;
    while (T(k).IsKeyword("abstract") || T(k).IsKeyword("final") || T(k).IsKeyword("readonly")) {
      ++k;
    }
    const Token& kw = T(k);
    const Token& name = T(k + 1);
    const Token& after = T(k + 2);
    if (name.kind != TokKind::kName || name.text.find('\\') != std::string_view::npos) {
      return false;
    }
    if (kw.IsKeyword("class")) {
      return after.Is('{') || after.IsKeyword("extends") || after.IsKeyword("implements");
    }
    if (k > 0) return false;
    if (kw.IsKeyword("interface")) return after.Is('{') || after.IsKeyword("extends");
    if (kw.IsKeyword("trait")) return after.Is('{');
    if (kw.IsKeyword("enum")) {
      return after.Is('{') || after.Is(':') || after.IsKeyword("implements");
    }
    return false;
  }

  // Handles the constructs that matter inside arbitrary code: anonymous
  // classes and nested (hence conditional) declarations. Returns true if it
  // consumed tokens.
  bool HandleCodeToken() {
    const Token& t = T();
    if (t.kind != TokKind::kName) return false;
    // Cheap filter: only new/class/trait/final/enum/abstract/readonly/interface matter.
    size_t len = t.text.size();
    if (len != 3 && len != 4 && len != 5 && len != 8 && len != 9) return false;
    if (t.IsKeyword("new")) {
      size_t k = 1;
      while (T(k).kind == TokKind::kAttrOpen) {
        size_t save = i_;
        i_ += k;
        SkipAttribute();
        k = i_ - save;
        i_ = save;
      }
      if (T(k).IsKeyword("class")) {
        i_ += k;
        ParseAnonymousClass(t);
        return true;
      }
      return false;
    }
    // Only these can start a declaration (ClassDeclAhead says whether one
    // does); most names in code are none of them.
    bool decl_start = len == 4 ? t.IsKeyword("enum")
                      : len == 5
                          ? t.IsKeyword("class") || t.IsKeyword("trait") || t.IsKeyword("final")
                      : len == 8 ? t.IsKeyword("abstract") || t.IsKeyword("readonly")
                      : len == 9 ? t.IsKeyword("interface")
                                 : false;
    if (decl_start && ClassDeclAhead()) {
      ParseClass(true);
      return true;
    }
    return false;
  }

  // Skips a balanced (...), [...] or {...} group starting at the current
  // token, still noticing anonymous classes and nested declarations.
  // (Method bodies are most of the tokens: the lexer's roles keep this
  // loop to one test per token.)
  void SkipBalanced() {
    int depth = 0;
    while (!AtEnd()) {
      uint8_t role = T().role;
      if (role & kRoleOpen) {
        ++depth;
      } else if (role & kRoleClose) {
        --depth;
        if (depth <= 0) {
          ++i_;
          return;
        }
      } else if ((role & kRoleDeclWord) && HandleCodeToken()) {
        continue;
      }
      ++i_;
    }
  }

  // Skips one statement of arbitrary code: up to ';' at depth 0, or a
  // braced block not continued by else/elseif/catch/finally, or a whole
  // alternative-syntax block (if: ... endif;).
  void SkipStatement() {
    // Paren kinds: 0 plain, 1 condition of if/while/for/foreach/switch/declare, 2 of elseif.
    std::vector<int> parens;
    int depth = 0;
    int alt = 0;
    int pending_control = 0;
    int closed_control = 0;
    bool started = false;
    while (!AtEnd()) {
      const Token& t = T();
      int just_closed = 0;
      if (t.kind == TokKind::kPunct) {
        if (t.Is('(') || t.Is('[') || t.Is('{')) {
          parens.push_back(t.Is('(') ? pending_control : 0);
          pending_control = 0;
          ++depth;
        } else if (t.Is(')') || t.Is(']') || t.Is('}')) {
          int kind = parens.empty() ? 0 : parens.back();
          if (!parens.empty()) parens.pop_back();
          --depth;
          if (depth <= 0 && t.Is('}') && alt == 0) {
            ++i_;
            const Token& n = T();
            if (n.IsKeyword("else") || n.IsKeyword("elseif") || n.IsKeyword("catch") ||
                n.IsKeyword("finally") || n.IsKeyword("while")) {
              depth = 0;
              continue;
            }
            return;
          }
          if (depth == 0) just_closed = kind;
        } else if (t.Is(':') && depth == 0 && closed_control == 1) {
          ++alt;
        } else if (t.Is(';') && depth <= 0 && alt == 0) {
          ++i_;
          return;
        }
      } else if (t.kind == TokKind::kCloseTag && depth <= 0 && alt == 0 && started) {
        return;
      } else if (t.kind == TokKind::kAttrOpen) {
        SkipAttribute();
        continue;
      } else if (t.kind == TokKind::kName) {
        if (t.IsKeyword("if") || t.IsKeyword("while") || t.IsKeyword("for") ||
            t.IsKeyword("foreach") || t.IsKeyword("switch") || t.IsKeyword("declare")) {
          pending_control = 1;
        } else if (t.IsKeyword("elseif")) {
          pending_control = 2;
        } else if (t.IsKeyword("endif") || t.IsKeyword("endwhile") || t.IsKeyword("endfor") ||
                   t.IsKeyword("endforeach") || t.IsKeyword("endswitch") ||
                   t.IsKeyword("enddeclare")) {
          if (alt > 0) --alt;
        } else if (HandleCodeToken()) {
          started = true;
          continue;
        }
      }
      started = true;
      closed_control = just_closed;
      ++i_;
    }
  }

  void SkipAttribute() {
    // "#[" opens one bracket level.
    int depth = 1;
    ++i_;
    while (!AtEnd()) {
      const Token& t = T();
      if (t.Is('[') || t.kind == TokKind::kAttrOpen) {
        ++depth;
      } else if (t.Is(']')) {
        if (--depth == 0) {
          ++i_;
          return;
        }
      }
      ++i_;
    }
  }

  // Skips an initialiser expression up to a terminator at depth 0 (not
  // consumed), collecting the classes it needs at link time.
  void SkipInitializer(std::vector<std::string>* refs) {
    int depth = 0;
    while (!AtEnd()) {
      const Token& t = T();
      if (t.kind == TokKind::kPunct) {
        if (t.Is('(') || t.Is('[') || t.Is('{')) {
          ++depth;
        } else if (t.Is(')') || t.Is(']') || t.Is('}')) {
          if (depth == 0) return;
          --depth;
        } else if ((t.Is(',') || t.Is(';')) && depth == 0) {
          return;
        }
      } else if (t.kind == TokKind::kName) {
        if (T(1).IsPunct("::") && !T(2).IsKeyword("class") && !IsMemberAccess(Prev())) {
          std::string r = Resolve(t.text);
          if (r != "self" && r != "static" && r != "parent") AddUnique(refs, r);
        } else if (t.IsKeyword("new") && T(1).kind == TokKind::kName && !T(1).IsKeyword("class")) {
          std::string r = Resolve(T(1).text);
          if (r != "self" && r != "static" && r != "parent") AddUnique(refs, r);
        } else if (HandleCodeToken()) {
          continue;
        }
      }
      ++i_;
    }
  }

  static void AddUnique(std::vector<std::string>* v, std::string s) {
    if (std::find(v->begin(), v->end(), s) == v->end()) v->push_back(std::move(s));
  }

  // ---- types and signatures -----------------------------------------
  void ParseType(PhpType* type) {
    type->present = true;
    if (T().Is('?')) {
      type->atoms.push_back("null");
      ++i_;
    }
    while (!AtEnd()) {
      if (T().Is('(')) {  // DNF group (A&B)|C
        ++i_;
        while (!AtEnd() && !T().Is(')')) {
          if (T().kind == TokKind::kName) type->atoms.push_back(ResolveTypeAtom(T().text));
          ++i_;
        }
        if (T().Is(')')) ++i_;
      } else if (T().kind == TokKind::kName) {
        type->atoms.push_back(ResolveTypeAtom(T().text));
        ++i_;
      } else {
        break;
      }
      if (T().Is('|')) {
        ++i_;
        continue;
      }
      // "A & $x" passes by reference; "A&B $x" is an intersection type.
      if (T().Is('&') && T(1).kind != TokKind::kVariable && !T(1).IsPunct("...") && !T(1).Is('&')) {
        type->intersection = true;
        ++i_;
        continue;
      }
      break;
    }
  }

  static bool IsModifier(const Token& t) {
    return t.IsKeyword("public") || t.IsKeyword("protected") || t.IsKeyword("private") ||
           t.IsKeyword("static") || t.IsKeyword("abstract") || t.IsKeyword("final") ||
           t.IsKeyword("var") || t.IsKeyword("readonly");
  }

  void ParseParams(std::vector<PhpParam>* params, std::vector<std::string>* refs) {
    ++i_;  // (
    while (!AtEnd()) {
      if (T().Is(')')) {
        ++i_;
        return;
      }
      PhpParam p;
      while (T().kind == TokKind::kAttrOpen) SkipAttribute();
      while (IsModifier(T())) {
        ++i_;
        if (T().Is('(')) SkipBalanced();  // private(set)
      }
      if (T().kind == TokKind::kName || T().Is('?') || T().Is('(')) ParseType(&p.type);
      if (T().Is('&')) {
        p.by_ref = true;
        ++i_;
      }
      if (T().IsPunct("...")) {
        p.variadic = true;
        p.optional = true;
        ++i_;
      }
      if (T().kind == TokKind::kVariable) ++i_;
      if (T().Is('=')) {
        ++i_;
        p.optional = true;
        // "T $x = null" makes the type implicitly nullable.
        if (p.type.present && T().IsKeyword("null") && (T(1).Is(',') || T(1).Is(')')) &&
            std::find(p.type.atoms.begin(), p.type.atoms.end(), "null") == p.type.atoms.end() &&
            std::find(p.type.atoms.begin(), p.type.atoms.end(), "mixed") == p.type.atoms.end()) {
          p.type.atoms.push_back("null");
        }
        SkipInitializer(refs);
      }
      if (T().Is('{')) SkipBalanced();  // property hooks (8.4)
      params->push_back(std::move(p));
      // Past the ',' to the next parameter; an unexpected token is skipped too.
      if (!T().Is(')')) ++i_;
    }
  }

  // function [&] name(params) [: type] { body } | ;
  PhpMethod ParseFunctionLike(std::vector<std::string>* refs) {
    PhpMethod m;
    ++i_;  // function
    if (T().Is('&')) {
      m.returns_ref = true;
      ++i_;
    }
    m.name = std::string(T().text);
    m.lname = ToLower(m.name);
    ++i_;
    if (T().Is('(')) ParseParams(&m.params, refs);
    if (T().Is(':')) {
      ++i_;
      ParseType(&m.ret);
    }
    if (T().Is('{')) {
      SkipBalanced();
    } else if (T().Is(';')) {
      ++i_;
    }
    return m;
  }

  void ParseFunction() {
    std::vector<std::string> refs;
    PhpMethod f = ParseFunctionLike(&refs);
    out_.functions.push_back(Qualify(f.name));
  }

  // ---- classes ---------------------------------------------------------
  void ParseNameList(std::vector<std::string>* out) {
    while (T().kind == TokKind::kName) {
      out->push_back(Resolve(T().text));
      ++i_;
      if (!T().Is(',')) break;
      ++i_;
    }
  }

  void ParseClassHeader(PhpClass* c) {
    if (c->kind == ClassKind::kEnum && T().Is(':')) {
      ++i_;
      PhpType backing;
      ParseType(&backing);
    }
    if (T().IsKeyword("extends")) {
      ++i_;
      if (c->kind == ClassKind::kInterface) {
        ParseNameList(&c->interfaces);
      } else if (T().kind == TokKind::kName) {
        c->parent = Resolve(T().text);
        ++i_;
      }
    }
    if (T().IsKeyword("implements")) {
      ++i_;
      ParseNameList(&c->interfaces);
    }
  }

  void ParseClass(bool conditional) {
    PhpClass c;
    c.conditional = conditional;
    while (T().IsKeyword("abstract") || T().IsKeyword("final") || T().IsKeyword("readonly")) {
      ++i_;
    }
    c.line = Line(T());
    if (T().IsKeyword("interface")) {
      c.kind = ClassKind::kInterface;
    } else if (T().IsKeyword("trait")) {
      c.kind = ClassKind::kTrait;
    } else if (T().IsKeyword("enum")) {
      c.kind = ClassKind::kEnum;
    }
    ++i_;
    c.name = Qualify(T().text);
    ++i_;
    ParseClassHeader(&c);
    if (T().Is('{')) ParseClassBody(&c);
    if (conditional && out_.conditional.empty()) {
      out_.conditional =
          c.name + " declared inside a block or function at line " + std::to_string(c.line);
    }
    out_.classes.push_back(std::move(c));
  }

  void ParseAnonymousClass(const Token& new_tok) {
    PhpClass c;
    c.anonymous = true;
    c.name = "class@anonymous";
    c.line = Line(new_tok);
    ++i_;  // class
    if (T().Is('(')) SkipBalanced();
    ParseClassHeader(&c);
    if (T().Is('{')) ParseClassBody(&c);
    out_.classes.push_back(std::move(c));
  }

  void ParseClassBody(PhpClass* c) {
    ++i_;  // {
    bool is_static = false, is_abstract = false, is_private = false;
    while (!AtEnd()) {
      const Token& t = T();
      if (t.Is('}')) {
        ++i_;
        return;
      }
      if (t.kind == TokKind::kAttrOpen) {
        SkipAttribute();
        continue;
      }
      if (t.Is(';')) {
        ++i_;
        continue;
      }
      if (t.IsKeyword("use")) {
        ++i_;
        ParseNameList(&c->traits);
        if (T().Is('{')) {
          SkipBalanced();
        } else if (T().Is(';')) {
          ++i_;
        }
        continue;
      }
      if (t.IsKeyword("case") && c->kind == ClassKind::kEnum) {
        ++i_;
        SkipInitializer(&c->init_refs);
        if (T().Is(';')) ++i_;
        continue;
      }
      if (IsModifier(t)) {
        if (t.IsKeyword("static")) is_static = true;
        if (t.IsKeyword("abstract")) is_abstract = true;
        if (t.IsKeyword("private")) is_private = true;
        ++i_;
        if (T().Is('(')) SkipBalanced();  // private(set)
        continue;
      }
      if (t.IsKeyword("const")) {
        ++i_;
        while (!AtEnd()) {
          if (T(1).Is('=')) {
            i_ += 2;
          } else {
            size_t before = i_;
            PhpType ignored;  // typed constant (8.3)
            ParseType(&ignored);
            if (i_ == before) break;  // not a type either: stop (looped forever)
            continue;
          }
          SkipInitializer(&c->init_refs);
          if (T().Is(',')) {
            ++i_;
            continue;
          }
          break;
        }
        if (T().Is(';')) ++i_;
        is_static = is_abstract = is_private = false;
        continue;
      }
      if (t.IsKeyword("function")) {
        PhpMethod m = ParseFunctionLike(&c->init_refs);
        m.is_static = is_static;
        m.is_abstract = is_abstract || c->kind == ClassKind::kInterface;
        m.is_private = is_private;
        c->methods.push_back(std::move(m));
        is_static = is_abstract = is_private = false;
        continue;
      }
      // A property: [type] $a [= init], $b ...; or with hooks { ... }.
      if (t.kind == TokKind::kName || t.Is('?') || t.Is('(')) {
        PhpType ignored;
        ParseType(&ignored);
      }
      if (T().kind == TokKind::kVariable) {
        while (T().kind == TokKind::kVariable) {
          ++i_;
          if (T().Is('=')) {
            ++i_;
            SkipInitializer(&c->init_refs);
          }
          if (T().Is('{')) SkipBalanced();
          if (!T().Is(',')) break;
          ++i_;
        }
        if (T().Is(';')) ++i_;
      } else if (!T().Is('}')) {
        ++i_;  // something unexpected: keep moving
      }
      is_static = is_abstract = is_private = false;
    }
  }

  std::string_view src_;
  const LexResult& lex_;
  mutable uint32_t line_offset_ = 0;  // Line(): where line_ was counted to
  mutable int line_ = 1;
  size_t i_ = 0;
  PhpFileInfo out_;
  std::string ns_;
  std::unordered_map<std::string, std::string> imports_;
};

}  // namespace

PhpFileInfo ScanPhp(std::string_view src) {
  // One token buffer per scanning thread, reused for every file it scans.
  thread_local php::LexResult lex;
  php::LexPhp(src, &lex);
  PhpFileInfo info = Scanner(src, lex).Run();
  if (lex.error.empty()) info.compile_error = FindCompileError(src, lex.tokens);
  return info;
}

}  // namespace initkit::preload
