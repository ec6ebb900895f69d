// A strict fake of the Kubernetes API (Secrets, plus stored objects) over HTTPS.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/fakes/fault_hooks.h"
#include "tests/fakes/http_server.h"

namespace initkit::testing {

/// K8sFake serves /api/v1/namespaces/{ns}/secrets[/{name}] (GET, POST, PUT,
/// DELETE), GETs of objects stored with SetObject and their PATCHes
/// (k8s_fake_patch.cc), over TLS with the
/// GetTestPki() server certificate. Like the API server it is strict:
/// bearer token (or an allowed client certificate) required (401), Status
/// objects with reason/message on every error, resourceVersion bumped on each
/// write, a PUT with a stale resourceVersion refused (409), POST of an
/// existing Secret 409 AlreadyExists, PUT of a missing one 404 (no create on
/// update), name/kind mismatches 400, invalid keys 422, bad base64 400,
/// non-JSON content types 415.
///
/// Where the real server surprises, the fake follows it:
/// - A PUT of a Secret WITHOUT metadata.resourceVersion is an unconditional
///   update, not an error: kubernetes pkg/registry/core/secret/strategy.go
///   has AllowUnconditionalUpdate() true, and the generic registry
///   (k8s.io/apiserver pkg/registry/generic/registry/store.go, Update) only
///   answers 422 "metadata.resourceVersion: must be specified for an
///   update" for kinds that return false. So only the client's own
///   discipline keeps a concurrent write from being overwritten;
///   unconditional_updates() counts them so tests can prove none was sent.
/// - 429 TooManyRequests carries "Retry-After: N" and details.retryAfterSeconds
///   (k8s.io/apiserver pkg/server/filters/maxinflight.go tooManyRequests and
///   the API priority and fairness filter): FailNext(n, 429, N).
/// - Client certificates: the x509 authenticator takes the verified
///   certificate's CN as the user name; a certificate is optional, so bearer
///   tokens keep working (Options.client_cert_users).
///
/// Extending it: a new resource gets its own Handle<Kind> called from
/// Handle(); authentication happens once in Handle() before any routing.
class K8sFake {
 public:
  struct Options {
    bool ipv6 = false;  // listen on ::1 (WriteServiceAccount then says KUBERNETES_SERVICE_HOST=::1)
    // Serve GetTestPki().named_server_cert_pem (DNS:kubernetes.default.svc
    // only): clients dialling an address need kubeconfig tls-server-name.
    bool named_certificate = false;
    // CNs of GetTestPki() client certificates accepted instead of a token.
    std::set<std::string> client_cert_users;
  };

  K8sFake();
  explicit K8sFake(Options options);
  ~K8sFake();

  std::string base_url() const;  // https://localhost:PORT
  /// The token clients must send; changing it makes old tokens get 401.
  void SetToken(const std::string& token);
  std::string token() const;

  /// Writes a YAML kubeconfig with the CA data, server and token.
  void WriteKubeconfig(const std::string& path, const std::string& ns = "default") const;
  /// Writes token, ca.crt and namespace into `dir` (an in-cluster service
  /// account dir); returns the env a binary needs (KUBERNETES_SERVICE_HOST/
  /// PORT and INITKIT_SERVICEACCOUNT_DIR).
  std::map<std::string, std::string> WriteServiceAccount(const std::string& dir,
                                                         const std::string& ns) const;

  /// The stored Secret object; false when absent.
  bool GetSecret(const std::string& ns, const std::string& name, nlohmann::json* out) const;
  /// Decoded data of a Secret (empty map when absent).
  std::map<std::string, std::string> SecretData(const std::string& ns,
                                                const std::string& name) const;
  std::map<std::string, std::string> SecretAnnotations(const std::string& ns,
                                                       const std::string& name) const;
  /// Creates or replaces a Secret directly (values plain, encoded here).
  void PutSecret(const std::string& ns, const std::string& name,
                 const std::map<std::string, std::string>& data,
                 const std::map<std::string, std::string>& annotations = {},
                 const std::map<std::string, std::string>& labels = {});
  /// Changes a stored Secret as another writer would (resourceVersion bumps).
  void ModifySecret(const std::string& ns, const std::string& name,
                    const std::function<void(nlohmann::json& secret)>& change);
  /// Deletes a Secret directly (as another client would).
  void DeleteSecret(const std::string& ns, const std::string& name);
  /// Stores an arbitrary object served by GET at `path` (e.g. a Deployment).
  void SetObject(const std::string& path, const nlohmann::json& obj);
  /// The object stored at `path` (as patched); false when absent.
  bool GetObject(const std::string& path, nlohmann::json* out) const;
  /// PATCHes answered 200 so far (see HandlePatch).
  int patches() const;

  /// The next `n` requests get `status` (a Status object) instead of an
  /// answer; with `retry_after_seconds` > 0 also a Retry-After header.
  void FailNext(int n, int status = 503, int retry_after_seconds = 0);
  /// Before each of the next `n` PUTs of a Secret, bump that Secret's
  /// resourceVersion (another writer got there first), so the PUT is stale.
  void ConflictNextWrites(int n);
  /// Every answer waits this long first.
  void SetLatency(std::chrono::milliseconds d);
  /// Answers 403 Forbidden to `verb` (get|create|update|delete) on Secret `name`.
  void Forbid(const std::string& verb, const std::string& name);
  /// Replaces the one-token check: `authorize` sees every request first and
  /// returns the 401/403 answer, or nullopt to let it through (K8sRbac).
  /// Called with the fake's lock held: it must not call back into the fake.
  using Authorizer = std::function<std::optional<FakeResponse>(const FakeRequest&)>;
  void SetAuthorizer(Authorizer authorize);

  /// Counters of what was answered.
  int requests() const;
  int writes() const;     // successful POST/PUT of Secrets
  int conflicts() const;  // 409s sent
  int unauthorized() const;
  int unconditional_updates() const;  // PUTs of Secrets without a resourceVersion
  /// Who sent each authenticated request: "token" or "cert:<CN>".
  std::vector<std::string> authenticated_as() const;
  std::vector<FakeRequest> request_log() const;

  /// Intercepts and holds requests in flight (fault injection).
  FaultHooks& faults() { return faults_; }

 private:
  FakeResponse Handle(const FakeRequest& req);
  // PATCH of a stored object (k8s_fake_patch.cc): JSON merge patch and
  // strategic merge patch of maps, generation bumped when .spec changes.
  FakeResponse HandlePatch(const FakeRequest& req);
  FakeResponse HandleSecrets(const FakeRequest& req, const std::string& ns,
                             const std::string& name);

  mutable std::mutex mu_;
  std::string token_ = "fake-k8s-token-0d6c7b7e9a";
  std::map<std::string, nlohmann::json> secrets_;  // "ns/name" -> object
  std::map<std::string, nlohmann::json> objects_;  // path -> object
  std::set<std::pair<std::string, std::string>> forbidden_;
  Authorizer authorize_;
  long long rv_ = 1000;
  int fail_next_ = 0, fail_status_ = 503, fail_retry_after_ = 0;
  int conflict_next_ = 0;
  std::chrono::milliseconds latency_{0};
  int patches_ = 0;
  int requests_ = 0, writes_ = 0, conflicts_ = 0, unauthorized_ = 0, unconditional_ = 0;
  std::vector<std::string> authenticated_as_;
  Options options_;
  FaultHooks faults_;                   // outlives the server's handler threads
  std::unique_ptr<HttpServer> server_;  // last: stopped before the state goes
};

/// A Kubernetes Status object as the API server sends it.
nlohmann::json K8sStatus(int code, const std::string& reason, const std::string& message);

}  // namespace initkit::testing
