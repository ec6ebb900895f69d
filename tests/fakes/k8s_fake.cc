#include "tests/fakes/k8s_fake.h"

#include <cctype>
#include <fstream>

#include "common/random.h"
#include "tests/fakes/test_util.h"

namespace initkit::testing {

using nlohmann::json;

json K8sStatus(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason},
          {"code", code}};
}

namespace {

FakeResponse Json(int status, const json& body) {
  FakeResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = body.dump();
  return r;
}

FakeResponse Error(int code, const std::string& reason, const std::string& message) {
  return Json(code, K8sStatus(code, reason, message));
}

bool ValidName(const std::string& n) {
  if (n.empty() || n.size() > 253) return false;
  if (!std::isalnum(static_cast<unsigned char>(n.front())) ||
      !std::isalnum(static_cast<unsigned char>(n.back()))) {
    return false;
  }
  for (char c : n) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

bool ValidKey(const std::string& k) {
  if (k.empty() || k.size() > 253 || k == "." || k == "..") return false;
  for (char c : k) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  }
  return true;
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    parts.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

std::string Now() { return "2026-01-01T00:00:00Z"; }

// A Secret value is a credential for the suite-wide leak scan, except the
// ones meant to be shown (client ids, public keys).
void RegisterSecretValue(const std::string& key, const std::string& value) {
  std::string k;
  for (char c : key) k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (k.ends_with("_id") || k.find("public") != std::string::npos) return;
  RegisterCredential(value, "k8s Secret value " + key);
}

}  // namespace

K8sFake::K8sFake() : K8sFake(Options()) {}

K8sFake::K8sFake(Options options) : options_(std::move(options)) {
  RegisterCredential(token_, "k8s bearer token");
  const TestPki& pki = GetTestPki();
  HttpServer::Tls tls{options_.named_certificate ? pki.named_server_cert_pem : pki.server_cert_pem,
                      options_.named_certificate ? pki.named_server_key_pem : pki.server_key_pem,
                      ""};
  if (!options_.client_cert_users.empty()) {
    tls.client_ca_pem = pki.ca_pem;
    tls.client_cert_optional = true;
  }
  server_ = std::make_unique<HttpServer>(
      [this](const FakeRequest& r) { return Handle(r); }, tls,
      options_.ipv6 ? HttpServer::Family::kIpv6 : HttpServer::Family::kIpv4);
}

K8sFake::~K8sFake() {
  faults_.ReleaseHeld(FaultHooks::Release::kDrop);  // a held handler would block Stop()
  server_->Stop();
}

std::string K8sFake::base_url() const { return server_->base_url(); }

void K8sFake::SetToken(const std::string& token) {
  std::lock_guard<std::mutex> l(mu_);
  token_ = token;
  RegisterCredential(token, "k8s bearer token");
}

std::string K8sFake::token() const {
  std::lock_guard<std::mutex> l(mu_);
  return token_;
}

void K8sFake::WriteKubeconfig(const std::string& path, const std::string& ns) const {
  std::string ca = Base64Encode(GetTestPki().ca_pem);
  std::string text =
      "apiVersion: v1\n"
      "kind: Config\n"
      "clusters:\n"
      "- cluster:\n"
      "    certificate-authority-data: " +
      ca +
      "\n"
      "    server: " +
      base_url() +
      "\n"
      "  name: fake\n"
      "contexts:\n"
      "- context:\n"
      "    cluster: fake\n"
      "    namespace: " +
      ns +
      "\n"
      "    user: tester\n"
      "  name: fake-ctx\n"
      "current-context: fake-ctx\n"
      "preferences: {}\n"
      "users:\n"
      "- name: tester\n"
      "  user:\n"
      "    token: " +
      token() + "\n";
  WriteFile(path, text, 0600);
}

std::map<std::string, std::string> K8sFake::WriteServiceAccount(const std::string& dir,
                                                                const std::string& ns) const {
  WriteFile(dir + "/token", token(), 0600);
  WriteFile(dir + "/ca.crt", GetTestPki().ca_pem, 0644);
  WriteFile(dir + "/namespace", ns, 0644);
  return {{"KUBERNETES_SERVICE_HOST", options_.ipv6 ? "::1" : "localhost"},
          {"KUBERNETES_SERVICE_PORT", std::to_string(server_->port())},
          {"INITKIT_SERVICEACCOUNT_DIR", dir}};
}

bool K8sFake::GetSecret(const std::string& ns, const std::string& name, json* out) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = secrets_.find(ns + "/" + name);
  if (it == secrets_.end()) return false;
  *out = it->second;
  return true;
}

std::map<std::string, std::string> K8sFake::SecretData(const std::string& ns,
                                                       const std::string& name) const {
  std::map<std::string, std::string> out;
  json s;
  if (!GetSecret(ns, name, &s) || !s.contains("data")) return out;
  for (auto it = s["data"].begin(); it != s["data"].end(); ++it) {
    std::string v;
    Base64Decode(it->get<std::string>(), &v);
    out[it.key()] = v;
  }
  return out;
}

std::map<std::string, std::string> K8sFake::SecretAnnotations(const std::string& ns,
                                                              const std::string& name) const {
  std::map<std::string, std::string> out;
  json s;
  if (!GetSecret(ns, name, &s)) return out;
  const json& a = s["metadata"].value("annotations", json::object());
  for (auto it = a.begin(); it != a.end(); ++it) out[it.key()] = it->get<std::string>();
  return out;
}

void K8sFake::PutSecret(const std::string& ns, const std::string& name,
                        const std::map<std::string, std::string>& data,
                        const std::map<std::string, std::string>& annotations,
                        const std::map<std::string, std::string>& labels) {
  std::lock_guard<std::mutex> l(mu_);
  json d = json::object();
  for (const auto& [k, v] : data) d[k] = Base64Encode(v);
  for (const auto& [k, v] : data) RegisterSecretValue(k, v);
  json md = {{"name", name},
             {"namespace", ns},
             {"uid", "uid-" + name},
             {"creationTimestamp", Now()},
             {"resourceVersion", std::to_string(++rv_)}};
  if (!annotations.empty()) md["annotations"] = annotations;
  if (!labels.empty()) md["labels"] = labels;
  secrets_[ns + "/" + name] = {
      {"apiVersion", "v1"}, {"kind", "Secret"}, {"type", "Opaque"}, {"metadata", md}, {"data", d}};
}

void K8sFake::ModifySecret(const std::string& ns, const std::string& name,
                           const std::function<void(json&)>& change) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = secrets_.find(ns + "/" + name);
  if (it == secrets_.end()) return;
  change(it->second);
  it->second["metadata"]["resourceVersion"] = std::to_string(++rv_);
}

void K8sFake::DeleteSecret(const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  secrets_.erase(ns + "/" + name);
}

void K8sFake::SetObject(const std::string& path, const json& obj) {
  std::lock_guard<std::mutex> l(mu_);
  objects_[path] = obj;
}

void K8sFake::FailNext(int n, int status, int retry_after_seconds) {
  std::lock_guard<std::mutex> l(mu_);
  fail_next_ = n;
  fail_status_ = status;
  fail_retry_after_ = retry_after_seconds;
}

void K8sFake::ConflictNextWrites(int n) {
  std::lock_guard<std::mutex> l(mu_);
  conflict_next_ = n;
}

void K8sFake::SetLatency(std::chrono::milliseconds d) {
  std::lock_guard<std::mutex> l(mu_);
  latency_ = d;
}

void K8sFake::Forbid(const std::string& verb, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  forbidden_.insert({verb, name});
}

void K8sFake::SetAuthorizer(Authorizer authorize) {
  std::lock_guard<std::mutex> l(mu_);
  authorize_ = std::move(authorize);
}

int K8sFake::requests() const {
  std::lock_guard<std::mutex> l(mu_);
  return requests_;
}
int K8sFake::writes() const {
  std::lock_guard<std::mutex> l(mu_);
  return writes_;
}
int K8sFake::conflicts() const {
  std::lock_guard<std::mutex> l(mu_);
  return conflicts_;
}
int K8sFake::unauthorized() const {
  std::lock_guard<std::mutex> l(mu_);
  return unauthorized_;
}
int K8sFake::unconditional_updates() const {
  std::lock_guard<std::mutex> l(mu_);
  return unconditional_;
}
std::vector<std::string> K8sFake::authenticated_as() const {
  std::lock_guard<std::mutex> l(mu_);
  return authenticated_as_;
}
std::vector<FakeRequest> K8sFake::request_log() const { return server_->requests(); }

FakeResponse K8sFake::Handle(const FakeRequest& req) {
  FaultHooks::Scope fault = faults_.Enter(req);  // may hold the request; outside mu_
  if (fault.response) return *fault.response;
  std::lock_guard<std::mutex> l(mu_);
  ++requests_;
  FakeResponse r = [&]() -> FakeResponse {
    // The union authenticator: a bearer token, else a verified client
    // certificate whose CN is a known user. An authorizer hook (RBAC) replaces
    // the token check.
    auto auth = req.headers.find("authorization");
    if (authorize_) {
      if (std::optional<FakeResponse> denied = authorize_(req)) {
        if (denied->status == 401) ++unauthorized_;
        return *denied;
      }
      authenticated_as_.push_back("authorizer");
    } else if (auth != req.headers.end() && auth->second == "Bearer " + token_) {
      authenticated_as_.push_back("token");
    } else if (auth == req.headers.end() && !req.client_cert_cn.empty() &&
               options_.client_cert_users.count(req.client_cert_cn)) {
      authenticated_as_.push_back("cert:" + req.client_cert_cn);
    } else {
      ++unauthorized_;
      return Error(401, "Unauthorized", "Unauthorized");
    }
    if (fail_next_ > 0) {
      --fail_next_;
      if (fail_status_ == 429) {
        json st = K8sStatus(429, "TooManyRequests", "Too many requests, please try again later.");
        FakeResponse r = Json(429, st);
        if (fail_retry_after_ > 0) {
          r.headers.emplace_back("Retry-After", std::to_string(fail_retry_after_));
          st["details"] = {{"retryAfterSeconds", fail_retry_after_}};
          r.body = st.dump();
        }
        return r;
      }
      FakeResponse r =
          Error(fail_status_, fail_status_ == 503 ? "ServiceUnavailable" : "InternalError",
                "the server is currently unable to handle the request");
      if (fail_retry_after_ > 0) {
        r.headers.emplace_back("Retry-After", std::to_string(fail_retry_after_));
      }
      return r;
    }
    std::vector<std::string> p = Split(req.path);
    // /api/v1/namespaces/{ns}/secrets[/{name}]
    if (p.size() >= 5 && p.size() <= 6 && p[0] == "api" && p[1] == "v1" && p[2] == "namespaces" &&
        p[4] == "secrets") {
      return HandleSecrets(req, p[3], p.size() == 6 ? p[5] : "");
    }
    if (req.method == "PATCH") return HandlePatch(req);
    auto it = objects_.find(req.path);
    if (req.method == "GET" && it != objects_.end()) return Json(200, it->second);
    if (req.method != "GET")
      return Error(405, "MethodNotAllowed",
                   "the server does not allow this method on the requested resource");
    return Error(404, "NotFound", "the server could not find the requested resource");
  }();
  r.delay = latency_;
  return r;
}

FakeResponse K8sFake::HandleSecrets(const FakeRequest& req, const std::string& ns,
                                    const std::string& name) {
  std::string key = ns + "/" + name;
  auto not_found = [&] {
    json s = K8sStatus(404, "NotFound", "secrets \"" + name + "\" not found");
    s["details"] = {{"name", name}, {"kind", "secrets"}};
    return Json(404, s);
  };
  auto forbidden = [&](const std::string& verb) {
    return Error(403, "Forbidden",
                 "secrets \"" + name + "\" is forbidden: User \"system:serviceaccount:" + ns +
                     ":initkit\" cannot " + verb +
                     " resource \"secrets\" in API group \"\" in "
                     "the namespace \"" +
                     ns + "\"");
  };
  std::string verb = req.method == "GET"      ? "get"
                     : req.method == "POST"   ? "create"
                     : req.method == "PUT"    ? "update"
                     : req.method == "DELETE" ? "delete"
                                              : "";
  if (verb.empty()) return Error(405, "MethodNotAllowed", "method not allowed");
  if (forbidden_.count({verb, name})) return forbidden(verb);
  if ((req.method == "POST") != name.empty() && req.method != "GET") {
    return Error(405, "MethodNotAllowed",
                 "the server does not allow this method on the requested resource");
  }
  if (req.method == "GET") {
    if (name.empty()) {
      json items = json::array();
      for (const auto& [k, v] : secrets_) {
        if (k.rfind(ns + "/", 0) == 0) items.push_back(v);
      }
      return Json(200, {{"kind", "SecretList"}, {"apiVersion", "v1"}, {"items", items}});
    }
    auto it = secrets_.find(key);
    if (it == secrets_.end()) return not_found();
    return Json(200, it->second);
  }
  if (req.method == "DELETE") {
    if (!secrets_.erase(key)) return not_found();
    return Json(200, {{"kind", "Status"},
                      {"apiVersion", "v1"},
                      {"status", "Success"},
                      {"details", {{"name", name}, {"kind", "secrets"}}}});
  }
  // POST / PUT: validate like the API server does.
  auto ct = req.headers.find("content-type");
  if (ct == req.headers.end() || ct->second.rfind("application/json", 0) != 0) {
    return Error(415, "UnsupportedMediaType", "the body of the request was in an unknown format");
  }
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return Error(400, "BadRequest", "the object provided is not valid JSON");
  }
  if (body.value("kind", "") != "Secret" || body.value("apiVersion", "") != "v1") {
    return Error(400, "BadRequest",
                 "the API version in the data does not match the expected API version or kind");
  }
  json& md = body["metadata"];
  if (!md.is_object()) return Error(422, "Invalid", "Secret is invalid: metadata: Required value");
  std::string obj_name = md.value("name", "");
  if (!ValidName(obj_name)) {
    return Error(422, "Invalid",
                 "Secret \"" + obj_name +
                     "\" is invalid: metadata.name: Invalid value: a lowercase RFC 1123 subdomain "
                     "must consist of lower case alphanumeric characters, '-' or '.'");
  }
  if (!name.empty() && obj_name != name) {
    return Error(400, "BadRequest",
                 "the name of the object (" + obj_name + ") does not match the name on the URL (" +
                     name + ")");
  }
  if (md.contains("namespace") && md["namespace"] != ns) {
    return Error(
        400, "BadRequest",
        "the namespace of the provided object does not match the namespace sent on the request");
  }
  json data = body.value("data", json::object());
  if (!data.is_object()) return Error(400, "BadRequest", "data must be an object");
  for (auto it = data.begin(); it != data.end(); ++it) {
    std::string v;
    if (!it->is_string() || !Base64Decode(it->get<std::string>(), &v)) {
      return Error(400, "BadRequest", "illegal base64 data in data[" + it.key() + "]");
    }
    RegisterSecretValue(it.key(), v);
    if (!ValidKey(it.key())) {
      return Error(422, "Invalid",
                   "Secret \"" + obj_name + "\" is invalid: data[" + it.key() +
                       "]: Invalid value: a valid config key must consist of alphanumeric "
                       "characters, '-', '_' or '.'");
    }
  }
  if (body.contains("stringData")) {
    for (auto it = body["stringData"].begin(); it != body["stringData"].end(); ++it) {
      data[it.key()] = Base64Encode(it->get<std::string>());
      RegisterSecretValue(it.key(), it->get<std::string>());
    }
    body.erase("stringData");
  }
  body["data"] = data;
  if (!body.contains("type")) body["type"] = "Opaque";
  std::string key2 = ns + "/" + obj_name;
  if (req.method == "POST") {
    if (secrets_.count(key2)) {
      ++conflicts_;
      json s = K8sStatus(409, "AlreadyExists", "secrets \"" + obj_name + "\" already exists");
      s["details"] = {{"name", obj_name}, {"kind", "secrets"}};
      return Json(409, s);
    }
    if (md.contains("resourceVersion") && !md["resourceVersion"].get<std::string>().empty()) {
      return Error(500, "InternalError",
                   "resourceVersion should not be set on objects to be created");
    }
    md["namespace"] = ns;
    md["uid"] = "uid-" + obj_name + "-" + std::to_string(rv_);
    md["creationTimestamp"] = Now();
    md["resourceVersion"] = std::to_string(++rv_);
    secrets_[key2] = body;
    ++writes_;
    return Json(201, body);
  }
  // PUT
  auto it = secrets_.find(key2);
  if (it == secrets_.end()) return not_found();
  if (conflict_next_ > 0) {
    --conflict_next_;
    // Another writer: touch a label so the object really changed.
    it->second["metadata"]["labels"]["fake/other-writer"] = std::to_string(rv_);
    it->second["metadata"]["resourceVersion"] = std::to_string(++rv_);
  }
  std::string sent = md.value("resourceVersion", "");
  // Secrets allow unconditional updates (see the header): no precondition.
  if (sent.empty()) ++unconditional_;
  if (!sent.empty() && sent != it->second["metadata"]["resourceVersion"].get<std::string>()) {
    ++conflicts_;
    json s = K8sStatus(409, "Conflict",
                       "Operation cannot be fulfilled on secrets \"" + obj_name +
                           "\": the object has been modified; please apply your changes to the "
                           "latest version and try again");
    s["details"] = {{"name", obj_name}, {"kind", "secrets"}};
    return Json(409, s);
  }
  md["namespace"] = ns;
  md["uid"] = it->second["metadata"]["uid"];
  md["creationTimestamp"] = it->second["metadata"]["creationTimestamp"];
  md["resourceVersion"] = std::to_string(++rv_);
  it->second = body;
  ++writes_;
  return Json(200, body);
}

}  // namespace initkit::testing
