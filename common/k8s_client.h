// Kubernetes API client: verified HTTPS with a connection's credentials,
// retries of transient failures (honouring Retry-After), generic calls and
// object reads; the Secret calls are implemented in k8s_secret_client.cc.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/config.h"
#include "common/http.h"
#include "common/k8s_connection.h"
#include "common/k8s_kubeconfig.h"
#include "common/k8s_yaml.h"
#include "common/retry.h"
#include "common/status.h"

namespace initkit {

/// Kubernetes object names: a DNS-1123 label (namespaces: lower-case
/// alphanumerics and '-', alphanumeric at both ends, at most 63) and a
/// DNS-1123 subdomain (most names, e.g. Secrets and Deployments: labels
/// joined by '.', at most 253). Anything else could change the meaning of
/// an API path ("..", "/", "?"), so callers refuse it as a usage error.
bool IsDns1123Label(std::string_view s);
bool IsDns1123Subdomain(std::string_view s);

/// Tuning of a K8sClient.
struct K8sOptions {
  Millis request_timeout{10000};  // one HTTP request (capped by the deadline)
  BackoffPolicy backoff{Millis(100), Millis(2000), 2.0, 0.2, 0};
  int conflict_attempts = 10;  // ModifySecret: writes tried before giving up on 409s
  // ModifySecret's pause before re-reading after a 409: writers that collided
  // would collide again if they retried in lockstep, so it is jittered widely.
  BackoffPolicy conflict_backoff{Millis(10), Millis(1000), 2.0, 0.5, 0};
};

/// The answer of one API call after retries.
// Only nlohmann::json's implicit moves could throw, and they do not.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct K8sResponse {
  long code = 0;
  nlohmann::json body;  // null when the body was empty or not JSON
};

/// K8sClient talks to one API server. Not thread-safe.
class K8sClient {
 public:
  K8sClient(K8sConnection conn, K8sOptions options = {});
  ~K8sClient();
  K8sClient(const K8sClient&) = delete;
  K8sClient& operator=(const K8sClient&) = delete;

  const K8sConnection& connection() const { return conn_; }

  /// One call to `path` ("/api/v1/..."). Transport failures, 429 and 5xx are
  /// retried with backoff until `deadline` (then NotReady naming the call
  /// and the last error); a Retry-After on a 429/503 sets the next wait (and
  /// one past the deadline gives up at once). A 401 re-reads the token file
  /// and retries once if the token changed. Any other code is returned for
  /// the caller to judge (Ok status). A path that is not plain name segments
  /// is refused (Usage) without being sent. A PATCH body goes as a strategic
  /// merge patch (as kubectl sends it).
  Status Call(const std::string& method, const std::string& path, const nlohmann::json* body,
              const Deadline& deadline, K8sResponse* out);

  /// GET of any object; *found=false on 404. Other non-2xx: ErrorFor.
  Status GetObject(const std::string& path, const Deadline& deadline, nlohmann::json* out,
                   bool* found);

  // ---- Secrets (k8s_secret_client.cc) ----

  static std::string SecretPath(const std::string& ns, const std::string& name);

  /// GET a Secret; *found=false when it does not exist.
  Status GetSecret(const std::string& ns, const std::string& name, const Deadline& deadline,
                   nlohmann::json* out, bool* found);
  /// POST; *conflict=true (Ok status) when it already exists.
  Status CreateSecret(const std::string& ns, const nlohmann::json& secret, const Deadline& deadline,
                      nlohmann::json* out, bool* conflict);
  /// PUT. The object must carry metadata.resourceVersion (a programming
  /// error otherwise: Secrets accept unconditional updates, which would
  /// overwrite a concurrent writer's change). *conflict=true (Ok
  /// status) on 409 (the Secret changed since it was read) or 404 (it was
  /// deleted since): either way the caller must re-read.
  Status UpdateSecret(const std::string& ns, const std::string& name, const nlohmann::json& secret,
                      const Deadline& deadline, nlohmann::json* out, bool* conflict);
  /// DELETE; *existed=false (Ok status) when it was already gone.
  Status DeleteSecret(const std::string& ns, const std::string& name, const Deadline& deadline,
                      bool* existed);

  /// Given the current Secret (nullptr: absent) fills `desired` and sets
  /// *write; returning an error aborts.
  using SecretMutator =
      std::function<Status(const nlohmann::json* current, nlohmann::json* desired, bool* write)>;

  /// Read-modify-write: reads the Secret, calls `mutate`, then creates it or
  /// updates it with the resourceVersion read. On a conflict it pauses
  /// (options.conflict_backoff), re-reads and calls `mutate` again on the
  /// fresh object, up to options.conflict_attempts
  /// writes (then Failed). *result gets the object as stored (or as read
  /// when nothing was written); *conflicts counts the 409s seen.
  Status ModifySecret(const std::string& ns, const std::string& name, const Deadline& deadline,
                      const SecretMutator& mutate, nlohmann::json* result, int* conflicts);

  /// The error for a non-2xx answer: "<METHOD> <path>: HTTP <code> <reason>:
  /// <message>" from the Status object (redacted); 401/403/404/422 etc. are
  /// Failed.
  static Status ErrorFor(const std::string& method, const std::string& path, const K8sResponse& r);

 private:
  K8sConnection conn_;
  K8sOptions options_;
  K8sToken token_;
  HttpClient http_;
};

}  // namespace initkit
