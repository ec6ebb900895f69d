// Keycloak answers: the same body read as a token response, an error body
// and a client search result. Nothing throws; what is accepted is usable.
#include "fuzz/fuzz_target.h"
#include "tools/secrets/keycloak.h"

using initkit::Status;

INITKIT_FUZZ_TARGET(keycloak) {
  std::string token = "unset";
  std::chrono::seconds ttl{-1};
  Status st = initkit::secrets::ParseTokenResponse(input, &token, &ttl);
  if (st.ok()) {
    FUZZ_CHECK(!token.empty(), "empty access token accepted");
    FUZZ_CHECK(ttl.count() >= 0 && ttl.count() <= 86400, "token lifetime not clamped");
  } else {
    FUZZ_CHECK(token == "unset", "a failed parse changed the token");
    FUZZ_CHECK(!st.message().empty(), "empty token error message");
  }

  std::string detail = initkit::secrets::ErrorDetail(input);
  FUZZ_CHECK(detail.size() <= input.size(), "error detail longer than the body");

  nlohmann::json rep;
  bool found = false;
  st = initkit::secrets::FindClientInList(input, "admin-sso", &rep, &found);
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty(), "empty client list error message");
  } else if (found) {
    FUZZ_CHECK(rep.is_object() && rep["clientId"] == "admin-sso", "wrong client matched");
    // What SyncKeycloak and TeardownKeycloak read from the match.
    std::string id = rep.value("id", "");
    (void)id;
  }
}
