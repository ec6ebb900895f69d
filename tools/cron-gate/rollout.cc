#include "tools/cron-gate/rollout.h"

#include "common/log.h"
#include "common/signals.h"

namespace initkit::crongate {
namespace {

int64_t IntAt(const nlohmann::json& j, const char* a, const char* b, int64_t fallback) {
  if (!j.contains(a) || !j[a].is_object() || !j[a].contains(b)) return fallback;
  const auto& v = j[a][b];
  return v.is_number_integer() ? v.get<int64_t>() : fallback;
}

}  // namespace

RolloutVerdict JudgeRollout(const nlohmann::json& d) {
  RolloutVerdict v;
  if (!d.is_object()) {
    v.kind = RolloutVerdict::kFailed;
    v.detail = "the API returned no Deployment object";
    return v;
  }
  int64_t generation = IntAt(d, "metadata", "generation", 0);
  int64_t observed = IntAt(d, "status", "observedGeneration", 0);
  if (generation > observed) {
    v.detail = "waiting for the deployment spec update to be observed";
    return v;
  }
  if (d.contains("status") && d["status"].contains("conditions") &&
      d["status"]["conditions"].is_array()) {
    for (const auto& c : d["status"]["conditions"]) {
      if (c.value("type", "") == "Progressing" &&
          c.value("reason", "") == "ProgressDeadlineExceeded") {
        v.kind = RolloutVerdict::kFailed;
        v.detail = "rollout exceeded its progress deadline: " + c.value("message", std::string());
        return v;
      }
    }
  }
  int64_t want = IntAt(d, "spec", "replicas", 1);  // the API's default
  int64_t replicas = IntAt(d, "status", "replicas", 0);
  int64_t updated = IntAt(d, "status", "updatedReplicas", 0);
  int64_t available = IntAt(d, "status", "availableReplicas", 0);
  if (updated < want) {
    v.detail = std::to_string(updated) + " out of " + std::to_string(want) +
               " new replicas have been updated";
  } else if (replicas > updated) {
    v.detail = std::to_string(replicas - updated) + " old replicas are pending termination";
  } else if (available < updated) {
    v.detail = std::to_string(available) + " of " + std::to_string(updated) +
               " updated replicas are available";
  } else {
    v.kind = RolloutVerdict::kComplete;
    v.detail = "successfully rolled out";
  }
  return v;
}

Status ParseRolloutTarget(const std::string& text, std::string* name) {
  auto slash = text.find('/');
  std::string kind = slash == std::string::npos ? "" : text.substr(0, slash);
  *name = slash == std::string::npos ? "" : text.substr(slash + 1);
  // ".." is made of allowed characters but would change the API path.
  if ((kind != "deployment" && kind != "deployments" && kind != "deploy") ||
      !IsDns1123Subdomain(*name)) {
    return Status::Usage("--rollout: expected deployment/NAME (a DNS-1123 name), got '" + text +
                         "'");
  }
  return Status::Ok();
}

Status WaitForRollout(K8sClient& client, const std::string& ns, const std::string& name,
                      const Deadline& deadline, std::chrono::milliseconds interval) {
  const std::string path = "/apis/apps/v1/namespaces/" + ns + "/deployments/" + name;
  std::string last_detail;
  for (int attempt = 1;; ++attempt) {
    nlohmann::json deployment;
    bool found = false;
    Status st = client.GetObject(path, deadline, &deployment, &found);
    if (!st.ok()) return st.Annotate("rollout of deployment/" + name);
    if (!found) return Status::Failed("deployment/" + name + " not found in namespace " + ns);
    RolloutVerdict v = JudgeRollout(deployment);
    log::Fields fields = {{"deployment", name}, {"namespace", ns}, {"attempt", attempt}};
    if (v.kind == RolloutVerdict::kComplete) {
      log::Info("rollout complete", fields);
      return Status::Ok();
    }
    if (v.kind == RolloutVerdict::kFailed) {
      return Status::Failed("deployment/" + name + ": " + v.detail);
    }
    if (v.detail != last_detail) log::Info("waiting for rollout: " + v.detail, fields);
    last_detail = v.detail;
    if (deadline.Expired()) break;
    if (!signals::SleepFor(std::min(interval, deadline.Remaining()))) {
      return Status::Interrupted(signals::StopSignal());
    }
    if (deadline.Expired()) break;
  }
  return Status::NotReady("deployment/" + name +
                          " rollout not complete before the deadline: " + last_detail);
}

}  // namespace initkit::crongate
