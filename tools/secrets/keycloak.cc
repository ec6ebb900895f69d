#include "tools/secrets/keycloak.h"

#include <set>

#include "common/json_util.h"
#include "common/log.h"
#include "common/random.h"

namespace initkit::secrets {

using nlohmann::json;

std::string RoleHint(const std::string& admin_realm, const std::string& realm) {
  // Realm admin roles live on a client of the realm the token comes from:
  // in the target realm on "realm-management", in master on "<realm>-realm"
  // (Keycloak creates one such client in master per realm).
  if (admin_realm == "master" && realm != "master") {
    return "the client \"" + realm + "-realm\" of the master realm (admin realm of " +
           "--keycloak-admin-client-id)";
  }
  return "the client \"realm-management\" of realm \"" + realm + "\"";
}

Status ParseTokenResponse(std::string_view body, std::string* token, std::chrono::seconds* ttl) {
  json b = json::parse(body.begin(), body.end(), nullptr, false);
  auto field = [&](const char* k) { return b.is_object() && b.contains(k) ? b[k] : json(); };
  json t = field("access_token");
  if (!t.is_string() || t.get_ref<const std::string&>().empty()) {
    return Status::Failed("Keycloak token response has no access_token");
  }
  // Clamped before any arithmetic: a huge or fractional expires_in from a
  // broken proxy must not overflow the expiry time (or the cast to integer).
  double secs = 60;
  if (json e = field("expires_in"); e.is_number()) secs = e.get<double>();
  if (!(secs >= 0)) secs = 0;
  *ttl = std::chrono::seconds(static_cast<long long>(std::min(secs, 86400.0)));
  *token = t.get<std::string>();
  return Status::Ok();
}

std::string ErrorDetail(std::string_view body) {
  json b = json::parse(body.begin(), body.end(), nullptr, false);
  if (!b.is_object()) return "";
  for (const char* k : {"errorMessage", "error_description", "error"}) {
    if (b.contains(k) && b[k].is_string()) return b[k].get<std::string>();
  }
  return "";
}

Status FindClientInList(std::string_view body, const std::string& client_id, json* rep,
                        bool* found) {
  json list = json::parse(body.begin(), body.end(), nullptr, false);
  if (!list.is_array()) return Status::Failed("not a JSON array");
  *found = false;
  for (const json& c : list) {
    // Typed checks, not json::value(): that throws on a non-string field.
    auto cid = c.is_object() ? c.find("clientId") : c.end();
    if (cid == c.end() || !cid->is_string() || cid->get_ref<const std::string&>() != client_id) {
      continue;
    }
    if (c.contains("id") && !c["id"].is_string()) {
      return Status::Failed("client \"" + client_id + "\" has a non-string id");
    }
    *rep = c;
    *found = true;
    return Status::Ok();
  }
  return Status::Ok();
}

KeycloakClient::KeycloakClient(KeycloakConnection conn, Deadline deadline)
    : conn_(std::move(conn)), deadline_(deadline) {
  while (!conn_.url.empty() && conn_.url.back() == '/') conn_.url.pop_back();
  log::AddSecret(conn_.admin_client_secret);
}

Status KeycloakClient::Send(HttpRequest req, HttpResponse* out) {
  std::string what = "Keycloak " + req.method + " " + UrlForDisplay(req.url);
  BackoffPolicy policy{Millis(100), Millis(2000), 2.0, 0.2, 0};
  return Retry(what, policy, deadline_, [&](int) -> Status {
    req.timeout = std::min(conn_.request_timeout, std::max(deadline_.Remaining(), Millis(1)));
    req.ca_file = conn_.ca_file;
    Status st = http_.Do(req, out);
    if (!st.ok()) return st;
    if (out->status == 429 || out->status >= 500) {
      return Status::NotReady(what + ": HTTP " + std::to_string(out->status));
    }
    return Status::Ok();
  });
}

Status KeycloakClient::FetchToken() {
  HttpRequest req;
  req.method = "POST";
  req.url =
      conn_.url + "/realms/" + UrlEscape(conn_.admin_realm) + "/protocol/openid-connect/token";
  req.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
  req.body = "grant_type=client_credentials&client_id=" + UrlEscape(conn_.admin_client_id) +
             "&client_secret=" + UrlEscape(conn_.admin_client_secret);
  HttpResponse r;
  auto started = Clock::now();
  INITKIT_RETURN_IF_ERROR(Send(req, &r));
  ++token_fetches_;
  if (r.status != 200) {
    std::string detail;
    json b = json::parse(r.body, nullptr, false);
    if (b.is_object() && b.contains("error") && b["error"].is_string()) {
      detail = ": " + b["error"].get<std::string>();
      if (b.contains("error_description") && b["error_description"].is_string()) {
        detail += " (" + b["error_description"].get<std::string>() + ")";
      }
    }
    return Status::Failed(log::Redact("Keycloak token request for client \"" +
                                      conn_.admin_client_id + "\" in realm \"" + conn_.admin_realm +
                                      "\": HTTP " + std::to_string(r.status) + detail));
  }
  std::chrono::seconds ttl{0};
  INITKIT_RETURN_IF_ERROR(ParseTokenResponse(r.body, &token_, &ttl));
  log::AddSecret(token_);
  // Renew a little early so a request never leaves with a token about to lapse.
  std::chrono::seconds margin = std::min(std::chrono::seconds(10), ttl / 4);
  token_expiry_ = started + (ttl - margin);
  return Status::Ok();
}

Status KeycloakClient::Admin(const std::string& method, const std::string& path, const json* body,
                             HttpResponse* out) {
  for (int round = 0;; ++round) {
    if (token_.empty() || Clock::now() >= token_expiry_) INITKIT_RETURN_IF_ERROR(FetchToken());
    HttpRequest req;
    req.method = method;
    req.url = conn_.url + "/admin/realms/" + UrlEscape(conn_.realm) + path;
    req.headers = {"Authorization: Bearer " + token_, "Accept: application/json"};
    if (body) {
      req.headers.push_back("Content-Type: application/json");
      req.body = DumpJson(*body);
    }
    INITKIT_RETURN_IF_ERROR(Send(req, out));
    if (out->status == 401 && round == 0) {
      log::Debug("Keycloak rejected the token; fetching a new one", {{"path", path}});
      token_.clear();
      continue;
    }
    return Status::Ok();
  }
}

Status KeycloakClient::ErrorFor(const std::string& method, const std::string& path,
                                const HttpResponse& r) {
  std::string detail = ErrorDetail(r.body);
  if (!detail.empty()) detail = ": " + detail;
  std::string hint;
  if (r.status == 403) {
    hint = " (the service account of --keycloak-admin-client-id \"" + conn_.admin_client_id +
           "\" lacks the role manage-clients (view-clients to read); grant it on " +
           RoleHint(conn_.admin_realm, conn_.realm) + ")";
  }
  return Status::Failed(log::Redact("Keycloak " + method + " /admin/realms/" + conn_.realm + path +
                                    ": HTTP " + std::to_string(r.status) + detail + hint));
}

Status KeycloakClient::FindClient(const std::string& client_id, json* rep, bool* found) {
  std::string path = "/clients?clientId=" + UrlEscape(client_id);
  HttpResponse r;
  INITKIT_RETURN_IF_ERROR(Admin("GET", path, nullptr, &r));
  if (r.status != 200) return ErrorFor("GET", path, r);
  Status st = FindClientInList(r.body, client_id, rep, found);
  if (!st.ok()) return st.Annotate("Keycloak GET " + path);
  if (*found && rep->contains("secret") && (*rep)["secret"].is_string()) {
    log::AddSecret((*rep)["secret"].get<std::string>());
  }
  return Status::Ok();
}

Status KeycloakClient::AnyClientVisible(bool* visible) {
  const std::string path = "/clients?first=0&max=1";
  HttpResponse r;
  INITKIT_RETURN_IF_ERROR(Admin("GET", path, nullptr, &r));
  if (r.status != 200) return ErrorFor("GET", path, r);
  json list = json::parse(r.body, nullptr, false);
  if (!list.is_array()) return Status::Failed("Keycloak GET " + path + ": not a JSON array");
  *visible = !list.empty();
  return Status::Ok();
}

Status KeycloakClient::CreateClient(const json& rep, std::string* id, bool* conflict) {
  HttpResponse r;
  INITKIT_RETURN_IF_ERROR(Admin("POST", "/clients", &rep, &r));
  *conflict = r.status == 409;
  if (*conflict) return Status::Ok();
  if (r.status != 201) return ErrorFor("POST", "/clients", r);
  std::string loc = r.Header("location");
  std::size_t slash = loc.rfind('/');
  if (loc.empty() || slash == std::string::npos || slash + 1 == loc.size()) {
    return Status::Failed("Keycloak POST /clients: 201 without a usable Location header");
  }
  *id = loc.substr(slash + 1);
  return Status::Ok();
}

Status KeycloakClient::UpdateClient(const std::string& id, const json& rep) {
  std::string path = "/clients/" + UrlEscape(id);
  HttpResponse r;
  INITKIT_RETURN_IF_ERROR(Admin("PUT", path, &rep, &r));
  if (r.status / 100 != 2) return ErrorFor("PUT", path, r);
  return Status::Ok();
}

Status KeycloakClient::DeleteClient(const std::string& id, bool* existed) {
  std::string path = "/clients/" + UrlEscape(id);
  HttpResponse r;
  INITKIT_RETURN_IF_ERROR(Admin("DELETE", path, nullptr, &r));
  *existed = r.status != 404;
  if (r.status == 404 || r.status / 100 == 2) return Status::Ok();
  return ErrorFor("DELETE", path, r);
}

Status KeycloakClient::GetClientSecret(const std::string& id, std::string* secret) {
  std::string path = "/clients/" + UrlEscape(id) + "/client-secret";
  HttpResponse r;
  INITKIT_RETURN_IF_ERROR(Admin("GET", path, nullptr, &r));
  if (r.status != 200) return ErrorFor("GET", path, r);
  json b = json::parse(r.body, nullptr, false);
  secret->clear();
  if (b.is_object() && b.contains("value") && b["value"].is_string()) {
    *secret = b["value"].get<std::string>();
    log::AddSecret(*secret);
  }
  return Status::Ok();
}

namespace {

// Keycloak keeps redirectUris and webOrigins as sets (Set<String> in the
// entity, `new HashSet<>(...)` on update): they come back de-duplicated and
// in hash order, so comparing lists would see drift on every sync.
bool SameSetting(const std::string& field, const json& have, const json& want) {
  if ((field == "redirectUris" || field == "webOrigins") && have.is_array() && want.is_array()) {
    std::set<json> a(have.begin(), have.end()), b(want.begin(), want.end());
    return a == b;
  }
  return have == want;
}

}  // namespace

json DesiredClient(const KeycloakSpec& spec) {
  json rep = {
      {"clientId", spec.client_id},
      {"enabled", true},
      {"protocol", "openid-connect"},
      {"publicClient", false},
      {"clientAuthenticatorType", "client-secret"},
      {"standardFlowEnabled", true},
      {"redirectUris", spec.redirect_uris},
      {"webOrigins", spec.web_origins.empty() ? std::vector<std::string>{"+"} : spec.web_origins},
  };
  if (!spec.root_url.empty()) rep["rootUrl"] = spec.root_url;
  return rep;
}

Status SyncKeycloak(const KeycloakSpec& spec, SecretStore* store, KeycloakClient* kc, bool dry_run,
                    KeycloakResult* out) {
  out->stored_secret_name = spec.secret;
  // 1. The dedicated Secret is the source of truth; fill it first.
  SecretData stored;
  INITKIT_RETURN_IF_ERROR(store->Read(spec.secret, &stored));
  auto value = [&](const SecretData& s, const char* k) {
    auto it = s.data.find(k);
    return it == s.data.end() ? std::string() : it->second;
  };
  std::string secret = value(stored, kSsoClientSecretKey);
  bool needs_write = secret.empty() || value(stored, kSsoClientIdKey) != spec.client_id;
  out->secret = secret.empty() ? "generated" : "kept";
  if (dry_run) {
    out->client = "would-sync";
    return Status::Ok();
  }
  if (needs_write) {
    std::string fresh;
    int conflicts = 0;
    INITKIT_RETURN_IF_ERROR(store->Modify(
        spec.secret,
        [&](const SecretData& cur, SecretData* want, bool* write) -> Status {
          *want = cur;
          std::string have = value(cur, kSsoClientSecretKey);
          if (have.empty()) {
            if (fresh.empty()) {
              INITKIT_RETURN_IF_ERROR(RandomAlnum(32, &fresh));
              log::AddSecret(fresh);
            }
            have = fresh;
          }
          want->data[kSsoClientSecretKey] = have;
          want->data[kSsoClientIdKey] = spec.client_id;
          secret = have;
          *write = want->data != cur.data || !cur.exists;
          return Status::Ok();
        },
        &conflicts));
  }
  // 2. Make Keycloak match.
  json desired = DesiredClient(spec);
  json rep;
  bool found = false;
  INITKIT_RETURN_IF_ERROR(kc->FindClient(spec.client_id, &rep, &found));
  if (!found) {
    json create = desired;
    create["secret"] = secret;
    std::string id;
    bool conflict = false;
    INITKIT_RETURN_IF_ERROR(kc->CreateClient(create, &id, &conflict));
    // A 409 after an empty search: either a concurrent run created the
    // client in between (search again and converge on it like on any later
    // sync), or the admin account cannot see clients at all.
    if (!conflict) {
      log::Info("created Keycloak client", {{"client_id", spec.client_id}, {"realm", spec.realm}});
      out->client = "created";
      return Status::Ok();
    }
    INITKIT_RETURN_IF_ERROR(kc->FindClient(spec.client_id, &rep, &found));
    if (!found) {
      return Status::Failed("Keycloak client \"" + spec.client_id +
                            "\" already exists in realm \"" + spec.realm +
                            "\", but the admin service account cannot see it (the client search "
                            "came back empty): it lacks view-clients/manage-clients; grant "
                            "manage-clients on " +
                            RoleHint(kc->connection().admin_realm, spec.realm));
    }
    log::Info("Keycloak client was created concurrently; converging on it",
              {{"client_id", spec.client_id}, {"realm", spec.realm}});
  }
  std::string id = rep.value("id", "");
  if (id.empty()) return Status::Failed("Keycloak client \"" + spec.client_id + "\" has no id");
  bool differs = false;
  for (auto it = desired.begin(); it != desired.end(); ++it) {
    if (!rep.contains(it.key()) || !SameSetting(it.key(), rep[it.key()], it.value())) {
      differs = true;
    }
  }
  std::string current_secret;
  INITKIT_RETURN_IF_ERROR(kc->GetClientSecret(id, &current_secret));
  bool secret_differs = current_secret != secret;
  if (!differs && !secret_differs) {
    out->client = "unchanged";
    return Status::Ok();
  }
  json update = rep;
  update.update(desired);
  update.erase("secret");
  if (secret_differs) update["secret"] = secret;
  INITKIT_RETURN_IF_ERROR(kc->UpdateClient(id, update));
  out->client = differs ? "updated" : "unchanged";
  if (secret_differs) {
    out->secret = "corrected";
    log::Warn("Keycloak client secret differed from the stored one; set it to the stored value",
              {{"client_id", spec.client_id}});
  }
  return Status::Ok();
}

Status TeardownKeycloak(const KeycloakSpec& spec, SecretStore* store, KeycloakClient* kc,
                        bool dry_run, KeycloakResult* out) {
  out->stored_secret_name = spec.secret;
  json rep;
  bool found = false;
  INITKIT_RETURN_IF_ERROR(kc->FindClient(spec.client_id, &rep, &found));
  if (!found) {
    // Keycloak filters out of the search what the caller may not view, so an
    // account with query-clients only sees [] while the client is live. The
    // dedicated Secret holds the only copy of its secret: delete it only when
    // the empty answer can be trusted (a realm always has built-in clients).
    bool visible = false;
    INITKIT_RETURN_IF_ERROR(kc->AnyClientVisible(&visible));
    if (!visible) {
      return Status::Failed(
          "Keycloak teardown: cannot tell whether client \"" + spec.client_id +
          "\" exists in realm \"" + spec.realm +
          "\": the admin service account sees no client at all (it lacks view-clients and "
          "manage-clients); grant manage-clients on " +
          RoleHint(kc->connection().admin_realm, spec.realm) + "; the dedicated Secret " +
          store->Describe(spec.secret) + " is kept");
    }
  }
  out->client = found ? "deleted" : "absent";
  if (found && !dry_run) {
    bool existed = false;
    INITKIT_RETURN_IF_ERROR(kc->DeleteClient(rep.value("id", ""), &existed));
    if (!existed) out->client = "absent";
  }
  SecretData stored;
  INITKIT_RETURN_IF_ERROR(store->Read(spec.secret, &stored));
  out->secret = stored.exists ? "deleted" : "absent";
  if (stored.exists && !dry_run) {
    bool existed = false;
    INITKIT_RETURN_IF_ERROR(store->Delete(spec.secret, &existed));
    if (!existed) out->secret = "absent";
  }
  return Status::Ok();
}

}  // namespace initkit::secrets
