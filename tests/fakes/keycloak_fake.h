// A strict fake of Keycloak's token endpoint and admin clients API.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/fakes/fault_hooks.h"
#include "tests/fakes/http_server.h"

namespace initkit::testing {

/// KeycloakFake answers POST {base}/realms/{admin}/protocol/openid-connect/token
/// (client_credentials only; wrong credentials 401) and, with a valid
/// unexpired bearer token (else 401), {base}/admin/realms/{realm}/clients:
/// list (?clientId= exact, ?first=&max= paging), create (201 + Location, 409
/// duplicate clientId), get/update/delete by id (404 when absent),
/// client-secret get/regenerate. Unknown realms are 404. Plain HTTP on loopback.
///
/// Where real Keycloak surprises, the fake does what it does (read in
/// keycloak/keycloak, services/.../resources/admin/ClientsResource.java,
/// ClientResource.java, model/jpa/.../ClientAdapter.java and
/// RepresentationToModel.updateClient):
/// - redirectUris and webOrigins are sets: the entity holds Set<String> and an
///   update stores `new HashSet<>(rep.getRedirectUris())`, so they come back
///   de-duplicated and in HashSet iteration order, not in the order sent. The
///   fake orders them as java.util.HashSet iterates (String.hashCode, spread,
///   bucket index of a table of 16 doubling at 0.75 load).
/// - An account with query-clients only (Options::query_only): getClients
///   calls requireList() and then drops every client the caller cannot view,
///   so lists (with or without ?clientId=) are 200 []; createClient calls
///   requireManage() before the duplicate check, so POST is 403 even when the
///   clientId exists; /clients/{id} of an existing client is 403 (ClientResource
///   requireView/requireManage), of an unknown id 404 (canList() is true, so it
///   does not hide that the id is unknown).
class KeycloakFake {
 public:
  struct Options {
    std::string base_path;  // "" or "/auth" (Keycloak < 17)
    std::string admin_realm = "master";
    std::string admin_client_id = "initkit-admin";
    std::string admin_client_secret = "fake-admin-secret-5f1e8c2a77";
    std::string realm = "shop";
    std::chrono::seconds token_ttl{300};
    bool query_only = false;  // the admin account holds query-clients only (see above)
  };
  explicit KeycloakFake(Options options);
  KeycloakFake() : KeycloakFake(Options()) {}
  ~KeycloakFake();

  std::string base_url() const;  // including base_path
  const Options& options() const { return options_; }

  /// Every token issued so far is now expired (401 on use).
  void ExpireTokens();
  /// Tokens expire after `n` more admin requests (token expiry mid-sync).
  void ExpireTokensAfter(int n);
  /// The next `n` admin requests get `status`.
  void FailNext(int n, int status = 503);
  /// From now on the admin account holds query-clients only (or again all roles).
  void SetQueryOnly(bool query_only);

  /// The client representation (with its secret) by clientId.
  bool FindClient(const std::string& client_id, nlohmann::json* rep) const;
  std::string ClientSecret(const std::string& client_id) const;
  /// Changes a client's secret behind the tool's back.
  void SetClientSecret(const std::string& client_id, const std::string& secret);
  /// Adds a client directly; returns its id.
  std::string AddClient(nlohmann::json rep);

  int token_requests() const;
  int creates() const;
  int updates() const;
  int deletes() const;
  int unauthorized() const;

  /// Intercepts and holds requests in flight (fault injection).
  FaultHooks& faults() { return faults_; }

 private:
  FakeResponse Handle(const FakeRequest& req);
  FakeResponse HandleAdmin(const FakeRequest& req, const std::string& realm,
                           const std::string& rest);

  Options options_;
  mutable std::mutex mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> tokens_;  // token -> expiry
  std::map<std::string, nlohmann::json> clients_;                        // id -> rep
  int expire_after_ = -1;
  int fail_next_ = 0, fail_status_ = 503;
  int token_requests_ = 0, creates_ = 0, updates_ = 0, deletes_ = 0, unauthorized_ = 0;
  int counter_ = 0;
  FaultHooks faults_;  // outlives the server's handler threads
  std::unique_ptr<HttpServer> server_;
};

}  // namespace initkit::testing
