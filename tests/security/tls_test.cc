// Security review (issue #9): TLS verification is on by default in every
// tool that speaks HTTPS, an untrusted certificate fails with the
// documented code before any request is sent, and the only way to turn
// verification off (a kubeconfig's insecure-skip-tls-verify; no tool has an
// --insecure flag) is logged as a warning.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/random.h"
#include "tests/fakes/http_server.h"
#include "tests/fakes/k8s_fake.h"
#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

// A TLS endpoint whose certificate comes from the test CA, which no system
// trust store holds: every client must refuse it unless told to trust it.
class UntrustedEndpoint {
 public:
  UntrustedEndpoint()
      : server_(
            [](const FakeRequest&) {
              FakeResponse r;
              r.headers = {{"Content-Type", "application/json"}};
              r.body = R"({"version":"1.0","access_token":"x","expires_in":300})";
              return r;
            },
            HttpServer::Tls{GetTestPki().server_cert_pem, GetTestPki().server_key_pem, ""}) {}
  std::string url() const { return server_.base_url(); }
  int requests() const { return server_.request_count(); }

 private:
  HttpServer server_;
};

TEST(TlsVerification, CronGateRefusesAnUntrustedCertificateWith124) {
  UntrustedEndpoint ep;
  RunOutput r = RunBinary("initkit-cron-gate", {"--url", ep.url() + "/health", "--expected-version",
                                                "1.0", "--retries", "0", "--deadline", "5s"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find("certificate"), std::string::npos) << r.err;
  EXPECT_EQ(ep.requests(), 0) << "a request was sent over an unverified connection";
  // There is no way to switch verification off.
  r = RunBinary("initkit-cron-gate",
                {"--url", ep.url(), "--expected-version", "1.0", "--insecure"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("insecure"), std::string::npos) << r.err;
}

TEST(TlsVerification, SecretsRefusesAKubernetesApiSignedByAnotherCa) {
  K8sFake k8s;
  TempDir dir;
  // The right server and token, but the CA of the kubeconfig is another one.
  k8s.WriteKubeconfig(dir.Sub("kubeconfig"), "shop");
  std::string text = ReadFile(dir.Sub("kubeconfig"));
  std::string ca = "certificate-authority-data: ";
  size_t at = text.find(ca);
  ASSERT_NE(at, std::string::npos);
  size_t end = text.find('\n', at);
  text.replace(at, end - at, ca + Base64Encode(GetTestPki().other_ca_pem));
  WriteFile(dir.Sub("kubeconfig"), text, 0600);
  RunOutput r = RunBinary("initkit-secrets", {"sync", "--kubeconfig", dir.Sub("kubeconfig"),
                                              "--secret", "app", "--timeout", "2s"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find("certificate"), std::string::npos) << r.err;
  EXPECT_EQ(k8s.requests(), 0);
  EXPECT_TRUE(k8s.SecretData("shop", "app").empty());
}

TEST(TlsVerification, SecretsRefusesAnUntrustedKeycloak) {
  K8sFake k8s;
  UntrustedEndpoint keycloak;
  TempDir dir;
  k8s.WriteKubeconfig(dir.Sub("kubeconfig"), "shop");
  WriteFile(dir.Sub("admin-secret"), "kc-admin-secret-for-tls-test\n", 0600);
  RegisterCredential("kc-admin-secret-for-tls-test", "tls test keycloak admin secret");
  std::map<std::string, std::string> env = {
      {"APP_ADMIN_SSO_ENABLED", "true"},
      {"INITKIT_KEYCLOAK_URL", keycloak.url()},
      {"INITKIT_KEYCLOAK_ADMIN_CLIENT_ID", "initkit-admin"},
      {"INITKIT_KEYCLOAK_ADMIN_CLIENT_SECRET_FILE", dir.Sub("admin-secret")},
      {"INITKIT_KEYCLOAK_REALM", "shop"},
      {"INITKIT_KEYCLOAK_CLIENT_ID", "shop-admin"}};
  RunOutput r = RunBinary(
      "initkit-secrets",
      {"sync", "--kubeconfig", dir.Sub("kubeconfig"), "--secret", "app", "--timeout", "2s"}, env);
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find("certificate"), std::string::npos) << r.err;
  EXPECT_EQ(keycloak.requests(), 0) << "the admin secret went over an unverified connection";
  // Trusting the right CA explicitly reaches it.
  WriteFile(dir.Sub("ca.pem"), GetTestPki().ca_pem);
  env["INITKIT_KEYCLOAK_CA_FILE"] = dir.Sub("ca.pem");
  r = RunBinary(
      "initkit-secrets",
      {"sync", "--kubeconfig", dir.Sub("kubeconfig"), "--secret", "app", "--timeout", "2s"}, env);
  EXPECT_GT(keycloak.requests(), 0) << r.err;
}

// Finding fixed: insecure-skip-tls-verify used to switch verification off
// without a word. It still works (kubectl compatibility) but warns.
TEST(TlsVerification, KubeconfigInsecureSkipVerifyWorksButWarns) {
  K8sFake k8s;
  TempDir dir;
  for (const std::string& value : {std::string("true"), std::string("\"true\"")}) {
    WriteFile(dir.Sub("kubeconfig"),
              "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
              "    insecure-skip-tls-verify: " +
                  value + "\n    server: " + k8s.base_url() +
                  "\n  name: fake\ncontexts:\n- context:\n    cluster: fake\n"
                  "    namespace: shop\n    user: tester\n  name: ctx\ncurrent-context: ctx\n"
                  "users:\n- name: tester\n  user:\n    token: " +
                  k8s.token() + "\n",
              0600);
    RunOutput r = RunBinary("initkit-secrets", {"plan", "--kubeconfig", dir.Sub("kubeconfig"),
                                                "--secret", "app", "--timeout", "5s"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("TLS certificate verification of the Kubernetes API is OFF"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("\"level\":\"warn"), std::string::npos) << r.err;
  }
  // JSON kubeconfigs carry a boolean; it used to be ignored (verification
  // stayed on, so the run failed where kubectl works).
  WriteFile(
      dir.Sub("kubeconfig.json"),
      R"({"apiVersion":"v1","kind":"Config","clusters":[{"name":"fake","cluster":{"server":")" +
          k8s.base_url() +
          R"(","insecure-skip-tls-verify":true}}],"contexts":[{"name":"ctx","context":{"cluster":"fake","user":"tester","namespace":"shop"}}],"current-context":"ctx","users":[{"name":"tester","user":{"token":")" +
          k8s.token() + R"("}}]})",
      0600);
  RunOutput r = RunBinary("initkit-secrets", {"plan", "--kubeconfig", dir.Sub("kubeconfig.json"),
                                              "--secret", "app", "--timeout", "5s"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("verification of the Kubernetes API is OFF"), std::string::npos) << r.err;
  // Without the setting, the same server is refused.
  std::string text = ReadFile(dir.Sub("kubeconfig.json"));
  text.replace(text.find(R"(,"insecure-skip-tls-verify":true)"), 32, "");
  WriteFile(dir.Sub("kubeconfig.json"), text, 0600);
  r = RunBinary("initkit-secrets", {"plan", "--kubeconfig", dir.Sub("kubeconfig.json"), "--secret",
                                    "app", "--timeout", "1s"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_EQ(r.err.find("is OFF"), std::string::npos) << r.err;
}

// The flag tables themselves (--help-format=json prints them): no flag of
// any tool, nor its environment form, turns certificate verification off.
TEST(TlsVerification, NoToolOffersAnInsecureFlag) {
  const char* const kForbidden[] = {"insecure",    "skip-verify",         "skip-tls",
                                    "no-verify",   "tls-verify",          "ssl-verify",
                                    "verify-ssl",  "verify-tls",          "verify-peer",
                                    "verify-host", "no-check-certificate"};
  for (const char* tool : {"initkit-bootstrap", "initkit-cron-gate", "initkit-migrate",
                           "initkit-preload", "initkit-secrets"}) {
    RunOutput r = RunBinary(tool, {"--help-format=json"});
    ASSERT_EQ(r.exit_code, 0) << tool << r.err;
    nlohmann::json table = nlohmann::json::parse(r.out);
    ASSERT_GT(table["flags"].size(), 3u) << tool;
    for (const auto& f : table["flags"]) {
      std::string name = f["name"];
      std::vector<std::string> spellings = {name};
      if (f["negatable"] == true) spellings.push_back("no-" + name);
      for (const std::string& s : spellings) {
        for (const char* word : kForbidden) {
          EXPECT_EQ(s.find(word), std::string::npos)
              << tool << " --" << s << " would switch TLS verification off";
        }
      }
    }
  }
}

}  // namespace
}  // namespace initkit::testing
