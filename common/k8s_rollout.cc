#include "common/k8s_rollout.h"

#include "common/log.h"

namespace initkit {
namespace {

// A field of an int64 kind, or `fallback` when it is absent (Go's zero value
// for the status counters; kubectl reads the typed object the same way).
int64_t IntAt(const nlohmann::json& j, const char* a, const char* b, int64_t fallback) {
  if (!j.is_object() || !j.contains(a) || !j[a].is_object() || !j[a].contains(b)) {
    return fallback;
  }
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
  // deploymentutil.TimedOutReason on the Progressing condition.
  if (d.contains("status") && d["status"].is_object() && d["status"].contains("conditions") &&
      d["status"]["conditions"].is_array()) {
    for (const auto& c : d["status"]["conditions"]) {
      if (!c.is_object()) continue;
      if (c.value("type", "") == "Progressing" &&
          c.value("reason", "") == "ProgressDeadlineExceeded") {
        v.kind = RolloutVerdict::kFailed;
        v.detail = "rollout exceeded its progress deadline: " + c.value("message", std::string());
        return v;
      }
    }
  }
  // kubectl skips this check when spec.replicas is unset (the API server
  // always defaults it to 1, so that only happens with hand-made objects).
  bool has_want = d.contains("spec") && d["spec"].is_object() && d["spec"].contains("replicas");
  int64_t want = IntAt(d, "spec", "replicas", 0);
  int64_t replicas = IntAt(d, "status", "replicas", 0);
  int64_t updated = IntAt(d, "status", "updatedReplicas", 0);
  int64_t available = IntAt(d, "status", "availableReplicas", 0);
  if (has_want && updated < want) {
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

Status ParseDeploymentRef(const std::string& flag, const std::string& text, std::string* name) {
  auto slash = text.find('/');
  std::string kind = slash == std::string::npos ? "" : text.substr(0, slash);
  *name = slash == std::string::npos ? "" : text.substr(slash + 1);
  // kubectl's resource forms: plural, singular and short name, bare or
  // qualified by group (resource.group) or version and group.
  bool known = false;
  for (const char* resource : {"deployment", "deployments", "deploy"}) {
    for (const char* qualifier : {"", ".apps", ".v1.apps"}) {
      if (kind == std::string(resource) + qualifier) known = true;
    }
  }
  // ".." is made of allowed characters but would change the API path.
  if (!known || !IsDns1123Subdomain(*name)) {
    return Status::Usage(flag + ": expected deployment/NAME (or deployments.apps/NAME; NAME a " +
                         "DNS-1123 name), got '" + text + "'");
  }
  return Status::Ok();
}

std::string DeploymentPath(const std::string& ns, const std::string& name) {
  return "/apis/apps/v1/namespaces/" + ns + "/deployments/" + name;
}

Status ReadRollout(K8sClient& client, const std::string& ns, const std::string& name,
                   const Deadline& deadline, RolloutVerdict* verdict) {
  nlohmann::json deployment;
  bool found = false;
  Status st = client.GetObject(DeploymentPath(ns, name), deadline, &deployment, &found);
  if (!st.ok()) return st.Annotate("rollout of deployment/" + name);
  if (!found) return Status::Failed("deployment/" + name + " not found in namespace " + ns);
  *verdict = JudgeRollout(deployment);
  return Status::Ok();
}

Status WaitForRollout(K8sClient& client, const std::string& ns, const std::string& name,
                      const Deadline& deadline, std::chrono::milliseconds interval) {
  std::string last_detail;
  // A fixed interval: the Deployment controller moves at its own pace, and
  // backing off would only notice the completed rollout later.
  BackoffPolicy poll{interval, interval, 1.0, 0.0, 0};
  return Retry(
      "deployment/" + name + " rollout not complete", poll, deadline, [&](int attempt) -> Status {
        RolloutVerdict v;
        Status st = ReadRollout(client, ns, name, deadline, &v);
        // A NotReady here comes from the client's own retries, which
        // end only at the deadline: Retry then gives up with it.
        if (!st.ok()) return st;
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
        return Status::NotReady(v.detail);
      });
}

}  // namespace initkit
