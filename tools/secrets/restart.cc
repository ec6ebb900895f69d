#include "tools/secrets/restart.h"

#include "common/k8s_rollout.h"

namespace initkit::secrets {

using nlohmann::json;

Status RestartDeployment(K8sClient& client, const std::string& ns, const std::string& name,
                         const std::string& at, const Deadline& deadline) {
  std::string path = DeploymentPath(ns, name);
  json patch = {
      {"spec", {{"template", {{"metadata", {{"annotations", {{kRestartedAtAnnotation, at}}}}}}}}}};
  K8sResponse r;
  INITKIT_RETURN_IF_ERROR(client.Call("PATCH", path, &patch, deadline, &r));
  if (r.code / 100 == 2) return Status::Ok();
  Status st = K8sClient::ErrorFor("PATCH", path, r);
  std::string hint;
  if (r.code == 404) {
    hint = " (--restart deployment/" + name + ": no such Deployment in " + ns + ")";
  }
  if (r.code == 403) {
    hint = " (RBAC: the service account needs verb patch on deployments.apps named " + name +
           " in " + ns + ")";
  }
  return Status::Failed(st.message() + hint);
}

Status CheckSwitchRollout(K8sClient& client, const std::string& ns, const std::string& name,
                          const std::string& switched_at, const Deadline& deadline,
                          SwitchRollout* out) {
  *out = SwitchRollout();
  json d;
  bool found = false;
  std::string path = DeploymentPath(ns, name);
  INITKIT_RETURN_IF_ERROR(client.GetObject(path, deadline, &d, &found));
  if (!found) {
    return Status::Failed("--restart deployment/" + name + ": no such Deployment in " + ns);
  }
  std::string restarted;
  json::json_pointer ptr("/spec/template/metadata/annotations");
  if (d.contains(ptr) && d[ptr].is_object()) {
    auto it = d[ptr].find(kRestartedAtAnnotation);
    if (it != d[ptr].end() && it->is_string()) restarted = it->get<std::string>();
  }
  // Both are RFC 3339 UTC; ours carry milliseconds, so they compare as text.
  if (restarted < switched_at) {
    out->restart_missing = true;
    out->detail = "deployment/" + name + " was not restarted after the switch at " + switched_at;
    return Status::Ok();
  }
  RolloutVerdict v = JudgeRollout(d);
  out->rolled_out = v.kind == RolloutVerdict::kComplete;
  if (!out->rolled_out) out->detail = "deployment/" + name + ": " + v.detail;
  return Status::Ok();
}

}  // namespace initkit::secrets
