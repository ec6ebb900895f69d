// Kubernetes error answers: input is two bytes of HTTP code then the body.
// K8sClient::ErrorFor (static, pure) turns any body into a Failed status
// with context, and a registered credential never survives into it.
#include "common/k8s_client.h"
#include "common/log.h"
#include "fuzz/fuzz_target.h"

using initkit::Status;

INITKIT_FUZZ_TARGET(k8s_status) {
  if (input.size() < 2) return;
  static constexpr const char* kToken = "fuzz-bearer-token-0f9e8d7c";
  initkit::log::AddSecret(kToken);
  initkit::K8sResponse r;
  r.code = 100 +
           (static_cast<unsigned char>(input[0]) << 8 | static_cast<unsigned char>(input[1])) % 500;
  std::string_view body = input.substr(2);
  // As K8sClient::Call reads an answer: anything not JSON is null.
  r.body = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (r.body.is_discarded()) r.body = nullptr;
  Status st = initkit::K8sClient::ErrorFor("GET", "/api/v1/namespaces/ns/secrets/app", r);
  FUZZ_CHECK(st.kind() == Status::Kind::kFailed, "not Failed");
  FUZZ_CHECK(st.message().rfind("Kubernetes API GET /api/v1/namespaces/ns/secrets/app: HTTP " +
                                    std::to_string(r.code),
                                0) == 0,
             "message lacks its context: " + st.message());
  FUZZ_CHECK(st.message().find(kToken) == std::string::npos, "the token leaked into the message");
}
