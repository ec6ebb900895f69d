// End-to-end scenarios of the initkit-secrets binary against the fakes.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "common/random.h"
#include "tests/fakes/k8s_fake.h"
#include "tests/fakes/keycloak_fake.h"
#include "tests/fakes/test_util.h"

namespace initkit::secrets {
namespace {

using nlohmann::json;
using testing::K8sFake;
using testing::KeycloakFake;
using testing::RunOutput;
using testing::TempDir;
using Map = std::map<std::string, std::string>;

constexpr const char* kNs = "shop";
constexpr const char* kAnnotation = "ecommercen.com/has-been-initialized";

// Everything the scenarios printed and every value they generated or
// stored, for the leak scan.
struct Collector {
  std::string output;
  std::set<std::string> values;
  std::string log_level = "info";
  void AddValues(const Map& m) {
    for (const auto& [k, v] : m) AddValue(v);
  }
  void AddValue(const std::string& v) {
    if (v.size() < 12) return;  // annotations ("true") and the like are not secrets
    values.insert(v);
    // PEM: every body line on its own, so a partial leak is caught too.
    std::size_t pos = 0;
    while (pos < v.size()) {
      std::size_t nl = v.find('\n', pos);
      if (nl == std::string::npos) nl = v.size();
      std::string line = v.substr(pos, nl - pos);
      if (line.size() >= 16 && line.find("-----") == std::string::npos) values.insert(line);
      pos = nl + 1;
    }
  }
};

class Harness {
 public:
  explicit Harness(Collector* c) : c_(c) {
    k8s_.WriteKubeconfig(dir_.Sub("kubeconfig"), kNs);
    c_->AddValue(k8s_.token());
  }

  RunOutput Run(std::vector<std::string> args, Map env = {}) {
    env["INITKIT_LOG_FORMAT"] = "json";
    env["INITKIT_LOG_LEVEL"] = c_->log_level;
    RunOutput r = testing::RunBinary("initkit-secrets", args, env, std::chrono::seconds(120));
    c_->output += r.out + r.err;
    return r;
  }

  // sync/plan/teardown against the fake API with the built-in spec.
  RunOutput K8s(const std::string& command, std::vector<std::string> extra = {}, Map env = {}) {
    std::vector<std::string> args = {
        command, "--kubeconfig", dir_.Sub("kubeconfig"), "--secret", "app", "--timeout", "30s"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args, env);
  }

  // Environment enabling Keycloak sync against `kc`.
  Map KeycloakEnv(KeycloakFake& kc) {
    testing::WriteFile(dir_.Sub("kc-admin-secret"), kc.options().admin_client_secret + "\n", 0600);
    c_->AddValue(kc.options().admin_client_secret);
    return {{"APP_ADMIN_SSO_ENABLED", "true"},
            {"INITKIT_KEYCLOAK_URL", kc.base_url()},
            {"INITKIT_KEYCLOAK_ADMIN_CLIENT_ID", kc.options().admin_client_id},
            {"INITKIT_KEYCLOAK_ADMIN_CLIENT_SECRET_FILE", dir_.Sub("kc-admin-secret")},
            {"INITKIT_KEYCLOAK_REALM", "shop"},
            {"INITKIT_KEYCLOAK_CLIENT_ID", "shop-admin"},
            {"INITKIT_KEYCLOAK_REDIRECT_URI", "https://shop.example/admin/*"}};
  }

  Map Data(const std::string& name = "app") {
    Map d = k8s_.SecretData(kNs, name);
    c_->AddValues(d);
    return d;
  }

  std::string WriteSpec(const std::string& text) {
    testing::WriteFile(dir_.Sub("spec.json"), text);
    return dir_.Sub("spec.json");
  }

  K8sFake& k8s() { return k8s_; }
  TempDir& dir() { return dir_; }
  Collector* collector() { return c_; }

 private:
  Collector* c_;
  K8sFake k8s_;
  TempDir dir_;
};

json Summary(const RunOutput& r) {
  json j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "stdout is not one JSON document: " << r.out;
  return j;
}

std::vector<std::string> Names(const json& j, const char* field) {
  return j.contains(field) ? j[field].get<std::vector<std::string>>() : std::vector<std::string>{};
}

// ---- scenarios (each used by its own test and by the leak scan) ----------

void FirstSyncGeneratesAndAnnotates(Collector* c) {
  Harness h(c);
  RunOutput r = h.K8s("sync");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json s = Summary(r);
  EXPECT_EQ(Names(s, "created"),
            (std::vector<std::string>{"APP_ENCRYPTION_KEY", "APP_ADMIN_PWD",
                                      "APP_ADMIN_ADVISABLE_PWD", "APP_DB_DEFAULT_PWD"}));
  EXPECT_EQ(s["annotated"], true);
  Map d = h.Data();
  for (const char* k : {"APP_ENCRYPTION_KEY", "APP_ADMIN_PWD", "APP_ADMIN_ADVISABLE_PWD"}) {
    EXPECT_TRUE(std::regex_match(d[k], std::regex("[0-9a-f]{32}"))) << k;
  }
  std::string raw;
  ASSERT_TRUE(Base64Decode(d["APP_DB_DEFAULT_PWD"], &raw));
  EXPECT_TRUE(std::regex_match(raw, std::regex("[0-9a-f]{32}")));
  EXPECT_EQ(h.k8s().SecretAnnotations(kNs, "app")[kAnnotation], "true");
}

void SecondSyncKeepsOnceKeysAndRotates(Collector* c) {
  Harness h(c);
  ASSERT_EQ(h.K8s("sync").exit_code, 0);
  Map first = h.Data();
  RunOutput r = h.K8s("sync");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json s = Summary(r);
  EXPECT_EQ(Names(s, "rotated"), (std::vector<std::string>{"APP_DB_DEFAULT_PWD"}));
  EXPECT_EQ(Names(s, "kept").size(), 3u);
  EXPECT_TRUE(Names(s, "created").empty());
  Map second = h.Data();
  for (const char* k : {"APP_ENCRYPTION_KEY", "APP_ADMIN_PWD", "APP_ADMIN_ADVISABLE_PWD"}) {
    EXPECT_EQ(first[k], second[k]) << k;
  }
  EXPECT_NE(first["APP_DB_DEFAULT_PWD"], second["APP_DB_DEFAULT_PWD"]);
}

void LostAnnotationStillKeepsOnceKeys(Collector* c) {
  Harness h(c);
  ASSERT_EQ(h.K8s("sync").exit_code, 0);
  Map first = h.Data();
  h.k8s().ModifySecret(kNs, "app", [](json& s) {
    s["metadata"]["annotations"].erase(kAnnotation);
    s["metadata"]["labels"]["team"] = "web";  // a label we do not own must survive
    s["data"]["UNRELATED"] = Base64Encode("left-alone");
  });
  RunOutput r = h.K8s("sync");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Summary(r)["annotated"], true);
  Map second = h.Data();
  EXPECT_EQ(first["APP_ENCRYPTION_KEY"], second["APP_ENCRYPTION_KEY"]);
  EXPECT_EQ(first["APP_ADMIN_PWD"], second["APP_ADMIN_PWD"]);
  EXPECT_EQ(second["UNRELATED"], "left-alone");
  json obj;
  ASSERT_TRUE(h.k8s().GetSecret(kNs, "app", &obj));
  EXPECT_EQ(obj["metadata"]["labels"]["team"], "web");
}

void FiveConflictsThenSuccess(Collector* c) {
  Harness h(c);
  ASSERT_EQ(h.K8s("sync").exit_code, 0);
  Map first = h.Data();
  h.k8s().ConflictNextWrites(5);
  RunOutput r = h.K8s("sync");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Summary(r)["conflicts"], 5);
  Map second = h.Data();
  EXPECT_EQ(first["APP_ENCRYPTION_KEY"], second["APP_ENCRYPTION_KEY"]);
  EXPECT_EQ(first["APP_ADMIN_ADVISABLE_PWD"], second["APP_ADMIN_ADVISABLE_PWD"]);
  EXPECT_EQ(h.k8s().conflicts(), 5);
}

void ThreeServiceUnavailableThenSuccess(Collector* c) {
  Harness h(c);
  h.k8s().FailNext(3, 503);
  RunOutput r = h.K8s("sync");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(h.Data().size(), 4u);
}

void UnreachableApiIsNotReady(Collector* c) {
  Harness h(c);
  h.k8s().FailNext(1000000, 503);
  RunOutput r = h.K8s("sync", {"--timeout", "2s"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  // The last error is a 503 or, on a slow machine, the request timing out.
  EXPECT_NE(r.err.find("/api/v1/namespaces/shop/secrets/app"), std::string::npos) << r.err;
  EXPECT_EQ(Summary(r)["exit_code"], 124);
}

void ForbiddenIsAFailureWithTheReason(Collector* c) {
  Harness h(c);
  h.k8s().Forbid("get", "app");
  RunOutput r = h.K8s("sync");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Forbidden"), std::string::npos) << r.err;
}

void InClusterWithRotatedToken(Collector* c) {
  Harness h(c);
  Map env = h.k8s().WriteServiceAccount(h.dir().Sub("sa"), kNs);
  RunOutput r = h.Run({"sync", "--secret", "app"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Summary(r)["namespace"], kNs);
  // The projected token was rotated: the next run must use the new file.
  h.k8s().SetToken("rotated-sa-token-98f3a1c4");
  c->AddValue("rotated-sa-token-98f3a1c4");
  h.k8s().WriteServiceAccount(h.dir().Sub("sa"), kNs);
  r = h.Run({"sync", "--secret", "app"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  h.Data();
}

void FullSpecGenerators(Collector* c) {
  Harness h(c);
  std::string spec = h.WriteSpec(R"({
    "secret": "app",
    "once": {
      "APP_KEY": {"generator": "laravel-app-key"},
      "PASS": {"generator": "alnum", "length": 24},
      "APP_UUID": {"generator": "uuid"},
      "B64": {"generator": "base64", "bytes": 32},
      "PASSPORT": {"generator": "rsa-keypair", "bits": 2048,
                   "private_key": "oauth-private.key", "public_key": "oauth-public.key"}
    }
  })");
  RunOutput r = h.K8s("sync", {"--spec", spec});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Map d = h.Data();
  std::string raw;
  ASSERT_EQ(d["APP_KEY"].rfind("base64:", 0), 0u);
  ASSERT_TRUE(Base64Decode(d["APP_KEY"].substr(7), &raw));
  EXPECT_EQ(raw.size(), 32u);
  EXPECT_EQ(d["PASS"].size(), 24u);
  EXPECT_EQ(d["APP_UUID"].size(), 36u);
  BIO* b = BIO_new_mem_buf(d["oauth-private.key"].data(), -1);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_bits(key), 2048);
  EVP_PKEY_free(key);
  b = BIO_new_mem_buf(d["oauth-public.key"].data(), -1);
  key = PEM_read_bio_PUBKEY(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  ASSERT_NE(key, nullptr);
  EVP_PKEY_free(key);
  // Re-sync: the keypair and APP_KEY never change.
  r = h.K8s("sync", {"--spec", spec});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Map again = h.Data();
  EXPECT_EQ(again["oauth-private.key"], d["oauth-private.key"]);
  EXPECT_EQ(again["APP_KEY"], d["APP_KEY"]);
  EXPECT_EQ(Summary(r)["written"], false);
}

void PlanChangesNothing(Collector* c) {
  Harness h(c);
  ASSERT_EQ(h.K8s("sync").exit_code, 0);
  Map before = h.Data();
  int writes = h.k8s().writes();
  RunOutput r = h.K8s("plan");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json s = Summary(r);
  EXPECT_EQ(s["dry_run"], true);
  EXPECT_EQ(Names(s, "rotated"), (std::vector<std::string>{"APP_DB_DEFAULT_PWD"}));
  r = h.K8s("sync", {"--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(h.k8s().writes(), writes);
  EXPECT_EQ(h.Data(), before);
}

void KeycloakCreateResyncCorrectTeardown(Collector* c) {
  Harness h(c);
  KeycloakFake kc;
  Map env = h.KeycloakEnv(kc);
  RunOutput r = h.K8s("sync", {}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json s = Summary(r);
  EXPECT_EQ(s["keycloak"]["client"], "created");
  Map stored = h.Data("app-keycloak");
  EXPECT_EQ(stored["APP_ADMIN_SSO_CLIENT_ID"], "shop-admin");
  ASSERT_EQ(stored["APP_ADMIN_SSO_CLIENT_SECRET"].size(), 32u);
  EXPECT_EQ(kc.ClientSecret("shop-admin"), stored["APP_ADMIN_SSO_CLIENT_SECRET"]);

  r = h.K8s("sync", {}, env);  // re-sync creates nothing
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Summary(r)["keycloak"]["client"], "unchanged");
  EXPECT_EQ(kc.creates(), 1);
  EXPECT_EQ(kc.updates(), 0);

  kc.SetClientSecret("shop-admin", "set-by-hand-in-keycloak-0000");
  c->AddValue("set-by-hand-in-keycloak-0000");
  r = h.K8s("sync", {}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Summary(r)["keycloak"]["client_secret"], "corrected");
  EXPECT_EQ(kc.ClientSecret("shop-admin"), stored["APP_ADMIN_SSO_CLIENT_SECRET"]);
  EXPECT_EQ(h.Data("app-keycloak"), stored);

  Map app_before = h.Data();
  for (int i = 0; i < 2; ++i) {
    r = h.K8s("teardown", {}, env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Summary(r)["keycloak"]["client"], i == 0 ? "deleted" : "absent");
  }
  json rep;
  EXPECT_FALSE(kc.FindClient("shop-admin", &rep));
  EXPECT_TRUE(h.Data("app-keycloak").empty());
  EXPECT_FALSE(h.Data().empty());  // the app Secret stays
}

void KeycloakTokenExpiresMidSync(Collector* c) {
  Harness h(c);
  KeycloakFake kc;
  Map env = h.KeycloakEnv(kc);
  kc.ExpireTokensAfter(1);  // the first admin call works, the next one sees 401
  RunOutput r = h.K8s("sync", {}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(kc.token_requests(), 2);
  EXPECT_EQ(kc.creates(), 1);
  h.Data("app-keycloak");
}

void DirTarget(Collector* c) {
  Harness h(c);
  std::string dir = h.dir().Sub("run-secrets");
  // No --secret: a file target needs none (this is what `make demo` runs).
  RunOutput r = h.Run({"sync", "--target", "dir:" + dir});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* k : {"APP_ENCRYPTION_KEY", "APP_ADMIN_PWD", "APP_ADMIN_ADVISABLE_PWD",
                        "APP_DB_DEFAULT_PWD", ".initkit-state.json"}) {
    struct stat sb;
    ASSERT_EQ(stat((dir + "/" + k).c_str(), &sb), 0) << k;
    EXPECT_EQ(sb.st_mode & 07777, 0600u) << k;
    if (k[0] != '.') c->AddValue(testing::ReadFile(dir + "/" + k));
  }
  std::string key = testing::ReadFile(dir + "/APP_ENCRYPTION_KEY");
  // Lose the state file (annotation): generate-once keys still stay.
  ASSERT_EQ(unlink((dir + "/.initkit-state.json").c_str()), 0);
  r = h.Run({"sync", "--secret", "app", "--target", "dir:" + dir});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(testing::ReadFile(dir + "/APP_ENCRYPTION_KEY"), key);
  c->AddValue(testing::ReadFile(dir + "/APP_DB_DEFAULT_PWD"));
}

void EnvFileTarget(Collector* c) {
  Harness h(c);
  std::string file = h.dir().Sub("app.env");
  RunOutput r = h.Run({"sync", "--secret", "app", "--target", "env-file:" + file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat sb;
  ASSERT_EQ(stat(file.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0600u);
  std::string text = testing::ReadFile(file);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("APP_ENCRYPTION_KEY=([0-9a-f]{32})\n")));
  std::string key = m[1];
  c->AddValue(key);
  r = h.Run({"sync", "--secret", "app", "--target", "env-file:" + file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  text = testing::ReadFile(file);
  EXPECT_NE(text.find("APP_ENCRYPTION_KEY=" + key + "\n"), std::string::npos);
  ASSERT_TRUE(std::regex_search(text, m, std::regex("APP_DB_DEFAULT_PWD=(\\S+)\n")));
  c->AddValue(m[1]);
}

void UsageErrors(Collector* c) {
  Harness h(c);
  std::string spec = h.WriteSpec(R"({"once": {"A": {"generator": "hex", "bytez": 3}}})");
  RunOutput r = h.K8s("sync", {"--spec", spec});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/once/A/bytez"), std::string::npos) << r.err;
  r = h.Run({"sync", "--kubeconfig", h.dir().Sub("kubeconfig")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--secret"), std::string::npos) << r.err;
  r = h.K8s("sync", {}, {{"APP_ADMIN_SSO_ENABLED", "true"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--keycloak-url"), std::string::npos) << r.err;
  r = h.Run({"sync", "--secret", "app", "--kubeconfig", h.dir().Sub("missing")});
  EXPECT_EQ(r.exit_code, 2);
}

using Scenario = void (*)(Collector*);
const std::pair<const char*, Scenario> kScenarios[] = {
    {"FirstSyncGeneratesAndAnnotates", FirstSyncGeneratesAndAnnotates},
    {"SecondSyncKeepsOnceKeysAndRotates", SecondSyncKeepsOnceKeysAndRotates},
    {"LostAnnotationStillKeepsOnceKeys", LostAnnotationStillKeepsOnceKeys},
    {"FiveConflictsThenSuccess", FiveConflictsThenSuccess},
    {"ThreeServiceUnavailableThenSuccess", ThreeServiceUnavailableThenSuccess},
    {"UnreachableApiIsNotReady", UnreachableApiIsNotReady},
    {"ForbiddenIsAFailureWithTheReason", ForbiddenIsAFailureWithTheReason},
    {"InClusterWithRotatedToken", InClusterWithRotatedToken},
    {"FullSpecGenerators", FullSpecGenerators},
    {"PlanChangesNothing", PlanChangesNothing},
    {"KeycloakCreateResyncCorrectTeardown", KeycloakCreateResyncCorrectTeardown},
    {"KeycloakTokenExpiresMidSync", KeycloakTokenExpiresMidSync},
    {"DirTarget", DirTarget},
    {"EnvFileTarget", EnvFileTarget},
    {"UsageErrors", UsageErrors},
};

class SecretsE2eTest : public ::testing::TestWithParam<std::pair<const char*, Scenario>> {};

TEST_P(SecretsE2eTest, Scenario) {
  Collector c;
  GetParam().second(&c);
}

INSTANTIATE_TEST_SUITE_P(All, SecretsE2eTest, ::testing::ValuesIn(kScenarios),
                         [](const auto& info) { return std::string(info.param.first); });

// Runs every scenario again at debug level and scans every byte they printed
// for every value that was generated, stored or used as a credential.
TEST(SecretsLeakTest, NoValueAppearsInAnyOutput) {
  Collector c;
  c.log_level = "debug";
  for (const auto& [name, scenario] : kScenarios) {
    SCOPED_TRACE(name);
    scenario(&c);
  }
  ASSERT_GT(c.values.size(), 40u);  // the scan must have something to look for
  ASSERT_GT(c.output.size(), 1000u);
  for (const std::string& v : c.values) {
    EXPECT_EQ(c.output.find(v), std::string::npos)
        << "a value of " << v.size() << " bytes appears in the output";
  }
}

}  // namespace
}  // namespace initkit::secrets
