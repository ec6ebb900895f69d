#include "tests/fakes/keycloak_fake.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/random.h"
#include "tests/fakes/test_util.h"

namespace initkit::testing {

using nlohmann::json;

namespace {

FakeResponse Json(int status, const json& body) {
  FakeResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = body.dump();
  return r;
}

// What Keycloak's ForbiddenException maps to.
FakeResponse Forbidden() { return Json(403, {{"error", "HTTP 403 Forbidden"}}); }

FakeResponse Empty(int status) {
  FakeResponse r;
  r.status = status;
  return r;
}

std::string UrlDecode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t amp = body.find('&', pos);
    if (amp == std::string::npos) amp = body.size();
    std::string part = body.substr(pos, amp - pos);
    std::size_t eq = part.find('=');
    if (eq != std::string::npos)
      out[UrlDecode(part.substr(0, eq))] = UrlDecode(part.substr(eq + 1));
    pos = amp + 1;
  }
  return out;
}

std::string Random(std::size_t n) {
  std::string s;
  (void)RandomAlnum(n, &s);  // cannot fail: the kernel always has randomness
  RegisterCredential(s, "keycloak fake token or client secret");
  return s;
}

// java.lang.String.hashCode over UTF-16 code units; ASCII (every URI and
// origin a test sends) is one unit per byte.
std::int32_t JavaHash(const std::string& s) {
  std::uint32_t h = 0;
  for (unsigned char c : s) h = 31 * h + c;
  return static_cast<std::int32_t>(h);
}

// A JSON array of strings as `new HashSet<>(list)` iterates it: duplicates
// dropped, then bucket order (HashMap.hash spreads the high bits; the table
// starts at 16 buckets and doubles above 0.75 load; a bucket keeps insertion
// order). Not the order given, which is the point.
json AsJavaHashSet(const json& list) {
  if (!list.is_array()) return list;
  std::vector<std::string> unique;
  for (const json& v : list) {
    if (!v.is_string()) return list;  // Keycloak would 400; not what these tests probe
    std::string s = v.get<std::string>();
    if (std::find(unique.begin(), unique.end(), s) == unique.end()) unique.push_back(s);
  }
  std::uint32_t buckets = 16;
  while (unique.size() > buckets * 3 / 4) buckets *= 2;
  auto bucket = [&](const std::string& s) {
    auto h = static_cast<std::uint32_t>(JavaHash(s));
    return (h ^ (h >> 16)) & (buckets - 1);
  };
  std::stable_sort(unique.begin(), unique.end(), [&](const std::string& a, const std::string& b) {
    return bucket(a) < bucket(b);
  });
  return json(unique);
}

// What ClientAdapter hands back after RepresentationToModel stored `rep`.
void StoreAsSets(json* rep) {
  for (const char* field : {"redirectUris", "webOrigins"}) {
    if (rep->contains(field)) (*rep)[field] = AsJavaHashSet((*rep)[field]);
  }
}

}  // namespace

KeycloakFake::KeycloakFake(Options options) : options_(std::move(options)) {
  RegisterCredential(options_.admin_client_secret, "keycloak admin client secret");
  // Every realm has these built-in clients (RealmManager creates them), so a
  // realm's client list is never empty for a caller that may view clients.
  for (const char* builtin : {"account", "account-console", "admin-cli", "broker",
                              "realm-management", "security-admin-console"}) {
    AddClient({{"clientId", builtin}, {"publicClient", std::string(builtin) == "admin-cli"}});
  }
  server_ = std::make_unique<HttpServer>([this](const FakeRequest& r) { return Handle(r); });
}

KeycloakFake::~KeycloakFake() {
  faults_.ReleaseHeld(FaultHooks::Release::kDrop);  // a held handler would block Stop()
  server_->Stop();
}

std::string KeycloakFake::base_url() const { return server_->base_url() + options_.base_path; }

void KeycloakFake::ExpireTokens() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [t, exp] : tokens_) exp = std::chrono::steady_clock::time_point::min();
}

void KeycloakFake::ExpireTokensAfter(int n) {
  std::lock_guard<std::mutex> l(mu_);
  expire_after_ = n;
}

void KeycloakFake::FailNext(int n, int status) {
  std::lock_guard<std::mutex> l(mu_);
  fail_next_ = n;
  fail_status_ = status;
}

void KeycloakFake::SetQueryOnly(bool query_only) {
  std::lock_guard<std::mutex> l(mu_);
  options_.query_only = query_only;
}

bool KeycloakFake::FindClient(const std::string& client_id, json* rep) const {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [id, c] : clients_) {
    if (c["clientId"] == client_id) {
      *rep = c;
      return true;
    }
  }
  return false;
}

std::string KeycloakFake::ClientSecret(const std::string& client_id) const {
  json rep;
  if (!FindClient(client_id, &rep)) return "";
  return rep.value("secret", "");
}

void KeycloakFake::SetClientSecret(const std::string& client_id, const std::string& secret) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [id, c] : clients_) {
    if (c["clientId"] == client_id) c["secret"] = secret;
  }
  RegisterCredential(secret, "keycloak client secret");
}

std::string KeycloakFake::AddClient(json rep) {
  std::lock_guard<std::mutex> l(mu_);
  std::string id;
  (void)RandomUuid(&id);
  rep["id"] = id;
  if (!rep.contains("secret")) rep["secret"] = Random(32);
  StoreAsSets(&rep);
  clients_[id] = rep;
  return id;
}

int KeycloakFake::token_requests() const {
  std::lock_guard<std::mutex> l(mu_);
  return token_requests_;
}
int KeycloakFake::creates() const {
  std::lock_guard<std::mutex> l(mu_);
  return creates_;
}
int KeycloakFake::updates() const {
  std::lock_guard<std::mutex> l(mu_);
  return updates_;
}
int KeycloakFake::deletes() const {
  std::lock_guard<std::mutex> l(mu_);
  return deletes_;
}
int KeycloakFake::unauthorized() const {
  std::lock_guard<std::mutex> l(mu_);
  return unauthorized_;
}

FakeResponse KeycloakFake::Handle(const FakeRequest& req) {
  FaultHooks::Scope fault = faults_.Enter(req);  // may hold the request; outside mu_
  if (fault.response) return *fault.response;
  std::lock_guard<std::mutex> l(mu_);
  const std::string& base = options_.base_path;
  if (req.path.rfind(base + "/", 0) != 0)
    return Json(404, {{"error", "RESTEASY003210: Could not find resource"}});
  std::string path = req.path.substr(base.size());
  std::string token_path = "/realms/" + options_.admin_realm + "/protocol/openid-connect/token";
  if (path == token_path) {
    if (req.method != "POST") return Json(405, {{"error", "HTTP 405 Method Not Allowed"}});
    auto ct = req.headers.find("content-type");
    if (ct == req.headers.end() || ct->second.rfind("application/x-www-form-urlencoded", 0) != 0) {
      return Json(400, {{"error", "invalid_request"}});
    }
    ++token_requests_;
    auto form = ParseForm(req.body);
    if (form["grant_type"] != "client_credentials") {
      return Json(400, {{"error", "unsupported_grant_type"}});
    }
    if (form["client_id"] != options_.admin_client_id ||
        form["client_secret"] != options_.admin_client_secret) {
      return Json(401, {{"error", "unauthorized_client"},
                        {"error_description", "Invalid client or Invalid client credentials"}});
    }
    std::string token = "kc-token-" + Random(24);
    tokens_[token] = std::chrono::steady_clock::now() + options_.token_ttl;
    return Json(200, {{"access_token", token},
                      {"expires_in", options_.token_ttl.count()},
                      {"token_type", "Bearer"},
                      {"scope", "profile email"}});
  }
  if (path.rfind("/realms/", 0) == 0) return Json(404, {{"error", "Realm does not exist"}});
  const std::string admin = "/admin/realms/";
  if (path.rfind(admin, 0) != 0)
    return Json(404, {{"error", "RESTEASY003210: Could not find resource"}});
  auto auth = req.headers.find("authorization");
  auto tok = auth == req.headers.end() || auth->second.rfind("Bearer ", 0) != 0
                 ? tokens_.end()
                 : tokens_.find(auth->second.substr(7));
  if (tok == tokens_.end() || std::chrono::steady_clock::now() >= tok->second) {
    ++unauthorized_;
    return Json(401, {{"error", "HTTP 401 Unauthorized"}});
  }
  if (expire_after_ >= 0 && --expire_after_ < 0) {
    for (auto& [t, exp] : tokens_) exp = std::chrono::steady_clock::time_point::min();
    ++unauthorized_;
    return Json(401, {{"error", "HTTP 401 Unauthorized"}});
  }
  if (fail_next_ > 0) {
    --fail_next_;
    return Json(fail_status_, {{"error", "unknown_error"}});
  }
  std::string rest = path.substr(admin.size());
  std::size_t slash = rest.find('/');
  std::string realm = rest.substr(0, slash);
  if (realm != options_.realm) return Json(404, {{"error", "Realm not found."}});
  return HandleAdmin(req, realm, slash == std::string::npos ? "" : rest.substr(slash));
}

FakeResponse KeycloakFake::HandleAdmin(const FakeRequest& req, const std::string& realm,
                                       const std::string& rest) {
  auto strip = [](json rep) { return rep; };
  if (rest == "/clients") {
    if (req.method == "GET") {
      std::string want;
      auto form = ParseForm(req.query);
      if (form.count("clientId")) want = form["clientId"];
      json list = json::array();
      if (!options_.query_only) {  // query-only: every client filtered out, still 200
        for (const auto& [id, c] : clients_) {
          if (want.empty() || c["clientId"] == want) list.push_back(strip(c));
        }
      }
      std::size_t first = form.count("first") ? std::stoul("0" + form["first"]) : 0;
      std::size_t max = form.count("max") ? std::stoul("0" + form["max"]) : list.size();
      json page = json::array();
      for (std::size_t i = first; i < list.size() && page.size() < max; ++i)
        page.push_back(list[i]);
      return Json(200, page);
    }
    if (req.method == "POST") {
      if (options_.query_only) return Forbidden();  // requireManage() comes first
      json rep = json::parse(req.body, nullptr, false);
      if (rep.is_discarded() || !rep.is_object() || !rep.contains("clientId") ||
          !rep["clientId"].is_string()) {
        return Json(400, {{"errorMessage", "Cannot parse the JSON"}});
      }
      for (const auto& [id, c] : clients_) {
        if (c["clientId"] == rep["clientId"]) {
          return Json(409, {{"errorMessage",
                             "Client " + rep["clientId"].get<std::string>() + " already exists"}});
        }
      }
      std::string id;
      (void)RandomUuid(&id);
      rep["id"] = id;
      if (!rep.value("publicClient", false) && !rep.contains("secret")) rep["secret"] = Random(32);
      StoreAsSets(&rep);
      clients_[id] = rep;
      RegisterCredential(rep.value("secret", ""), "keycloak client secret");
      ++creates_;
      FakeResponse r = Empty(201);
      r.headers = {{"Location", server_->base_url() + options_.base_path + "/admin/realms/" +
                                    realm + "/clients/" + id}};
      return r;
    }
    return Json(405, {{"error", "HTTP 405 Method Not Allowed"}});
  }
  if (rest.rfind("/clients/", 0) != 0)
    return Json(404, {{"error", "RESTEASY003210: Could not find resource"}});
  std::string tail = rest.substr(9);
  std::string id = tail.substr(0, tail.find('/'));
  std::string sub = tail.size() > id.size() ? tail.substr(id.size()) : "";
  auto it = clients_.find(id);
  if (it == clients_.end()) return Json(404, {{"error", "Could not find client"}});
  if (options_.query_only) return Forbidden();  // requireView / requireManage of the client
  if (sub.empty()) {
    if (req.method == "GET") return Json(200, strip(it->second));
    if (req.method == "DELETE") {
      clients_.erase(it);
      ++deletes_;
      return Empty(204);
    }
    if (req.method == "PUT") {
      json rep = json::parse(req.body, nullptr, false);
      if (rep.is_discarded() || !rep.is_object())
        return Json(400, {{"errorMessage", "Cannot parse the JSON"}});
      if (rep.contains("id") && rep["id"] != id)
        return Json(400, {{"errorMessage", "Client id mismatch"}});
      if (rep.contains("clientId") && rep["clientId"] != it->second["clientId"]) {
        for (const auto& [other, c] : clients_) {
          if (other != id && c["clientId"] == rep["clientId"])
            return Json(409, {{"errorMessage", "Client already exists"}});
        }
      }
      for (auto f = rep.begin(); f != rep.end(); ++f) it->second[f.key()] = f.value();
      it->second["id"] = id;
      StoreAsSets(&it->second);
      RegisterCredential(it->second.value("secret", ""), "keycloak client secret");
      ++updates_;
      return Empty(204);
    }
    return Json(405, {{"error", "HTTP 405 Method Not Allowed"}});
  }
  if (sub == "/client-secret") {
    if (req.method == "GET")
      return Json(200, {{"type", "secret"}, {"value", it->second.value("secret", "")}});
    if (req.method == "POST") {
      it->second["secret"] = Random(32);
      return Json(200, {{"type", "secret"}, {"value", it->second["secret"]}});
    }
  }
  return Json(404, {{"error", "RESTEASY003210: Could not find resource"}});
}

}  // namespace initkit::testing
