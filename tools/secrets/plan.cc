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
  for (const AlternatingUsersSpec& a : spec.alternating_users) {
    for (const std::string& name : a.OutputKeys()) keys.push_back(name);
  }
  return keys;
}

namespace {

// A generator-only KeySpec for the ValueCache: the same slot gives the same
// value on every re-plan of one run.
KeySpec Slot(const AlternatingUsersSpec& a, const std::string& slot) {
  KeySpec k;
  k.name = a.name + "#" + slot;
  k.gen = a.gen;
  return k;
}

Status NewPassword(const AlternatingUsersSpec& a, const std::string& slot, ValueCache* values,
                   std::string* out) {
  std::map<std::string, std::string> v;
  KeySpec k = Slot(a, slot);
  INITKIT_RETURN_IF_ERROR(values->Get(k, &v));
  *out = v.at(k.name);
  return Status::Ok();
}

Status PlanAlternating(const AlternatingUsersSpec& a, const SecretData& current, ValueCache* values,
                       const PlanOptions& options, Plan* p) {
  auto value = [&](const std::string& k) {
    auto it = current.data.find(k);
    return it == current.data.end() ? std::string() : it->second;
  };
  std::map<std::string, std::string>& d = p->result.data;
  Alternation alt;
  alt.name = a.name;
  std::string user = value(a.user_key);
  int active = user == a.users[0] ? 0 : user == a.users[1] ? 1 : -1;
  if (active < 0) {
    // First sync (or the user key was changed by hand): both users get a
    // password if they have none, and the first one becomes active.
    for (int i = 0; i < 2; ++i) {
      if (value(a.password_keys[i]).empty()) {
        INITKIT_RETURN_IF_ERROR(NewPassword(a, std::to_string(i), values, &d[a.password_keys[i]]));
        p->created.push_back(a.password_keys[i]);
      } else {
        p->kept.push_back(a.password_keys[i]);
      }
    }
    alt.previous = user;
    alt.action = "created";
    active = 0;
  } else if (options.hold) {
    if (value(a.password_keys[active]).empty()) {  // repaired, never left without one
      INITKIT_RETURN_IF_ERROR(
          NewPassword(a, std::to_string(active), values, &d[a.password_keys[active]]));
      p->created.push_back(a.password_keys[active]);
    }
    p->kept.push_back(a.password_keys[0]);
    p->kept.push_back(a.password_keys[1]);
    alt.previous = user;
    alt.action = "held";
  } else {
    int next = 1 - active;
    INITKIT_RETURN_IF_ERROR(NewPassword(a, "next", values, &d[a.password_keys[next]]));
    p->rotated.push_back(a.password_keys[next]);
    p->kept.push_back(a.password_keys[active]);
    alt.previous = user;
    alt.rotated_key = a.password_keys[next];
    alt.action = "switched";
    p->switched = true;
    active = next;
  }
  alt.active = a.users[active];
  d[a.user_key] = a.users[active];
  d[a.password_key] = d[a.password_keys[active]];
  p->alternations.push_back(std::move(alt));
  return Status::Ok();
}

}  // namespace

Status PlanSync(const Spec& spec, const SecretData& current, ValueCache* values, Plan* out) {
  return PlanSync(spec, current, values, PlanOptions(), out);
}

Status PlanSync(const Spec& spec, const SecretData& current, ValueCache* values,
                const PlanOptions& options, Plan* out) {
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
  for (const AlternatingUsersSpec& a : spec.alternating_users) {
    INITKIT_RETURN_IF_ERROR(PlanAlternating(a, current, values, options, &p));
  }
  if (p.switched && !options.now.empty()) p.result.annotations[kSwitchedAtAnnotation] = options.now;
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
