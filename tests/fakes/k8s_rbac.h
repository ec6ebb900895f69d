// Service-account tokens and Role/RoleBinding authorisation for K8sFake, so
// a test can run a manifest's pods against the manifest's own RBAC.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/fakes/http_server.h"

namespace initkit::testing {

/// What the API server derives from a request before it authorises it
/// (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go): the verb from the
/// method (GET on a collection is `list`, `?watch=true` is `watch`), API
/// group, namespace, resource, subresource and name from the path.
struct K8sRequestInfo {
  bool resource_request = false;  // false for /version, /healthz, ...
  std::string verb, api_group, ns, resource, subresource, name;
};

/// Parses a request path (+ query) the way requestinfo.go does.
K8sRequestInfo ParseK8sRequest(const std::string& method, const std::string& path,
                               const std::string& query);

/// One authorisation decision, for tests to inspect.
struct RbacDecision {
  std::string user;  // system:serviceaccount:NS:NAME, or "" when unauthenticated
  K8sRequestInfo info;
  bool allowed = false;
};

/// K8sRbac authenticates bearer tokens it issued for service accounts and
/// authorises requests against the Roles bound to them by RoleBindings in the
/// request's namespace, as the RBAC authorizer does
/// (plugin/pkg/auth/authorizer/rbac/rbac.go): a rule matches when its
/// apiGroups, resources ("resource/subresource" for subresources) and verbs
/// contain the request's (or "*"), and resourceNames is empty or contains the
/// name. Surprises kept from the real server: `create` and `list` carry no
/// name, so a rule with resourceNames never allows them; a RoleBinding to a
/// missing Role grants nothing. Deny is 403 with the API server's message;
/// an unknown token is 401. ClusterRoles are not modelled.
class K8sRbac {
 public:
  /// A new token for ns/service_account (registered as a credential). The
  /// service account need not exist yet; pods of a missing one never run.
  std::string IssueToken(const std::string& ns, const std::string& service_account);

  /// Adds or replaces a Role / RoleBinding (parsed manifest objects; their
  /// metadata.namespace, else `ns`). Returns false for other kinds.
  bool Apply(const nlohmann::json& object, const std::string& ns);
  /// Removes a Role or RoleBinding; false when absent.
  bool Delete(const std::string& kind, const std::string& ns, const std::string& name);

  /// nullopt when the request may proceed; else the 401 or 403 answer.
  std::optional<FakeResponse> Authorize(const FakeRequest& req);

  std::vector<RbacDecision> decisions() const;

 private:
  bool Allowed(const std::string& ns, const std::string& sa, const K8sRequestInfo& info) const;

  mutable std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>> tokens_;  // token -> (ns, sa)
  std::map<std::string, nlohmann::json> roles_;                        // "ns/name"
  std::map<std::string, nlohmann::json> bindings_;                     // "ns/name"
  std::vector<RbacDecision> decisions_;
};

}  // namespace initkit::testing
