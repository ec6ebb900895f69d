#include "common/version.h"

#include <cctype>

#include "common/file_util.h"
#include "common/php_lexer.h"
#include "common/strings.h"

namespace initkit {
namespace {

// The tokens of a version file, from the one PHP tokenizer (comments are
// dropped, so a commented-out define() never counts). A file without an
// open tag is read as PHP code all the same: version files are sometimes
// included fragments.
struct VersionTokens {
  std::string source;
  php::LexResult lex;
};

void Tokenize(std::string_view content, VersionTokens* out) {
  bool has_tag = content.find("<?php") != std::string_view::npos ||
                 content.find("<?PHP") != std::string_view::npos ||
                 content.find("<?=") != std::string_view::npos;
  out->source = has_tag ? std::string(content) : "<?php " + std::string(content);
  php::LexPhp(out->source, &out->lex);
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
  VersionTokens vt;
  Tokenize(content, &vt);
  const std::vector<php::Token>& t = vt.lex.tokens;
  using php::TokKind;
  auto punct = [&](size_t i, std::string_view p) { return i < t.size() && t[i].IsPunct(p); };
  auto quoted = [&](size_t i) {
    return i < t.size() && t[i].kind == TokKind::kString &&
           (t[i].text.front() == '\'' || t[i].text.front() == '"');
  };
  auto string_is = [&](size_t i, std::string_view want) {
    return quoted(i) && php::LiteralValue(t[i].text) == want;
  };
  // define('KEY', 'V') first: it is the seed's form.
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i].kind == TokKind::kName && IEquals(t[i].text, "define") && punct(i + 1, "(") &&
        string_is(i + 2, define_key) && punct(i + 3, ",") && quoted(i + 4)) {
      *out = php::LiteralValue(t[i + 4].text);
      return Status::Ok();
    }
  }
  for (size_t i = 0; i + 2 < t.size(); ++i) {
    // ['version' => 'V'] (a returned or assigned array)
    if (string_is(i, array_key) && punct(i + 1, "=>") && quoted(i + 2)) {
      *out = php::LiteralValue(t[i + 2].text);
      return Status::Ok();
    }
    // $config['version'] = 'V';
    if (i < t.size() && t[i].kind == TokKind::kVariable && punct(i + 1, "[") &&
        string_is(i + 2, array_key) && punct(i + 3, "]") && punct(i + 4, "=") && quoted(i + 5)) {
      *out = php::LiteralValue(t[i + 5].text);
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
