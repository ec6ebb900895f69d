// After a rotation: restarting the Deployments that read the app Secret as
// environment, and telling whether the last switch of users has rolled out.
#pragma once

#include <string>

#include "common/k8s_client.h"
#include "common/retry.h"
#include "common/status.h"

namespace initkit::secrets {

/// The pod template annotation `kubectl rollout restart` sets.
inline constexpr const char* kRestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";

/// PATCHes Deployment `name` in `ns` the way `kubectl rollout restart` does:
/// a strategic merge patch setting the pod template annotation restartedAt
/// to `at`, which changes .spec, so the Deployment rolls out new pods even
/// when nothing else changed. A missing Deployment (404) and a refusal (403:
/// RBAC needs `patch` on deployments.apps by name) are Failed naming it.
Status RestartDeployment(K8sClient& client, const std::string& ns, const std::string& name,
                         const std::string& at, const Deadline& deadline);

/// Where the last switch of users (made at `switched_at`) stands on one Deployment.
struct SwitchRollout {
  bool rolled_out = false;       // its pods all started after the switch
  bool restart_missing = false;  // its restartedAt predates the switch: the restart never landed
  std::string detail;            // what is still pending, for logs and the summary
};

/// Reads Deployment `name` and judges whether every pod that held the user
/// active before `switched_at` is gone: its template's restartedAt is not
/// older than `switched_at` and its rollout is complete (JudgeRollout, as
/// `kubectl rollout status` and initkit-cron-gate --rollout judge it). A
/// missing Deployment is Failed naming it.
Status CheckSwitchRollout(K8sClient& client, const std::string& ns, const std::string& name,
                          const std::string& switched_at, const Deadline& deadline,
                          SwitchRollout* out);

}  // namespace initkit::secrets
