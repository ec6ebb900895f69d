// kubeconfig: the YAML subset parser and the connection it resolves. Errors
// are Usage with a message; relative file names resolve under the base
// directory; a token never reaches an error message.
#include "common/k8s_client.h"
#include "common/log.h"
#include "fuzz/fuzz_target.h"

using initkit::Status;

INITKIT_FUZZ_TARGET(kubeconfig) {
  // Errors only: an insecure-skip-tls-verify input would log a warning each time.
  static const bool quiet = [] {
    initkit::log::Init("fuzz", initkit::log::Format::kText, initkit::log::Level::kError);
    return true;
  }();
  (void)quiet;
  nlohmann::json doc;
  Status st = initkit::ParseYamlSubset(input, "fuzz.yaml", &doc);
  if (!st.ok()) {
    FUZZ_CHECK(st.kind() == Status::Kind::kUsage, "YAML error is not Usage");
    FUZZ_CHECK(!st.message().empty(), "empty YAML error message");
  } else if (doc.is_object()) {
    // A mapping printed as JSON goes through the JSON path to the same value.
    // (YAML bytes are not checked as UTF-8, which JSON output needs: those
    // documents are skipped; kubeconfig values are never printed as JSON.)
    std::string printed;
    try {
      printed = doc.dump();
    } catch (const nlohmann::json::type_error&) {
    }
    if (!printed.empty()) {
      nlohmann::json again;
      Status st2 = initkit::ParseYamlSubset(printed, "fuzz.json", &again);
      FUZZ_CHECK(st2.ok() && again == doc, "JSON round trip of the parsed document");
    }
  }

  initkit::K8sConnection conn;
  st = initkit::ParseKubeconfig(input, "fuzz.yaml", "/fuzz-base", "", &conn);
  if (!st.ok()) {
    FUZZ_CHECK(st.kind() == Status::Kind::kUsage, "kubeconfig error is not Usage");
    FUZZ_CHECK(!st.message().empty(), "empty kubeconfig error message");
  } else {
    FUZZ_CHECK(!conn.server.empty() && conn.server.back() != '/', "server empty or with a /");
    for (const std::string* f :
         {&conn.ca_file, &conn.token_file, &conn.client_cert_file, &conn.client_key_file}) {
      FUZZ_CHECK(f->empty() || (*f)[0] == '/', "a file name did not resolve: " + *f);
    }
    FUZZ_CHECK(conn.token.empty() || conn.token_file.empty(), "both token and token file");
  }
  initkit::log::ClearSecretsForTest();
}
