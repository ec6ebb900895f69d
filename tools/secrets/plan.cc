#include "tools/secrets/plan.h"

#include "common/log.h"
#include "tools/secrets/generators.h"

namespace initkit::secrets {

Status ValueCache::Get(const KeySpec& key, std::map<std::string, std::string>* out) {
  auto it = cache_.find(key.name);
  if (it == cache_.end()) {
    std::map<std::string, std::string> v;
    INITKIT_RETURN_IF_ERROR(Generate(key, &v));
    it = cache_.emplace(key.name, std::move(v)).first;
  }
  *out = it->second;
  return Status::Ok();
}

std::vector<std::string> SpecKeys(const Spec& spec) {
  std::vector<std::string> keys;
  for (const auto* list : {&spec.once, &spec.rotate}) {
    for (const KeySpec& k : *list) {
      for (const std::string& name : k.OutputKeys()) keys.push_back(name);
    }
  }
  return keys;
}

Status PlanSync(const Spec& spec, const SecretData& current, ValueCache* values, Plan* out) {
  Plan p;
  p.result = current;
  p.result.exists = true;
  auto has_value = [&](const std::string& k) {
    auto it = current.data.find(k);
    return it != current.data.end() && !it->second.empty();
  };
  for (const KeySpec& k : spec.once) {
    if (k.gen.generator == "rsa-keypair") {
      const std::string& priv = k.gen.private_key;
      const std::string& pub = k.gen.public_key;
      if (has_value(priv) && has_value(pub)) {
        p.kept.push_back(priv);
        p.kept.push_back(pub);
      } else if (has_value(priv)) {
        std::string derived;
        INITKIT_RETURN_IF_ERROR(
            PublicKeyFromPrivate(current.data.at(priv), &derived).Annotate("key " + priv));
        log::AddSecret(derived);
        p.kept.push_back(priv);
        p.completed.push_back(pub);
        p.result.data[pub] = derived;
      } else if (has_value(pub)) {
        return Status::Failed("key " + pub + " holds a public key but " + priv +
                              " (its private key) is empty or missing; refusing to generate a "
                              "new keypair over a stored value: restore " +
                              priv + " or delete " + pub + " by hand");
      } else {
        std::map<std::string, std::string> v;
        INITKIT_RETURN_IF_ERROR(values->Get(k, &v));
        for (const auto& [name, value] : v) p.result.data[name] = value;
        p.created.push_back(priv);
        p.created.push_back(pub);
      }
      continue;
    }
    if (has_value(k.name)) {
      p.kept.push_back(k.name);
      continue;
    }
    std::map<std::string, std::string> v;
    INITKIT_RETURN_IF_ERROR(values->Get(k, &v));
    p.result.data[k.name] = v.at(k.name);
    p.created.push_back(k.name);
  }
  for (const KeySpec& k : spec.rotate) {
    std::map<std::string, std::string> v;
    INITKIT_RETURN_IF_ERROR(values->Get(k, &v));
    for (const auto& [name, value] : v) {
      (has_value(name) ? p.rotated : p.created).push_back(name);
      p.result.data[name] = value;
    }
  }
  if (!current.annotations.count(spec.annotation)) {
    p.result.annotations[spec.annotation] = "true";
    p.annotated = true;
  }
  p.changed = !current.exists || p.result.data != current.data ||
              p.result.annotations != current.annotations;
  *out = std::move(p);
  return Status::Ok();
}

}  // namespace initkit::secrets
