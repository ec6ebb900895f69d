#include "tests/fakes/k8s_rbac.h"

#include <algorithm>

#include "common/random.h"
#include "tests/fakes/k8s_fake.h"
#include "tests/fakes/test_util.h"

namespace initkit::testing {

using nlohmann::json;

namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos < path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    if (slash > pos) parts.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

bool Contains(const json& list, const std::string& value) {
  if (!list.is_array()) return false;
  for (const json& v : list) {
    if (v.is_string() && (v == "*" || v == value)) return true;
  }
  return false;
}

std::string KeyOf(const json& object, const std::string& ns) {
  const json& md = object.value("metadata", json::object());
  return md.value("namespace", ns) + "/" + md.value("name", "");
}

}  // namespace

K8sRequestInfo ParseK8sRequest(const std::string& method, const std::string& path,
                               const std::string& query) {
  K8sRequestInfo info;
  std::vector<std::string> p = SplitPath(path);
  std::size_t i = 0;
  if (p.size() >= 2 && p[0] == "api") {
    i = 2;  // /api/v1
  } else if (p.size() >= 3 && p[0] == "apis") {
    info.api_group = p[1];
    i = 3;  // /apis/GROUP/VERSION
  } else {
    return info;  // /version, /healthz, /openapi: not resource requests
  }
  if (i >= p.size()) return info;
  info.resource_request = true;
  if (p[i] == "namespaces" && i + 2 < p.size()) {
    info.ns = p[i + 1];
    i += 2;
  }
  if (i < p.size()) info.resource = p[i];
  if (i + 1 < p.size()) info.name = p[i + 1];
  if (i + 2 < p.size()) info.subresource = p[i + 2];
  bool watch =
      query.find("watch=true") != std::string::npos || query.find("watch=1") != std::string::npos;
  if (method == "POST") {
    info.verb = "create";
  } else if (method == "GET" || method == "HEAD") {
    info.verb = watch ? "watch" : info.name.empty() ? "list" : "get";
  } else if (method == "PUT") {
    info.verb = "update";
  } else if (method == "PATCH") {
    info.verb = "patch";
  } else if (method == "DELETE") {
    info.verb = info.name.empty() ? "deletecollection" : "delete";
  } else {
    info.verb = "";
  }
  return info;
}

std::string K8sRbac::IssueToken(const std::string& ns, const std::string& service_account) {
  std::string raw;
  (void)RandomAlnum(40, &raw);
  std::string token = "sa-" + raw;
  RegisterCredential(token, "service-account token " + ns + "/" + service_account);
  std::lock_guard<std::mutex> l(mu_);
  tokens_[token] = {ns, service_account};
  return token;
}

bool K8sRbac::Apply(const json& object, const std::string& ns) {
  std::string kind = object.value("kind", "");
  std::lock_guard<std::mutex> l(mu_);
  if (kind == "Role") {
    roles_[KeyOf(object, ns)] = object;
  } else if (kind == "RoleBinding") {
    bindings_[KeyOf(object, ns)] = object;
  } else {
    return false;
  }
  return true;
}

bool K8sRbac::Delete(const std::string& kind, const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  if (kind == "Role") return roles_.erase(ns + "/" + name) > 0;
  if (kind == "RoleBinding") return bindings_.erase(ns + "/" + name) > 0;
  return false;
}

bool K8sRbac::Allowed(const std::string& ns, const std::string& sa,
                      const K8sRequestInfo& info) const {
  if (info.ns.empty()) return false;  // cluster-scoped: only ClusterRoles could allow it
  std::string resource =
      info.subresource.empty() ? info.resource : info.resource + "/" + info.subresource;
  for (const auto& [key, binding] : bindings_) {
    if (key.rfind(info.ns + "/", 0) != 0) continue;
    bool subject = false;
    for (const json& s : binding.value("subjects", json::array())) {
      // A ServiceAccount subject without a namespace is invalid in a real
      // cluster except that kubectl defaults it to the binding's namespace.
      if (s.value("kind", "") == "ServiceAccount" && s.value("name", "") == sa &&
          s.value("namespace", info.ns) == ns) {
        subject = true;
      }
    }
    const json& ref = binding.value("roleRef", json::object());
    if (!subject || ref.value("kind", "") != "Role") continue;
    auto role = roles_.find(info.ns + "/" + ref.value("name", ""));
    if (role == roles_.end()) continue;
    for (const json& rule : role->second.value("rules", json::array())) {
      if (!Contains(rule.value("apiGroups", json::array()), info.api_group)) continue;
      if (!Contains(rule.value("resources", json::array()), resource)) continue;
      if (!Contains(rule.value("verbs", json::array()), info.verb)) continue;
      const json names = rule.value("resourceNames", json::array());
      if (!names.empty() && (info.name.empty() || !Contains(names, info.name))) continue;
      return true;
    }
  }
  return false;
}

std::optional<FakeResponse> K8sRbac::Authorize(const FakeRequest& req) {
  auto answer = [](int code, const json& body) {
    FakeResponse r;
    r.status = code;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = body.dump();
    return r;
  };
  K8sRequestInfo info = ParseK8sRequest(req.method, req.path, req.query);
  std::lock_guard<std::mutex> l(mu_);
  auto auth = req.headers.find("authorization");
  auto tok = tokens_.end();
  if (auth != req.headers.end() && auth->second.rfind("Bearer ", 0) == 0) {
    tok = tokens_.find(auth->second.substr(7));
  }
  if (tok == tokens_.end()) {
    decisions_.push_back({"", info, false});
    return answer(401, K8sStatus(401, "Unauthorized", "Unauthorized"));
  }
  const auto& [ns, sa] = tok->second;
  std::string user = "system:serviceaccount:" + ns + ":" + sa;
  bool allowed = info.resource_request && Allowed(ns, sa, info);
  decisions_.push_back({user, info, allowed});
  if (allowed) return std::nullopt;
  // The message of the real server (staging/src/k8s.io/apiserver/pkg/
  // endpoints/handlers/responsewriters/errors.go, ForbiddenStatus).
  std::string what = info.resource;
  if (!info.subresource.empty()) what += "/" + info.subresource;
  std::string subject = info.name.empty() ? what : what + " \"" + info.name + "\"";
  std::string message =
      subject + " is forbidden: User \"" + user + "\" cannot " + info.verb + " resource \"" + what +
      "\" in API group \"" + info.api_group + "\"" +
      (info.ns.empty() ? " at the cluster scope" : " in the namespace \"" + info.ns + "\"");
  json status = K8sStatus(403, "Forbidden", message);
  status["details"] = {{"name", info.name}, {"kind", info.resource}};
  if (!info.api_group.empty()) status["details"]["group"] = info.api_group;
  return answer(403, status);
}

std::vector<RbacDecision> K8sRbac::decisions() const {
  std::lock_guard<std::mutex> l(mu_);
  return decisions_;
}

}  // namespace initkit::testing
