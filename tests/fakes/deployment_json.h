// A Deployment object as the API server returns it, for tests of the rollout
// judgement (common/k8s_rollout.h) and of the tools that wait on it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace initkit::testing {

/// apps/v1 Deployment shop/web with metadata.generation `gen`, spec.replicas
/// `want`, a pod template labelled app=web and the status counters given; Available=True, plus
/// Progressing=False/ProgressDeadlineExceeded with `stalled_message` when
/// that is not empty.
inline nlohmann::json DeploymentJson(int gen, int observed, int want, int replicas, int updated,
                                     int available, const std::string& stalled_message = "") {
  using nlohmann::json;
  json d = {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", "web"}, {"namespace", "shop"}, {"generation", gen}}},
            {"spec",
             {{"replicas", want},
              {"selector", {{"matchLabels", {{"app", "web"}}}}},
              {"template", {{"metadata", {{"labels", {{"app", "web"}}}}}}}}},
            {"status",
             {{"observedGeneration", observed},
              {"replicas", replicas},
              {"updatedReplicas", updated},
              {"availableReplicas", available},
              {"conditions", json::array({{{"type", "Available"}, {"status", "True"}}})}}}};
  if (!stalled_message.empty()) {
    d["status"]["conditions"].push_back({{"type", "Progressing"},
                                         {"status", "False"},
                                         {"reason", "ProgressDeadlineExceeded"},
                                         {"message", stalled_message}});
  }
  return d;
}

}  // namespace initkit::testing
