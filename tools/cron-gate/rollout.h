// Waiting for a Deployment's rollout the way `kubectl rollout status` judges it.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "common/k8s_client.h"
#include "common/retry.h"
#include "common/status.h"

namespace initkit::crongate {

/// Where a rollout stands, judged from one read of the Deployment.
struct RolloutVerdict {
  enum Kind { kComplete, kWaiting, kFailed } kind = kWaiting;
  std::string detail;  // kubectl's wording: what it waits for, or why it failed
};

/// Judges a Deployment object: complete when generation <= observedGeneration,
/// updatedReplicas >= spec.replicas, no old replicas left and every updated
/// replica available; failed on a ProgressDeadlineExceeded condition.
RolloutVerdict JudgeRollout(const nlohmann::json& deployment);

/// Parses "deployment/NAME" (also "deployments/NAME", "deploy/NAME").
Status ParseRolloutTarget(const std::string& text, std::string* name);

/// Polls the Deployment every `interval` until its rollout is complete (Ok),
/// it failed (Failed, exit 1, with the condition's message), the deadline
/// passed (NotReady), or a stop signal arrived (Interrupted).
Status WaitForRollout(K8sClient& client, const std::string& ns, const std::string& name,
                      const Deadline& deadline, std::chrono::milliseconds interval);

}  // namespace initkit::crongate
