// The secrets spec: bad specs are Usage errors naming the source; a good
// one never writes one Secret key twice (alternating users included) and has
// sane generator sizes.
#include <set>

#include "fuzz/fuzz_target.h"
#include "tools/secrets/spec.h"

using initkit::Status;

INITKIT_FUZZ_TARGET(secrets_spec) {
  initkit::secrets::Spec spec;
  Status st = initkit::secrets::ParseSpec(input, "fuzz-spec.json", &spec);
  if (!st.ok()) {
    FUZZ_CHECK(st.kind() == Status::Kind::kUsage, "error is not Usage: " + st.message());
    FUZZ_CHECK(st.message().find("fuzz-spec.json") != std::string::npos,
               "error does not name the source: " + st.message());
    return;
  }
  std::set<std::string> keys;
  for (const auto* list : {&spec.once, &spec.rotate}) {
    for (const initkit::secrets::KeySpec& k : *list) {
      FUZZ_CHECK(!k.gen.generator.empty(), "entry without generator: " + k.name);
      FUZZ_CHECK(k.gen.bytes >= 0 && k.gen.length >= 0 && k.gen.bits >= 0, "negative size");
      for (const std::string& out : k.OutputKeys()) {
        FUZZ_CHECK(!out.empty(), "empty Secret key");
        FUZZ_CHECK(keys.insert(out).second, "Secret key written twice: " + out);
      }
    }
  }
  for (const initkit::secrets::AlternatingUsersSpec& a : spec.alternating_users) {
    FUZZ_CHECK(a.users[0] != a.users[1] && !a.users[0].empty() && !a.users[1].empty(),
               "alternating users not two distinct names: " + a.name);
    FUZZ_CHECK(a.gen.length >= 8 || a.gen.generator != "alnum", "short alnum password");
    for (const std::string& out : a.OutputKeys()) {
      FUZZ_CHECK(!out.empty(), "empty Secret key");
      FUZZ_CHECK(keys.insert(out).second, "Secret key written twice: " + out);
    }
  }
}
