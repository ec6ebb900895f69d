// A Deployment's rollout, judged the way `kubectl rollout status` judges it
// (kubernetes/kubectl pkg/polymorphichelpers/rollout_status.go,
// DeploymentStatusViewer.Status). initkit-cron-gate --rollout waits for it;
// initkit-secrets --restart checks it before rotating again.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "common/k8s_client.h"
#include "common/retry.h"
#include "common/status.h"

namespace initkit {

/// Where a rollout stands, judged from one read of the Deployment.
struct RolloutVerdict {
  enum Kind { kComplete, kWaiting, kFailed } kind = kWaiting;
  std::string detail;  // kubectl's wording: what it waits for, or why it failed
};

/// Judges a Deployment object as kubectl does: while metadata.generation >
/// status.observedGeneration it waits for the spec update to be observed;
/// then a Progressing condition with reason ProgressDeadlineExceeded is
/// kFailed; it waits while updatedReplicas < spec.replicas (when set), while
/// old replicas remain (status.replicas > updatedReplicas) and while
/// availableReplicas < updatedReplicas; else kComplete. Not an object: kFailed.
RolloutVerdict JudgeRollout(const nlohmann::json& deployment);

/// Parses a --rollout/--restart target the way kubectl names a Deployment:
/// "deployment/NAME", "deployments/NAME", "deploy/NAME", each also with the
/// group (".apps") or version and group (".v1.apps"). NAME must be a
/// DNS-1123 subdomain. Errors are Usage statuses quoting `text`; `flag`
/// ("--rollout") prefixes them.
Status ParseDeploymentRef(const std::string& flag, const std::string& text, std::string* name);

/// The API path of Deployment `name` in `ns`.
std::string DeploymentPath(const std::string& ns, const std::string& name);

/// One read of the Deployment and its verdict. A missing Deployment is
/// Failed naming it; API errors as K8sClient::GetObject.
Status ReadRollout(K8sClient& client, const std::string& ns, const std::string& name,
                   const Deadline& deadline, RolloutVerdict* verdict);

/// Polls the Deployment every `interval` until its rollout is complete (Ok),
/// it failed (Failed, exit 1, with the condition's message), the deadline
/// passed (NotReady naming what it still waited for), or a stop signal
/// arrived (Interrupted). Logs each new state once.
Status WaitForRollout(K8sClient& client, const std::string& ns, const std::string& name,
                      const Deadline& deadline, std::chrono::milliseconds interval);

}  // namespace initkit
