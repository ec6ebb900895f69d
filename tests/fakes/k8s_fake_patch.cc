// K8sFake's PATCH of stored objects (Deployments), kept apart from the
// Secret handlers. Follows the API server where a client could be wrong:
// - Content types (k8s.io/apiserver pkg/endpoints/handlers/patch.go): only
//   the patch media types are accepted; plain application/json is 415.
// - A merge patch (RFC 7386) merges objects and replaces everything else;
//   a null value deletes the key. A strategic merge patch behaves the same
//   on maps, which is all a restartedAt patch touches (its list merging by
//   key is not modelled: lists are replaced).
// - metadata.generation goes up when .spec changes and only then
//   (kubernetes pkg/registry/apps/deployment/strategy.go PrepareForUpdate),
//   so a patch that sets an annotation to the value it already has starts
//   no rollout. status is left as it was: the test plays the controller.
// - 404 names the object ("deployments.apps \"web\" not found"); Forbid("patch",
//   NAME) answers 403 with the RBAC wording.
#include "tests/fakes/k8s_fake.h"

namespace initkit::testing {

namespace {

using nlohmann::json;

FakeResponse StatusResponse(int code, const std::string& reason, const std::string& message) {
  FakeResponse r;
  r.status = code;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = K8sStatus(code, reason, message).dump();
  return r;
}

void MergePatch(json* target, const json& patch) {
  if (!patch.is_object()) {
    *target = patch;
    return;
  }
  if (!target->is_object()) *target = json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it->is_null()) {
      target->erase(it.key());
    } else {
      MergePatch(&(*target)[it.key()], *it);
    }
  }
}

}  // namespace

FakeResponse K8sFake::HandlePatch(const FakeRequest& req) {
  // /apis/{group}/{version}/namespaces/{ns}/{resource}/{name}
  std::vector<std::string> p;
  for (std::size_t pos = 1; pos <= req.path.size();) {
    std::size_t slash = req.path.find('/', pos);
    if (slash == std::string::npos) slash = req.path.size();
    p.push_back(req.path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  if (p.size() != 7 || p[0] != "apis" || p[3] != "namespaces") {
    return StatusResponse(405, "MethodNotAllowed",
                          "the server does not allow this method on the requested resource");
  }
  std::string resource = p[5] + "." + p[1], ns = p[4], name = p[6];
  if (forbidden_.count({"patch", name})) {
    return StatusResponse(403, "Forbidden",
                          resource + " \"" + name +
                              "\" is forbidden: User \"system:serviceaccount:" + ns +
                              ":initkit\" cannot patch resource \"" + p[5] + "\" in API group \"" +
                              p[1] + "\" in the namespace \"" + ns + "\"");
  }
  auto ct = req.headers.find("content-type");
  std::string type = ct == req.headers.end() ? "" : ct->second.substr(0, ct->second.find(';'));
  if (type != "application/merge-patch+json" && type != "application/strategic-merge-patch+json") {
    return StatusResponse(415, "UnsupportedMediaType",
                          "the body of the request was in an unknown format - accepted media "
                          "types include: application/json-patch+json, "
                          "application/merge-patch+json, application/apply-patch+yaml");
  }
  auto it = objects_.find(req.path);
  if (it == objects_.end()) {
    return StatusResponse(404, "NotFound", resource + " \"" + name + "\" not found");
  }
  json patch = json::parse(req.body, nullptr, false);
  if (!patch.is_object()) {
    return StatusResponse(400, "BadRequest", "error decoding patch: not a JSON object");
  }
  json updated = it->second;
  MergePatch(&updated, patch);
  if (updated.value("spec", json()) != it->second.value("spec", json())) {
    const json& meta = it->second.contains("metadata") ? it->second["metadata"] : json::object();
    updated["metadata"]["generation"] = meta.value("generation", 1) + 1;
  }
  updated["metadata"]["resourceVersion"] = std::to_string(++rv_);
  it->second = updated;
  ++patches_;
  FakeResponse r;
  r.status = 200;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = updated.dump();
  return r;
}

bool K8sFake::GetObject(const std::string& path, json* out) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = objects_.find(path);
  if (it == objects_.end()) return false;
  *out = it->second;
  return true;
}

int K8sFake::patches() const {
  std::lock_guard<std::mutex> l(mu_);
  return patches_;
}

}  // namespace initkit::testing
