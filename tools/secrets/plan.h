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

/// Annotation of the app Secret: when the alternating users last switched
/// (UTC, RFC 3339 with milliseconds). `--restart` writes the same value to
/// the Deployments' restartedAt, which is how a later sync tells whether the
/// pods that still held the previous user are gone.
inline constexpr const char* kSwitchedAtAnnotation = "initkit.io/users-switched-at";

/// What one alternating-users entry does in a sync.
struct Alternation {
  std::string name;         // the spec entry
  std::string active;       // the user the app's keys name after the sync
  std::string previous;     // the user they named before ("" on the first sync)
  std::string action;       // created | switched | held
  std::string rotated_key;  // the password key that got a new value ("" when none)
};

/// Inputs of a plan that do not come from the Secret.
struct PlanOptions {
  std::string now;    // written to kSwitchedAtAnnotation when users switch
  bool hold = false;  // the previous switch is not rolled out: switch nothing
};

/// What a sync does to one Secret. Key names only in `created`/`kept`/...
struct Plan {
  SecretData result;                   // the full desired content
  std::vector<std::string> created;    // keys that had no value and were generated
  std::vector<std::string> kept;       // generate-once keys that already held a value
  std::vector<std::string> rotated;    // rotate keys that held a value and got a new one
  std::vector<std::string> completed;  // public keys derived from a stored private key
  std::vector<Alternation> alternations;
  bool switched = false;   // an alternating-users entry switched user
  bool annotated = false;  // the init annotation is added by this plan
  bool changed = false;    // result differs from the current content
};

/// Applies the rules: a generate-once key that holds a non-empty value is
/// kept whatever the annotation says; an empty or missing one is generated;
/// rotate keys always get a new value; keys and annotations the spec does not
/// name are carried over; the annotation is set ("true") when absent. An
/// rsa-keypair whose private key is stored but public key is not gets the
/// public key derived; a stored public key without its private key is an
/// error (regenerating would replace a stored value).
///
/// Alternating users: when the user key names neither user (first sync),
/// both missing passwords are generated and the first user becomes active.
/// Otherwise the inactive user gets a new password and the app's keys
/// (user key, password key) switch to it, and kSwitchedAtAnnotation is set to
/// options.now; with options.hold nothing switches or rotates, only the
/// app's password key is made to match the active user's. Every result
/// names one of the two users in the user key and that user's password in
/// the password key, so concurrent syncs converge whatever order they land in.
Status PlanSync(const Spec& spec, const SecretData& current, ValueCache* values,
                const PlanOptions& options, Plan* out);
/// The same with default PlanOptions (no hold; switch time left unset).
Status PlanSync(const Spec& spec, const SecretData& current, ValueCache* values, Plan* out);

/// Every key a spec writes, in spec order (once first).
std::vector<std::string> SpecKeys(const Spec& spec);

}  // namespace initkit::secrets
