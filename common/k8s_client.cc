#include "common/k8s_client.h"

#include <sys/stat.h>

#include <cctype>
#include <vector>

#include "common/file_util.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/random.h"
#include "common/signals.h"

namespace initkit {

using nlohmann::json;

// ---- YAML subset -------------------------------------------------------

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

std::string Trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

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
      std::string body = Trim(StripComment(raw));
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
      if (Trim(t.substr(1)) != "}") return Err(line, "only empty flow mappings {} are supported");
      *out = json::object();
      return Status::Ok();
    }
    if (c == '[') {
      if (t.back() != ']') return Err(line, "unterminated flow sequence");
      *out = json::array();
      std::string inner = Trim(t.substr(1, t.size() - 2));
      if (inner.empty()) return Status::Ok();
      std::size_t start = 0;
      while (start <= inner.size()) {
        std::size_t comma = inner.find(',', start);
        if (comma == std::string::npos) comma = inner.size();
        json item;
        std::string part = Trim(inner.substr(start, comma - start));
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
      std::string rest = l.text == "-" ? "" : Trim(l.text.substr(2));
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
      INITKIT_RETURN_IF_ERROR(Scalar(l.number, Trim(l.text.substr(0, colon)), &key));
      if (!key.is_string()) return Err(l.number, "mapping keys must be strings");
      std::string k = key.get<std::string>();
      if (out->contains(k)) return Err(l.number, "duplicate key \"" + k + "\"");
      json value;
      INITKIT_RETURN_IF_ERROR(
          Value(idx, indent, Trim(l.text.substr(colon + 1)), l.number, true, &value));
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

std::string StringAt(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::string ResolvePath(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || base_dir.empty()) return p;
  return base_dir + "/" + p;
}

// Finds the entry {name: N, <field>: {...}} of a kubeconfig list.
Status FindNamed(const json& doc, const char* list, const char* field, const std::string& name,
                 const std::string& source, json* out) {
  auto it = doc.find(list);
  if (it != doc.end() && it->is_array()) {
    for (const json& e : *it) {
      if (StringAt(e, "name") == name) {
        auto f = e.find(field);
        *out = (f != e.end() && f->is_object()) ? *f : json::object();
        return Status::Ok();
      }
    }
  }
  return Status::Usage(source + ": no " + std::string(field) + " named \"" + name + "\" in " +
                       list);
}

Status DecodeData(const std::string& b64, const std::string& what, std::string* out) {
  std::string clean;
  for (char c : b64) {
    if (!std::isspace(static_cast<unsigned char>(c))) clean.push_back(c);
  }
  if (!Base64Decode(clean, out)) return Status::Usage(what + " is not valid base64");
  return Status::Ok();
}

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

Status ParseKubeconfig(std::string_view text, const std::string& source,
                       const std::string& base_dir, const std::string& context,
                       K8sConnection* out) {
  json doc;
  INITKIT_RETURN_IF_ERROR(ParseYamlSubset(text, source, &doc));
  if (!doc.is_object()) return Status::Usage(source + ": not a kubeconfig (not a mapping)");
  std::string ctx_name = context.empty() ? StringAt(doc, "current-context") : context;
  if (ctx_name.empty()) {
    return Status::Usage(source + ": no current-context (pass a context explicitly)");
  }
  json ctx, cluster, user;
  INITKIT_RETURN_IF_ERROR(FindNamed(doc, "contexts", "context", ctx_name, source, &ctx));
  std::string cluster_name = StringAt(ctx, "cluster");
  INITKIT_RETURN_IF_ERROR(FindNamed(doc, "clusters", "cluster", cluster_name, source, &cluster));
  std::string user_name = StringAt(ctx, "user");
  if (!user_name.empty()) {
    INITKIT_RETURN_IF_ERROR(FindNamed(doc, "users", "user", user_name, source, &user));
  } else {
    user = json::object();
  }
  K8sConnection c;
  c.source = source;
  c.server = StringAt(cluster, "server");
  if (c.server.empty()) {
    return Status::Usage(source + ": cluster \"" + cluster_name + "\" has no server");
  }
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  c.default_namespace = StringAt(ctx, "namespace");
  if (!StringAt(cluster, "certificate-authority-data").empty()) {
    INITKIT_RETURN_IF_ERROR(DecodeData(StringAt(cluster, "certificate-authority-data"),
                                       source + ": certificate-authority-data", &c.ca_pem));
  } else if (!StringAt(cluster, "certificate-authority").empty()) {
    c.ca_file = ResolvePath(base_dir, StringAt(cluster, "certificate-authority"));
  }
  // kubectl writes a JSON boolean, YAML a plain scalar (read as a string).
  auto flag = cluster.is_object() ? cluster.find("insecure-skip-tls-verify") : cluster.end();
  c.insecure = flag != cluster.end() && (*flag == true || *flag == "true");
  if (c.insecure) {
    // The only way to turn verification off: never silently.
    log::Warn(
        "TLS certificate verification of the Kubernetes API is OFF "
        "(insecure-skip-tls-verify in the kubeconfig)",
        {{"kubeconfig", source}, {"cluster", cluster_name}});
  }
  c.token = StringAt(user, "token");
  if (c.token.empty() && !StringAt(user, "tokenFile").empty()) {
    c.token_file = ResolvePath(base_dir, StringAt(user, "tokenFile"));
  }
  if (!StringAt(user, "client-certificate-data").empty()) {
    INITKIT_RETURN_IF_ERROR(DecodeData(StringAt(user, "client-certificate-data"),
                                       source + ": client-certificate-data", &c.client_cert_pem));
  } else if (!StringAt(user, "client-certificate").empty()) {
    c.client_cert_file = ResolvePath(base_dir, StringAt(user, "client-certificate"));
  }
  if (!StringAt(user, "client-key-data").empty()) {
    INITKIT_RETURN_IF_ERROR(DecodeData(StringAt(user, "client-key-data"),
                                       source + ": client-key-data", &c.client_key_pem));
  } else if (!StringAt(user, "client-key").empty()) {
    c.client_key_file = ResolvePath(base_dir, StringAt(user, "client-key"));
  }
  if (user.contains("exec") || user.contains("auth-provider")) {
    return Status::Usage(source + ": user \"" + user_name +
                         "\" uses exec/auth-provider credentials, which are not supported "
                         "(use a token, a token file or a client certificate)");
  }
  log::AddSecret(c.token);
  log::AddSecret(c.client_key_pem);
  *out = std::move(c);
  return Status::Ok();
}

Status LoadKubeconfig(const std::string& path, const std::string& context, K8sConnection* out) {
  std::string text;
  Status st = ReadFileToString(path, &text, 4UL * 1024 * 1024);
  if (!st.ok()) return Status::Usage("kubeconfig: " + st.message());
  std::string dir;
  std::size_t slash = path.rfind('/');
  if (slash != std::string::npos) dir = path.substr(0, slash == 0 ? 1 : slash);
  return ParseKubeconfig(text, path, dir, context, out);
}

Status LoadInClusterConnection(const std::string& sa_dir, const Environment& env,
                               K8sConnection* out) {
  auto get = [&](const char* k) {
    auto it = env.find(k);
    return it == env.end() ? std::string() : it->second;
  };
  std::string dir = sa_dir;
  if (dir.empty()) dir = get("INITKIT_SERVICEACCOUNT_DIR");
  if (dir.empty()) dir = kServiceAccountDir;
  std::string host = get("KUBERNETES_SERVICE_HOST");
  std::string port = get("KUBERNETES_SERVICE_PORT");
  if (host.empty()) {
    return Status::Usage(
        "not running in a cluster (KUBERNETES_SERVICE_HOST is not set) and no --kubeconfig given");
  }
  if (port.empty()) port = "443";
  K8sConnection c;
  c.source = "in-cluster service account " + dir;
  // An IPv6 service host needs brackets in a URL.
  c.server =
      "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  c.token_file = dir + "/token";
  c.ca_file = dir + "/ca.crt";
  struct stat sb;
  for (const std::string& f : {c.token_file, c.ca_file}) {
    if (stat(f.c_str(), &sb) != 0) {
      return Status::Usage("service account: cannot read " + f + ": " + ErrnoText(errno));
    }
  }
  std::string ns;
  if (ReadFileToString(dir + "/namespace", &ns, 4096).ok()) {
    while (!ns.empty() && std::isspace(static_cast<unsigned char>(ns.back()))) ns.pop_back();
    c.default_namespace = ns;
  }
  *out = std::move(c);
  return Status::Ok();
}

// ---- client ------------------------------------------------------------

K8sClient::K8sClient(K8sConnection conn, K8sOptions options)
    : conn_(std::move(conn)), options_(options) {}

K8sClient::~K8sClient() = default;

Status K8sClient::RefreshToken(bool force, bool* changed) {
  *changed = false;
  if (conn_.token_file.empty()) return Status::Ok();
  struct stat sb;
  if (stat(conn_.token_file.c_str(), &sb) != 0) {
    return Status::Failed("token file " + conn_.token_file + ": " + ErrnoText(errno));
  }
  bool same = token_stat_valid_ && sb.st_ino == token_stat_.st_ino &&
              sb.st_size == token_stat_.st_size &&
              sb.st_mtim.tv_sec == token_stat_.st_mtim.tv_sec &&
              sb.st_mtim.tv_nsec == token_stat_.st_mtim.tv_nsec;
  if (same && !force) return Status::Ok();
  std::string token;
  Status st = ReadFileToString(conn_.token_file, &token, 64UL * 1024);
  if (!st.ok()) return st.Annotate("token file");
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  log::AddSecret(token);
  *changed = token != conn_.token;
  conn_.token = std::move(token);
  token_stat_ = sb;
  token_stat_valid_ = true;
  return Status::Ok();
}

bool IsDns1123Label(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (std::size_t start = 0;;) {
    std::size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (!IsDns1123Label(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

namespace {

// Defence in depth: a path is built from names that may come from flags or
// specs. One that is not plain segments ("..", "%2e", "?", "#", spaces)
// could address another object than the caller meant (curl removes dot
// segments) or add query parameters (?dryRun=All), so it is never sent.
// No call needs a query string.
bool PlainApiPath(std::string_view p) {
  if (p.empty() || p.front() != '/') return false;
  for (std::size_t start = 1; start <= p.size();) {
    std::size_t slash = p.find('/', start);
    if (slash == std::string_view::npos) slash = p.size();
    std::string_view seg = p.substr(start, slash - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') {
        return false;
      }
    }
    start = slash + 1;
  }
  return true;
}

}  // namespace

Status K8sClient::Call(const std::string& method, const std::string& path, const json* body,
                       const Deadline& deadline, K8sResponse* out) {
  std::string what = "Kubernetes API " + method + " " + path;
  if (!PlainApiPath(path)) {
    return Status::Usage(what + ": a namespace or object name is not a valid Kubernetes name");
  }
  bool retried_401 = false;
  return Retry(what, options_.backoff, deadline, [&](int attempt) -> Status {
    bool changed = false;
    INITKIT_RETURN_IF_ERROR(RefreshToken(false, &changed));
    HttpRequest req;
    req.method = method;
    req.url = conn_.server + path;
    req.headers.push_back("Accept: application/json");
    if (!conn_.token.empty()) req.headers.push_back("Authorization: Bearer " + conn_.token);
    if (body) {
      req.headers.push_back("Content-Type: application/json");
      req.body = DumpJson(*body);
    }
    Millis remaining = deadline.Remaining();
    req.timeout = std::min(options_.request_timeout, std::max(remaining, Millis(1)));
    req.ca_pem = conn_.ca_pem;
    req.ca_file = conn_.ca_file;
    req.client_cert_pem = conn_.client_cert_pem;
    req.client_key_pem = conn_.client_key_pem;
    req.client_cert_file = conn_.client_cert_file;
    req.client_key_file = conn_.client_key_file;
    req.insecure = conn_.insecure;
    req.max_body = 16UL * 1024 * 1024;
    HttpResponse resp;
    Status st = http_.Do(req, &resp);
    if (!st.ok()) {
      if (st.kind() == Status::Kind::kNotReady) {
        log::Debug("Kubernetes API call failed, retrying",
                   {{"call", method + " " + path}, {"attempt", attempt}, {"error", st.message()}});
      }
      return st;
    }
    out->code = resp.status;
    out->body = json::parse(resp.body, nullptr, false);
    if (out->body.is_discarded()) out->body = nullptr;
    if (resp.status == 401 && !retried_401 && !conn_.token_file.empty()) {
      // A projected token may have been rotated under us: re-read and retry once.
      retried_401 = true;
      bool changed_now = false;
      INITKIT_RETURN_IF_ERROR(RefreshToken(true, &changed_now));
      if (changed_now) return Status::NotReady(what + ": HTTP 401, token re-read");
    }
    if (resp.status == 429 || resp.status >= 500) {
      Status e = ErrorFor(method, path, *out);
      log::Debug("Kubernetes API answered with a transient error, retrying",
                 {{"call", method + " " + path}, {"attempt", attempt}, {"code", resp.status}});
      return Status::NotReady(e.message());
    }
    return Status::Ok();
  });
}

Status K8sClient::ErrorFor(const std::string& method, const std::string& path,
                           const K8sResponse& r) {
  std::string reason, message;
  if (r.body.is_object()) {
    if (r.body.contains("reason") && r.body["reason"].is_string()) reason = r.body["reason"];
    if (r.body.contains("message") && r.body["message"].is_string()) message = r.body["message"];
  }
  std::string text = "Kubernetes API " + method + " " + path + ": HTTP " + std::to_string(r.code);
  if (!reason.empty()) text += " " + reason;
  if (!message.empty()) text += ": " + message;
  if (r.code == 401) text += " (the credentials were rejected)";
  if (r.code == 403) text += " (the service account lacks this permission)";
  return Status::Failed(log::Redact(text));
}

std::string K8sClient::SecretPath(const std::string& ns, const std::string& name) {
  std::string p = "/api/v1/namespaces/" + ns + "/secrets";
  if (!name.empty()) p += "/" + name;
  return p;
}

Status K8sClient::GetObject(const std::string& path, const Deadline& deadline, json* out,
                            bool* found) {
  K8sResponse r;
  INITKIT_RETURN_IF_ERROR(Call("GET", path, nullptr, deadline, &r));
  *found = false;
  if (r.code == 404) return Status::Ok();
  if (r.code / 100 != 2) return ErrorFor("GET", path, r);
  if (!r.body.is_object()) {
    return Status::Failed("Kubernetes API GET " + path + ": not a JSON object");
  }
  *found = true;
  *out = std::move(r.body);
  return Status::Ok();
}

Status K8sClient::GetSecret(const std::string& ns, const std::string& name,
                            const Deadline& deadline, json* out, bool* found) {
  return GetObject(SecretPath(ns, name), deadline, out, found);
}

Status K8sClient::CreateSecret(const std::string& ns, const json& secret, const Deadline& deadline,
                               json* out, bool* conflict) {
  std::string path = SecretPath(ns, "");
  K8sResponse r;
  INITKIT_RETURN_IF_ERROR(Call("POST", path, &secret, deadline, &r));
  *conflict = r.code == 409;
  if (*conflict) return Status::Ok();
  if (r.code / 100 != 2) return ErrorFor("POST", path, r);
  *out = std::move(r.body);
  return Status::Ok();
}

Status K8sClient::UpdateSecret(const std::string& ns, const std::string& name, const json& secret,
                               const Deadline& deadline, json* out, bool* conflict) {
  std::string path = SecretPath(ns, name);
  K8sResponse r;
  INITKIT_RETURN_IF_ERROR(Call("PUT", path, &secret, deadline, &r));
  // A 404 means it was deleted since we read it: re-reading will create it.
  *conflict = r.code == 409 || r.code == 404;
  if (*conflict) return Status::Ok();
  if (r.code / 100 != 2) return ErrorFor("PUT", path, r);
  *out = std::move(r.body);
  return Status::Ok();
}

Status K8sClient::DeleteSecret(const std::string& ns, const std::string& name,
                               const Deadline& deadline, bool* existed) {
  std::string path = SecretPath(ns, name);
  K8sResponse r;
  INITKIT_RETURN_IF_ERROR(Call("DELETE", path, nullptr, deadline, &r));
  *existed = r.code != 404;
  if (r.code == 404 || r.code / 100 == 2) return Status::Ok();
  return ErrorFor("DELETE", path, r);
}

Status K8sClient::ModifySecret(const std::string& ns, const std::string& name,
                               const Deadline& deadline, const SecretMutator& mutate, json* result,
                               int* conflicts) {
  *conflicts = 0;
  Backoff pause(options_.conflict_backoff);
  for (int attempt = 1;; ++attempt) {
    json current;
    bool found = false;
    INITKIT_RETURN_IF_ERROR(GetSecret(ns, name, deadline, &current, &found));
    json desired;
    bool write = false;
    INITKIT_RETURN_IF_ERROR(mutate(found ? &current : nullptr, &desired, &write));
    if (!write) {
      *result = found ? std::move(current) : json(nullptr);
      return Status::Ok();
    }
    desired["apiVersion"] = "v1";
    desired["kind"] = "Secret";
    desired["metadata"]["name"] = name;
    desired["metadata"]["namespace"] = ns;
    bool conflict = false;
    if (found) {
      desired["metadata"]["resourceVersion"] = current["metadata"].value("resourceVersion", "");
      INITKIT_RETURN_IF_ERROR(UpdateSecret(ns, name, desired, deadline, result, &conflict));
    } else {
      desired["metadata"].erase("resourceVersion");
      INITKIT_RETURN_IF_ERROR(CreateSecret(ns, desired, deadline, result, &conflict));
    }
    if (!conflict) return Status::Ok();
    ++*conflicts;
    log::Info("Secret changed while we wrote it; re-reading and re-applying",
              {{"secret", ns + "/" + name}, {"attempt", attempt}});
    if (attempt >= options_.conflict_attempts) {
      return Status::Failed("Secret " + ns + "/" + name + ": still conflicting after " +
                            std::to_string(attempt) +
                            " write attempts (someone else keeps changing it)");
    }
    if (deadline.Expired()) {
      return Status::NotReady("Secret " + ns + "/" + name + ": deadline passed while resolving " +
                              "write conflicts");
    }
    if (!signals::SleepFor(std::min(pause.Next(), deadline.Remaining()))) {
      return Status::Interrupted(signals::StopSignal());
    }
  }
}

}  // namespace initkit
