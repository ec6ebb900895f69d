// Keycloak admin API client (client-credentials) and the admin-SSO client sync.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/http.h"
#include "common/retry.h"
#include "common/status.h"
#include "tools/secrets/spec.h"
#include "tools/secrets/store.h"

namespace initkit::secrets {

/// The Secret keys of the dedicated Keycloak Secret.
inline constexpr const char* kSsoClientIdKey = "APP_ADMIN_SSO_CLIENT_ID";
inline constexpr const char* kSsoClientSecretKey = "APP_ADMIN_SSO_CLIENT_SECRET";

/// Connection settings of the admin API.
struct KeycloakConnection {
  std::string url;  // base URL, with "/auth" for Keycloak < 17
  std::string admin_realm = "master";
  std::string admin_client_id;
  std::string admin_client_secret;
  std::string realm;  // where the app's client lives
  std::string ca_file;
  Millis request_timeout{10000};
};

/// KeycloakClient: a client-credentials token (re-fetched before it
/// expires and after a 401) and the clients endpoints of one realm.
/// Transport errors and 5xx are retried until the deadline (then NotReady).
class KeycloakClient {
 public:
  KeycloakClient(KeycloakConnection conn, Deadline deadline);

  /// The client whose clientId is `client_id`; *found=false on an empty list.
  Status FindClient(const std::string& client_id, nlohmann::json* rep, bool* found);
  /// *visible=false when a one-entry page of the realm's clients comes back
  /// empty: Keycloak filters out clients the caller may not view, and a realm
  /// always has built-in clients, so then no empty search can be trusted.
  Status AnyClientVisible(bool* visible);
  /// POST; *id from the Location header. *conflict=true (Ok) on 409.
  Status CreateClient(const nlohmann::json& rep, std::string* id, bool* conflict);
  Status UpdateClient(const std::string& id, const nlohmann::json& rep);
  /// *existed=false (Ok) on 404.
  Status DeleteClient(const std::string& id, bool* existed);
  Status GetClientSecret(const std::string& id, std::string* secret);

  int token_fetches() const { return token_fetches_; }
  const KeycloakConnection& connection() const { return conn_; }

 private:
  Status FetchToken();
  Status Admin(const std::string& method, const std::string& path, const nlohmann::json* body,
               HttpResponse* out);
  Status Send(HttpRequest req, HttpResponse* out);
  Status ErrorFor(const std::string& method, const std::string& path, const HttpResponse& r);

  KeycloakConnection conn_;
  Deadline deadline_;
  HttpClient http_;
  std::string token_;
  Clock::time_point token_expiry_{};
  int token_fetches_ = 0;
};

/// What SyncKeycloak/TeardownKeycloak did, for the summary.
struct KeycloakResult {
  std::string client;  // created|updated|unchanged|deleted|absent|would-sync
  std::string secret;  // generated|kept|corrected|deleted|absent
  std::string stored_secret_name;
};

/// The client representation we want (without the secret).
nlohmann::json DesiredClient(const KeycloakSpec& spec);

/// Makes Keycloak match the spec and the dedicated Secret `spec.secret` in
/// `store`: a missing client secret is generated and stored first (so a
/// crash can never lose it), then the client is created with it or updated
/// so that its settings and secret match. Stored values win.
Status SyncKeycloak(const KeycloakSpec& spec, SecretStore* store, KeycloakClient* kc, bool dry_run,
                    KeycloakResult* out);

/// Deletes the client and then the dedicated Secret; already gone is success.
/// An empty client search is trusted only when the account sees some client
/// (AnyClientVisible); otherwise Failed naming the missing role, Secret kept.
Status TeardownKeycloak(const KeycloakSpec& spec, SecretStore* store, KeycloakClient* kc,
                        bool dry_run, KeycloakResult* out);

/// Pure readers of Keycloak's JSON answers (KeycloakClient uses them; fuzzed
/// by fuzz/keycloak_fuzz.cc). None throws, whatever the body.
/// The token endpoint's 200 body: a non-empty access_token, and expires_in
/// seconds (60 when absent) clamped to [0, 86400]. Failed without a token.
Status ParseTokenResponse(std::string_view body, std::string* token, std::chrono::seconds* ttl);
/// An error body's errorMessage, error_description or error (the first
/// that is a string); "" when there is none.
std::string ErrorDetail(std::string_view body);
/// A GET /clients?clientId= body: *rep is the entry whose clientId is
/// `client_id` (its "id", when present, is a string). Failed when the body
/// is not a JSON array or the match has a non-string id.
Status FindClientInList(std::string_view body, const std::string& client_id, nlohmann::json* rep,
                        bool* found);

/// Where the realm-admin roles (view-clients, manage-clients) of `realm`
/// live for an admin account of `admin_realm`, in words for messages:
/// master -> the master realm's "<realm>-realm" client; else the realm's
/// "realm-management" client.
std::string RoleHint(const std::string& admin_realm, const std::string& realm);

}  // namespace initkit::secrets
