#include "common/k8s_kubeconfig.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <set>
#include <vector>

#include "common/file_util.h"
#include "common/k8s_yaml.h"
#include "common/log.h"
#include "common/random.h"

namespace initkit {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxKubeconfig = 4UL * 1024 * 1024;

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

std::string DirOf(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  return path.substr(0, slash == 0 ? 1 : slash);
}

// Makes the file names of one kubeconfig absolute against its directory, so
// that entries keep their meaning when merged with other files (kubectl
// resolves them against the file that defined them too).
void ResolveFileNames(json* doc, const std::string& base_dir) {
  auto resolve = [&](const char* list, const char* field, std::initializer_list<const char*> keys) {
    auto it = doc->find(list);
    if (it == doc->end() || !it->is_array()) return;
    for (json& entry : *it) {
      if (!entry.is_object() || !entry.contains(field) || !entry[field].is_object()) continue;
      json& obj = entry[field];
      for (const char* k : keys) {
        std::string v = StringAt(obj, k);
        if (!v.empty()) obj[k] = ResolvePath(base_dir, v);
      }
    }
  };
  resolve("clusters", "cluster", {"certificate-authority"});
  resolve("users", "user", {"client-certificate", "client-key", "tokenFile"});
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

Status ParseDocument(std::string_view text, const std::string& source, const std::string& base_dir,
                     json* doc) {
  INITKIT_RETURN_IF_ERROR(ParseYamlSubset(text, source, doc));
  if (doc->is_null()) *doc = json::object();
  if (!doc->is_object()) return Status::Usage(source + ": not a kubeconfig (not a mapping)");
  ResolveFileNames(doc, base_dir);
  return Status::Ok();
}

// The connection of `context` (empty = current-context) in a parsed,
// path-resolved kubeconfig.
Status ResolveContext(const json& doc, const std::string& source, const std::string& context,
                      K8sConnection* out) {
  std::string ctx_name = context.empty() ? StringAt(doc, "current-context") : context;
  if (ctx_name.empty()) {
    return Status::Usage(source + ": no current-context (pass --context NAME)");
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
  if (c.server.rfind("https://", 0) != 0 && c.server.rfind("http://", 0) != 0) {
    return Status::Usage(source + ": cluster \"" + cluster_name + "\": server \"" + c.server +
                         "\" is not an https:// URL");
  }
  c.default_namespace = StringAt(ctx, "namespace");
  if (!StringAt(cluster, "certificate-authority-data").empty()) {
    INITKIT_RETURN_IF_ERROR(DecodeData(StringAt(cluster, "certificate-authority-data"),
                                       source + ": certificate-authority-data", &c.ca_pem));
  } else if (!StringAt(cluster, "certificate-authority").empty()) {
    c.ca_file = StringAt(cluster, "certificate-authority");
  }
  // client-go's rest.TLSClientConfig.ServerName: the name the certificate
  // is checked against (and sent as SNI) instead of the server URL's host.
  c.tls_server_name = StringAt(cluster, "tls-server-name");
  // client-go's rest.Config.Proxy: http, https or socks5; overrides
  // HTTPS_PROXY / NO_PROXY from the environment.
  c.proxy_url = StringAt(cluster, "proxy-url");
  if (!c.proxy_url.empty() && c.proxy_url.rfind("http://", 0) != 0 &&
      c.proxy_url.rfind("https://", 0) != 0 && c.proxy_url.rfind("socks5://", 0) != 0) {
    return Status::Usage(source + ": cluster \"" + cluster_name + "\": proxy-url \"" + c.proxy_url +
                         "\" is not an http://, https:// or socks5:// URL");
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
  if (user.contains("exec") || user.contains("auth-provider")) {
    return Status::Usage(source + ": user \"" + user_name +
                         "\" uses exec/auth-provider credentials, which are not supported "
                         "(use a token, a token file or a client certificate)");
  }
  c.token = StringAt(user, "token");
  if (c.token.empty() && !StringAt(user, "tokenFile").empty()) {
    c.token_file = StringAt(user, "tokenFile");
  }
  if (!StringAt(user, "client-certificate-data").empty()) {
    INITKIT_RETURN_IF_ERROR(DecodeData(StringAt(user, "client-certificate-data"),
                                       source + ": client-certificate-data", &c.client_cert_pem));
  } else if (!StringAt(user, "client-certificate").empty()) {
    c.client_cert_file = StringAt(user, "client-certificate");
  }
  if (!StringAt(user, "client-key-data").empty()) {
    INITKIT_RETURN_IF_ERROR(DecodeData(StringAt(user, "client-key-data"),
                                       source + ": client-key-data", &c.client_key_pem));
  } else if (!StringAt(user, "client-key").empty()) {
    c.client_key_file = StringAt(user, "client-key");
  }
  bool has_cert = !c.client_cert_pem.empty() || !c.client_cert_file.empty();
  bool has_key = !c.client_key_pem.empty() || !c.client_key_file.empty();
  if (has_cert != has_key) {
    return Status::Usage(source + ": user \"" + user_name + "\" has a client " +
                         (has_cert ? "certificate but no key" : "key but no certificate"));
  }
  log::AddSecret(c.token);
  log::AddSecret(c.client_key_pem);
  *out = std::move(c);
  return Status::Ok();
}

// Appends the entries of `from`'s list whose names `into` does not have yet.
void MergeNamed(const json& from, const char* list, json* into) {
  auto src = from.find(list);
  if (src == from.end() || !src->is_array()) return;
  json& dst = (*into)[list];
  if (!dst.is_array()) dst = json::array();
  std::set<std::string> have;
  for (const json& e : dst) have.insert(StringAt(e, "name"));
  for (const json& e : *src) {
    if (have.insert(StringAt(e, "name")).second) dst.push_back(e);
  }
}

}  // namespace

Status ParseKubeconfig(std::string_view text, const std::string& source,
                       const std::string& base_dir, const std::string& context,
                       K8sConnection* out) {
  json doc;
  INITKIT_RETURN_IF_ERROR(ParseDocument(text, source, base_dir, &doc));
  return ResolveContext(doc, source, context, out);
}

Status LoadKubeconfig(const std::string& path, const std::string& context, K8sConnection* out) {
  std::string text;
  Status st = ReadFileToString(path, &text, kMaxKubeconfig);
  if (!st.ok()) return Status::Usage("kubeconfig: " + st.message());
  return ParseKubeconfig(text, path, DirOf(path), context, out);
}

Status LoadKubeconfigList(const std::string& list, const std::string& context, K8sConnection* out) {
  std::vector<std::string> paths;
  for (std::size_t start = 0; start <= list.size();) {
    std::size_t colon = list.find(':', start);
    if (colon == std::string::npos) colon = list.size();
    if (colon > start) paths.push_back(list.substr(start, colon - start));
    start = colon + 1;
  }
  if (paths.size() == 1) return LoadKubeconfig(paths[0], context, out);
  json merged = json::object();
  int loaded = 0;
  for (const std::string& path : paths) {
    // kubectl skips list entries that do not exist; anything else is an error.
    struct stat sb;
    if (::stat(path.c_str(), &sb) != 0 && errno == ENOENT) continue;
    std::string text;
    Status st = ReadFileToString(path, &text, kMaxKubeconfig);
    if (!st.ok()) return Status::Usage("kubeconfig: " + st.message());
    json doc;
    INITKIT_RETURN_IF_ERROR(ParseDocument(text, path, DirOf(path), &doc));
    ++loaded;
    if (StringAt(merged, "current-context").empty() && !StringAt(doc, "current-context").empty()) {
      merged["current-context"] = StringAt(doc, "current-context");
    }
    for (const char* l : {"clusters", "contexts", "users"}) MergeNamed(doc, l, &merged);
  }
  if (loaded == 0) {
    return Status::Usage("KUBECONFIG=" + list + ": none of these kubeconfig files exists");
  }
  return ResolveContext(merged, "KUBECONFIG=" + list, context, out);
}

}  // namespace initkit
