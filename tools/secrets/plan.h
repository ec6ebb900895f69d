// The once/rotate rules as a pure function: current data + spec -> new data.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "tools/secrets/spec.h"

namespace initkit::secrets {

/// A Secret as the planner sees it (values decoded); target-neutral.
struct SecretData {
  bool exists = false;
  std::map<std::string, std::string> data;
  std::map<std::string, std::string> annotations;
};

/// Generates each spec entry at most once per run, so that re-planning after
/// a write conflict re-applies the same intent instead of drawing new values.
class ValueCache {
 public:
  /// The values of `key` (see Generate), generated on first use.
  Status Get(const KeySpec& key, std::map<std::string, std::string>* out);

 private:
  std::map<std::string, std::map<std::string, std::string>> cache_;
};

/// What a sync does to one Secret. Key names only in `created`/`kept`/...
struct Plan {
  SecretData result;                   // the full desired content
  std::vector<std::string> created;    // keys that had no value and were generated
  std::vector<std::string> kept;       // generate-once keys that already held a value
  std::vector<std::string> rotated;    // rotate keys that held a value and got a new one
  std::vector<std::string> completed;  // public keys derived from a stored private key
  bool annotated = false;              // the init annotation is added by this plan
  bool changed = false;                // result differs from the current content
};

/// Applies the rules: a generate-once key that holds a non-empty value is
/// kept whatever the annotation says; an empty or missing one is generated;
/// rotate keys always get a new value; keys and annotations the spec does not
/// name are carried over; the annotation is set ("true") when absent. An
/// rsa-keypair whose private key is stored but public key is not gets the
/// public key derived; a stored public key without its private key is an
/// error (regenerating would replace a stored value).
Status PlanSync(const Spec& spec, const SecretData& current, ValueCache* values, Plan* out);

/// Every key a spec writes, in spec order (once first).
std::vector<std::string> SpecKeys(const Spec& spec);

}  // namespace initkit::secrets
