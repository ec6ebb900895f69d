#include "common/version.h"

#include <cctype>

#include "common/file_util.h"

namespace initkit {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The few PHP tokens the version forms need; comments are dropped so a
// commented-out define() never counts.
struct Token {
  enum Kind { kIdent, kVariable, kString, kPunct } kind;
  std::string text;
};

std::vector<Token> Tokenize(std::string_view src) {
  std::vector<Token> out;
  size_t i = 0;
  const size_t n = src.size();
  while (i < n) {
    char c = src[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '#' || (c == '/' && i + 1 < n && src[i + 1] == '/')) {
      if (c == '#' && i + 1 < n && src[i + 1] == '[') {  // attribute, not a comment
        out.push_back({Token::kPunct, "#["});
        i += 2;
        continue;
      }
      while (i < n && src[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && src[i + 1] == '*') {
      size_t end = src.find("*/", i + 2);
      i = end == std::string_view::npos ? n : end + 2;
    } else if (c == '\'' || c == '"') {
      std::string value;
      ++i;
      while (i < n && src[i] != c) {
        if (src[i] == '\\' && i + 1 < n) {
          char e = src[i + 1];
          if (e == c || e == '\\') {
            value.push_back(e);
            i += 2;
            continue;
          }
        }
        value.push_back(src[i++]);
      }
      ++i;
      out.push_back({Token::kString, value});
    } else if (c == '$' || std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '\\') {
      size_t start = i++;
      while (i < n && (std::isalnum(static_cast<unsigned char>(src[i])) || src[i] == '_' ||
                       src[i] == '\\')) {
        ++i;
      }
      out.push_back(
          {c == '$' ? Token::kVariable : Token::kIdent, std::string(src.substr(start, i - start))});
    } else if (c == '=' && i + 1 < n && src[i + 1] == '>') {
      out.push_back({Token::kPunct, "=>"});
      i += 2;
    } else {
      out.push_back({Token::kPunct, std::string(1, c)});
      ++i;
    }
  }
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

Status ParseVersion(std::string_view text, Version* out) {
  std::string_view t = Trim(text);
  auto bad = [&](const std::string& why) {
    return Status::Usage("invalid version '" + std::string(text.substr(0, 80)) + "': " + why);
  };
  if (t.empty()) return bad("empty");
  if (t.front() == 'v' || t.front() == 'V') t.remove_prefix(1);
  Version v;
  v.text = std::string(Trim(text));
  size_t i = 0;
  while (true) {
    size_t start = i;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
    if (start == i) return bad("expected digits separated by dots");
    std::string_view seg = t.substr(start, i - start);
    while (seg.size() > 1 && seg.front() == '0') seg.remove_prefix(1);  // 005 == 5
    if (seg.size() > 18) return bad("segment too large");
    v.parts.push_back(std::stoull(std::string(seg)));
    if (i == t.size()) break;
    if (t[i] != '.') return bad("unexpected character '" + std::string(1, t[i]) + "'");
    ++i;
    if (v.parts.size() > 32) return bad("too many segments");
  }
  *out = std::move(v);
  return Status::Ok();
}

int CompareVersions(const Version& a, const Version& b) {
  size_t n = std::max(a.parts.size(), b.parts.size());
  for (size_t i = 0; i < n; ++i) {
    uint64_t x = i < a.parts.size() ? a.parts[i] : 0;
    uint64_t y = i < b.parts.size() ? b.parts[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

Status ExtractPhpVersion(std::string_view content, const std::string& key, std::string* out) {
  Version plain;
  std::string_view trimmed = Trim(content);
  if (trimmed.find('\n') == std::string_view::npos && ParseVersion(trimmed, &plain).ok()) {
    *out = std::string(trimmed);
    return Status::Ok();
  }
  const std::string define_key = key.empty() ? "APP_VERSION" : key;
  const std::string array_key = key.empty() ? "version" : key;
  std::vector<Token> t = Tokenize(content);
  auto is = [&](size_t i, Token::Kind k, std::string_view text = {}) {
    return i < t.size() && t[i].kind == k && (text.empty() || t[i].text == text);
  };
  // define('KEY', 'V') first: it is the seed's form.
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i].kind == Token::kIdent && IEquals(t[i].text, "define") &&
        is(i + 1, Token::kPunct, "(") && is(i + 2, Token::kString, define_key) &&
        is(i + 3, Token::kPunct, ",") && is(i + 4, Token::kString)) {
      *out = t[i + 4].text;
      return Status::Ok();
    }
  }
  for (size_t i = 0; i + 2 < t.size(); ++i) {
    // ['version' => 'V'] (a returned or assigned array)
    if (is(i, Token::kString, array_key) && is(i + 1, Token::kPunct, "=>") &&
        is(i + 2, Token::kString)) {
      *out = t[i + 2].text;
      return Status::Ok();
    }
    // $config['version'] = 'V';
    if (is(i, Token::kVariable) && is(i + 1, Token::kPunct, "[") &&
        is(i + 2, Token::kString, array_key) && is(i + 3, Token::kPunct, "]") &&
        is(i + 4, Token::kPunct, "=") && is(i + 5, Token::kString)) {
      *out = t[i + 5].text;
      return Status::Ok();
    }
  }
  return Status::Usage("no version found (looked for define('" + define_key + "', ...), '" +
                       array_key + "' => ..., $config['" + array_key +
                       "'] = ..., or a bare version)");
}

Status ReadVersionFile(const std::string& path, const std::string& key, std::string* out) {
  std::string content;
  Status st = ReadFileToString(path, &content, 1024UL * 1024);
  if (!st.ok()) return Status::Usage(st.message());
  st = ExtractPhpVersion(content, key, out);
  if (!st.ok()) return st.Annotate("version file " + path);
  return Status::Ok();
}

}  // namespace initkit
