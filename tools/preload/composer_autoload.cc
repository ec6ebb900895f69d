#include "tools/preload/composer_autoload.h"

#include <map>

#include "common/php_lexer.h"

namespace initkit::preload {

namespace {

using namespace php;

std::string Dirname(const std::string& p) {
  size_t s = p.find_last_of('/');
  if (s == std::string::npos) return ".";
  if (s == 0) return "/";
  return p.substr(0, s);
}

// Evaluates the subset of PHP Composer writes into its maps.
class MapReader {
 public:
  MapReader(std::string_view text, const std::string& composer_dir)
      : lex_(LexPhp(text)), dir_(composer_dir) {}

  bool ok() const { return lex_.error.empty(); }

  // Reads "$var = dirname(...dirname(__DIR__)...);" assignments, then the
  // "return array(" ... ");" body, calling entry(key, values) per pair.
  template <typename F>
  bool Read(F entry) {
    const auto& t = lex_.tokens;
    size_t i = 0;
    while (i < t.size() && t[i].kind != TokKind::kEnd) {
      if (t[i].kind == TokKind::kVariable && i + 1 < t.size() && t[i + 1].Is('=')) {
        std::string var(t[i].text);
        i += 2;
        std::string v = Expr(&i);
        vars_[var] = v;
        continue;
      }
      if (t[i].IsKeyword("return")) {
        ++i;
        return ArrayBody(&i, entry);
      }
      ++i;
    }
    return false;
  }

 private:
  // dirname(X) | __DIR__ | $var | 'lit' joined by '.'
  std::string Expr(size_t* i) {
    const auto& t = lex_.tokens;
    std::string out;
    while (true) {
      const Token& k = t[*i];
      if (k.IsKeyword("dirname") && t[*i + 1].Is('(')) {
        *i += 2;
        std::string inner = Expr(i);
        if (t[*i].Is(')')) ++*i;
        out += Dirname(inner);
      } else if (k.IsKeyword("__dir__")) {
        out += dir_;
        ++*i;
      } else if (k.kind == TokKind::kVariable) {
        out += vars_[std::string(k.text)];
        ++*i;
      } else if (k.kind == TokKind::kString) {
        out += LiteralValue(k.text);
        ++*i;
      } else {
        break;
      }
      if (t[*i].Is('.')) {
        ++*i;
        continue;
      }
      break;
    }
    return out;
  }

  template <typename F>
  bool ArrayBody(size_t* i, F entry) {
    const auto& t = lex_.tokens;
    char close;
    if (t[*i].IsKeyword("array") && t[*i + 1].Is('(')) {
      *i += 2;
      close = ')';
    } else if (t[*i].Is('[')) {
      ++*i;
      close = ']';
    } else {
      return false;
    }
    while (t[*i].kind != TokKind::kEnd && !t[*i].Is(close)) {
      if (t[*i].kind != TokKind::kString || !t[*i + 1].IsPunct("=>")) return false;
      std::string key = LiteralValue(t[*i].text);
      *i += 2;
      std::vector<std::string> values;
      if ((t[*i].IsKeyword("array") && t[*i + 1].Is('(')) || t[*i].Is('[')) {
        char inner_close = t[*i].Is('[') ? ']' : ')';
        *i += t[*i].Is('[') ? 1 : 2;
        while (t[*i].kind != TokKind::kEnd && !t[*i].Is(inner_close)) {
          values.push_back(Expr(i));
          if (t[*i].Is(',')) {
            ++*i;
          } else if (!t[*i].Is(inner_close)) {
            return false;
          }
        }
        if (!t[*i].Is(inner_close)) return false;  // unclosed: stopped at kEnd
        ++*i;
      } else {
        values.push_back(Expr(i));
      }
      entry(key, values);
      if (t[*i].Is(',')) {
        ++*i;
      } else if (!t[*i].Is(close)) {
        return false;
      }
    }
    return true;
  }

  LexResult lex_;
  std::string dir_;
  std::map<std::string, std::string> vars_;
};

}  // namespace

// One pass, no list of parts: the class map holds thousands of paths.
std::string NormalizePath(const std::string& path) {
  bool abs = !path.empty() && path[0] == '/';
  std::string out = abs ? "/" : "";
  const size_t base = out.size();  // the parts start here
  out.reserve(path.size() + 1);
  size_t parts = 0, leading_dotdots = 0;  // ".." stays only at the start of a relative path
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string_view part(path.data() + i, j - i);
    if (part == "..") {
      if (parts > leading_dotdots) {
        size_t cut = out.rfind('/');
        out.resize(cut == std::string::npos || cut < base ? base : cut);
        --parts;
      } else if (!abs) {
        if (out.size() > base) out += '/';
        out += "..";
        ++parts;
        ++leading_dotdots;
      }
    } else if (!part.empty() && part != ".") {
      if (out.size() > base) out += '/';
      out += part;
      ++parts;
    }
    i = j + 1;
  }
  return out.empty() ? "." : out;
}

Status ParseClassMap(std::string_view text, const std::string& composer_dir,
                     const std::string& origin, ClassMap* out) {
  MapReader r(text, composer_dir);
  bool ok = r.ok() && r.Read([&](const std::string& k, const std::vector<std::string>& v) {
    if (!v.empty()) out->emplace_back(k, NormalizePath(v[0]));
  });
  if (!ok) {
    return Status::Usage(origin + ": not a Composer class map (expected 'return array(...)')");
  }
  return Status::Ok();
}

Status ParsePsr4Map(std::string_view text, const std::string& composer_dir,
                    const std::string& origin, Psr4Map* out) {
  MapReader r(text, composer_dir);
  bool ok = r.ok() && r.Read([&](const std::string& k, const std::vector<std::string>& v) {
    std::vector<std::string> dirs;
    dirs.reserve(v.size());
    for (const auto& d : v) dirs.push_back(NormalizePath(d));
    out->emplace_back(k, std::move(dirs));
  });
  if (!ok) {
    return Status::Usage(origin + ": not a Composer PSR-4 map (expected 'return array(...)')");
  }
  return Status::Ok();
}

}  // namespace initkit::preload
