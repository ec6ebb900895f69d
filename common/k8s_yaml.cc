#include "common/k8s_yaml.h"

#include <string>
#include <vector>

#include "common/strings.h"

namespace initkit {

using nlohmann::json;

namespace {

struct YamlLine {
  int number;  // 1-based, for messages
  int indent;
  std::string text;  // without indentation and comment
};

// Drops a comment (" #" or a leading "#") that is outside quotes.
std::string StripComment(const std::string& s) {
  char quote = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
      return s.substr(0, i);
    }
  }
  return s;
}

// The parser keeps owned strings; common Trim returns a view.
std::string TrimmedCopy(std::string_view s) { return std::string(Trim(s)); }

class YamlParser {
 public:
  YamlParser(std::string source) : source_(std::move(source)) {}

  Status Parse(std::string_view text, json* out) {
    int number = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      std::string raw(text.substr(pos, nl - pos));
      pos = nl + 1;
      ++number;
      std::size_t ind = raw.find_first_not_of(' ');
      if (ind != std::string::npos && raw[ind] == '\t') {
        return Err(number, "tabs are not allowed for indentation");
      }
      std::string body = TrimmedCopy(StripComment(raw));
      if (body.empty() || body == "---") continue;
      if (body == "...") break;
      lines_.push_back({number, static_cast<int>(ind), body});
    }
    if (lines_.empty()) {
      *out = json::object();
      return Status::Ok();
    }
    std::size_t idx = 0;
    INITKIT_RETURN_IF_ERROR(Block(&idx, lines_[0].indent, out));
    if (idx < lines_.size()) return Err(lines_[idx].number, "unexpected indentation");
    return Status::Ok();
  }

 private:
  Status Err(int line, const std::string& why) const {
    return Status::Usage(source_ + ": line " + std::to_string(line) + ": " + why);
  }

  static bool IsSeqItem(const std::string& t) { return t == "-" || t.rfind("- ", 0) == 0; }

  // Position of the ':' that ends a mapping key, or npos.
  static std::size_t KeyColon(const std::string& t) {
    std::size_t i = 0;
    if (!t.empty() && (t[0] == '"' || t[0] == '\'')) {
      char q = t[0];
      for (i = 1; i < t.size(); ++i) {
        if (q == '"' && t[i] == '\\') {
          ++i;
        } else if (t[i] == q) {
          break;
        }
      }
      ++i;
    }
    for (; i < t.size(); ++i) {
      if (t[i] == ':' && (i + 1 == t.size() || t[i + 1] == ' ')) return i;
    }
    return std::string::npos;
  }

  Status Scalar(int line, const std::string& t, json* out) {
    if (t.empty() || t == "~" || t == "null") {
      *out = nullptr;
      return Status::Ok();
    }
    char c = t[0];
    if (c == '&' || c == '*' || c == '!' || c == '|' || c == '>') {
      return Err(line, "anchors, aliases, tags and block scalars are not supported");
    }
    if (c == '{') {
      if (TrimmedCopy(t.substr(1)) != "}") {
        return Err(line, "only empty flow mappings {} are supported");
      }
      *out = json::object();
      return Status::Ok();
    }
    if (c == '[') {
      if (t.back() != ']') return Err(line, "unterminated flow sequence");
      *out = json::array();
      std::string inner = TrimmedCopy(t.substr(1, t.size() - 2));
      if (inner.empty()) return Status::Ok();
      std::size_t start = 0;
      while (start <= inner.size()) {
        std::size_t comma = inner.find(',', start);
        if (comma == std::string::npos) comma = inner.size();
        json item;
        std::string part = TrimmedCopy(inner.substr(start, comma - start));
        if (part.find_first_of("[]{}") != std::string::npos) {
          return Err(line, "nested flow collections are not supported");
        }
        INITKIT_RETURN_IF_ERROR(Scalar(line, part, &item));
        out->push_back(item);
        start = comma + 1;
      }
      return Status::Ok();
    }
    if (c == '\'') {
      std::string v;
      std::size_t i = 1;
      for (; i < t.size(); ++i) {
        if (t[i] == '\'') {
          if (i + 1 < t.size() && t[i + 1] == '\'') {
            v.push_back('\'');
            ++i;
          } else {
            break;
          }
        } else {
          v.push_back(t[i]);
        }
      }
      if (i != t.size() - 1) return Err(line, "bad single-quoted string");
      *out = v;
      return Status::Ok();
    }
    if (c == '"') {
      std::string v;
      std::size_t i = 1;
      for (; i < t.size() && t[i] != '"'; ++i) {
        if (t[i] != '\\') {
          v.push_back(t[i]);
          continue;
        }
        if (++i >= t.size()) break;
        switch (t[i]) {
          case 'n':
            v.push_back('\n');
            break;
          case 't':
            v.push_back('\t');
            break;
          case 'r':
            v.push_back('\r');
            break;
          case '0':
            v.push_back('\0');
            break;
          case '"':
            v.push_back('"');
            break;
          case '\\':
            v.push_back('\\');
            break;
          case '/':
            v.push_back('/');
            break;
          default:
            return Err(line, "unsupported escape in double-quoted string");
        }
      }
      if (i != t.size() - 1) return Err(line, "bad double-quoted string");
      *out = v;
      return Status::Ok();
    }
    *out = t;
    return Status::Ok();
  }

  // A value after "key:" or "- ": inline scalar, or the block on the next lines.
  Status Value(std::size_t* idx, int parent_indent, const std::string& inline_text, int line,
               bool allow_same_indent_seq, json* out) {
    if (!inline_text.empty()) {
      ++*idx;
      return Scalar(line, inline_text, out);
    }
    ++*idx;
    if (*idx < lines_.size()) {
      const YamlLine& next = lines_[*idx];
      if (next.indent > parent_indent ||
          (allow_same_indent_seq && next.indent == parent_indent && IsSeqItem(next.text))) {
        return Block(idx, next.indent, out);
      }
    }
    *out = nullptr;
    return Status::Ok();
  }

  Status Block(std::size_t* idx, int indent, json* out) {
    if (IsSeqItem(lines_[*idx].text)) return Sequence(idx, indent, out);
    return Mapping(idx, indent, out);
  }

  Status Sequence(std::size_t* idx, int indent, json* out) {
    *out = json::array();
    while (*idx < lines_.size() && lines_[*idx].indent == indent && IsSeqItem(lines_[*idx].text)) {
      YamlLine& l = lines_[*idx];
      std::string rest = l.text == "-" ? "" : TrimmedCopy(l.text.substr(2));
      json item;
      if (rest.empty()) {
        INITKIT_RETURN_IF_ERROR(Value(idx, indent, "", l.number, false, &item));
      } else if (IsSeqItem(rest) || KeyColon(rest) != std::string::npos) {
        // "- key: v" starts a mapping (or "- - x" a sequence) indented past the dash.
        std::size_t offset = l.text.find(rest);
        l.indent += static_cast<int>(offset);
        l.text = rest;
        INITKIT_RETURN_IF_ERROR(Block(idx, l.indent, &item));
      } else {
        INITKIT_RETURN_IF_ERROR(Scalar(l.number, rest, &item));
        ++*idx;
      }
      out->push_back(std::move(item));
    }
    return Status::Ok();
  }

  Status Mapping(std::size_t* idx, int indent, json* out) {
    *out = json::object();
    while (*idx < lines_.size() && lines_[*idx].indent == indent && !IsSeqItem(lines_[*idx].text)) {
      const YamlLine& l = lines_[*idx];
      std::size_t colon = KeyColon(l.text);
      if (colon == std::string::npos) return Err(l.number, "expected \"key: value\"");
      json key;
      INITKIT_RETURN_IF_ERROR(Scalar(l.number, TrimmedCopy(l.text.substr(0, colon)), &key));
      if (!key.is_string()) return Err(l.number, "mapping keys must be strings");
      std::string k = key.get<std::string>();
      if (out->contains(k)) return Err(l.number, "duplicate key \"" + k + "\"");
      json value;
      INITKIT_RETURN_IF_ERROR(
          Value(idx, indent, TrimmedCopy(l.text.substr(colon + 1)), l.number, true, &value));
      (*out)[k] = std::move(value);
    }
    if (*idx < lines_.size() && lines_[*idx].indent > indent) {
      return Err(lines_[*idx].number, "unexpected indentation");
    }
    return Status::Ok();
  }

  std::string source_;
  std::vector<YamlLine> lines_;
};

}  // namespace

Status ParseYamlSubset(std::string_view text, const std::string& source, json* out) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') {
    try {
      *out = json::parse(text.begin(), text.end());
      return Status::Ok();
    } catch (const json::parse_error& e) {
      return Status::Usage(source + ": not valid JSON at byte " + std::to_string(e.byte));
    } catch (const json::exception& e) {  // out_of_range.406: a number beyond a double
      return Status::Usage(source + ": not valid JSON: " + e.what());
    }
  }
  return YamlParser(source).Parse(text, out);
}

}  // namespace initkit
