#include "common/k8s_client.h"

#include "common/log.h"

namespace initkit {

using nlohmann::json;

std::string K8sClient::SecretPath(const std::string& ns, const std::string& name) {
  std::string p = "/api/v1/namespaces/" + ns + "/secrets";
  if (!name.empty()) p += "/" + name;
  return p;
}

Status K8sClient::GetSecret(const std::string& ns, const std::string& name,
                            const Deadline& deadline, json* out, bool* found) {
  return GetObject(SecretPath(ns, name), deadline, out, found);
}

Status K8sClient::CreateSecret(const std::string& ns, const json& secret, const Deadline& deadline,
                               json* out, bool* conflict) {
  std::string path = SecretPath(ns, "");
  K8sResponse r;
  INITKIT_RETURN_IF_ERROR(Call("POST", path, &secret, deadline, &r));
  *conflict = r.code == 409;
  if (*conflict) return Status::Ok();
  if (r.code / 100 != 2) return ErrorFor("POST", path, r);
  *out = std::move(r.body);
  return Status::Ok();
}

Status K8sClient::UpdateSecret(const std::string& ns, const std::string& name, const json& secret,
                               const Deadline& deadline, json* out, bool* conflict) {
  std::string path = SecretPath(ns, name);
  // Without a resourceVersion the API server updates Secrets unconditionally
  // (AllowUnconditionalUpdate), silently overwriting a concurrent write.
  const json* md = secret.contains("metadata") ? &secret["metadata"] : nullptr;
  if (md == nullptr || !md->is_object() || !md->contains("resourceVersion") ||
      !(*md)["resourceVersion"].is_string() ||
      (*md)["resourceVersion"].get<std::string>().empty()) {
    return Status::Failed("Kubernetes API PUT " + path +
                          ": refusing an update without metadata.resourceVersion");
  }
  K8sResponse r;
  INITKIT_RETURN_IF_ERROR(Call("PUT", path, &secret, deadline, &r));
  // A 404 means it was deleted since we read it: re-reading will create it.
  *conflict = r.code == 409 || r.code == 404;
  if (*conflict) return Status::Ok();
  if (r.code / 100 != 2) return ErrorFor("PUT", path, r);
  *out = std::move(r.body);
  return Status::Ok();
}

Status K8sClient::DeleteSecret(const std::string& ns, const std::string& name,
                               const Deadline& deadline, bool* existed) {
  std::string path = SecretPath(ns, name);
  K8sResponse r;
  INITKIT_RETURN_IF_ERROR(Call("DELETE", path, nullptr, deadline, &r));
  *existed = r.code != 404;
  if (r.code == 404 || r.code / 100 == 2) return Status::Ok();
  return ErrorFor("DELETE", path, r);
}

Status K8sClient::ModifySecret(const std::string& ns, const std::string& name,
                               const Deadline& deadline, const SecretMutator& mutate, json* result,
                               int* conflicts) {
  *conflicts = 0;
  const std::string secret = "Secret " + ns + "/" + name;
  // The pause before re-reading is widely jittered (conflict_backoff): writers
  // that collided would collide again if they retried in lockstep.
  BackoffPolicy policy = options_.conflict_backoff;
  policy.max_attempts = options_.conflict_attempts;
  Status st =
      Retry(secret + ": resolving write conflicts", policy, deadline, [&](Attempt& a) -> Status {
        json current;
        bool found = false;
        INITKIT_RETURN_IF_ERROR(GetSecret(ns, name, deadline, &current, &found));
        json desired;
        bool write = false;
        INITKIT_RETURN_IF_ERROR(mutate(found ? &current : nullptr, &desired, &write));
        if (!write) {
          *result = found ? std::move(current) : json(nullptr);
          return Status::Ok();
        }
        desired["apiVersion"] = "v1";
        desired["kind"] = "Secret";
        desired["metadata"]["name"] = name;
        desired["metadata"]["namespace"] = ns;
        bool conflict = false;
        if (found) {
          desired["metadata"]["resourceVersion"] = current["metadata"].value("resourceVersion", "");
          INITKIT_RETURN_IF_ERROR(UpdateSecret(ns, name, desired, deadline, result, &conflict));
        } else {
          desired["metadata"].erase("resourceVersion");
          INITKIT_RETURN_IF_ERROR(CreateSecret(ns, desired, deadline, result, &conflict));
        }
        if (!conflict) return Status::Ok();
        ++*conflicts;
        log::Info("Secret changed while we wrote it; re-reading and re-applying",
                  {{"secret", ns + "/" + name}, {"attempt", a.number}});
        return Status::NotReady(secret + " changed while we wrote it (HTTP 409)");
      });
  // Running out of write attempts is not a wait that ran out: someone else
  // keeps winning, and retrying later would not change that.
  if (st.kind() == Status::Kind::kNotReady && *conflicts >= options_.conflict_attempts) {
    return Status::Failed(secret + ": still conflicting after " + std::to_string(*conflicts) +
                          " write attempts (someone else keeps changing it)");
  }
  return st;
}

}  // namespace initkit
