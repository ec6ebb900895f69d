// Keycloak faults end to end: down, token expiring mid-sync, a concurrent
// run creating the client first.
#include <atomic>

#include "tests/secrets-faults/harness.h"

namespace initkit::secrets::faults {
namespace {

constexpr const char* kClientSecretKey = "APP_ADMIN_SSO_CLIENT_SECRET";

// What the tool guarantees when Keycloak is down: the app Secret is synced
// and the client secret is stored in the dedicated Secret *before* any
// Keycloak call, so the run fails (124) with nothing to lose; the next run
// creates the client with exactly that stored secret.
TEST(KeycloakFaultsTest, DownIs124AndTheStoredSecretIsUsedOnceItIsBack) {
  Harness h;
  std::string down = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  RunOutput r = h.Sync({"--timeout", "2s"}, h.KeycloakEnv(down));
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find("Keycloak POST " + down + "/realms/master/protocol/openid-connect/token"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(CompleteBuiltinValues(h.Data()));
  Map stored = h.Data("app-keycloak");
  EXPECT_EQ(stored["APP_ADMIN_SSO_CLIENT_ID"], "shop-admin");
  ASSERT_EQ(stored[kClientSecretKey].size(), 32u);
  Map once = h.Once();

  KeycloakFake kc;
  r = h.Sync({}, h.KeycloakEnv(kc.base_url()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Summary(r)["keycloak"]["client"], "created");
  EXPECT_TRUE(kc.ClientSecret("shop-admin") == stored[kClientSecretKey]);
  EXPECT_TRUE(h.Data("app-keycloak") == stored) << "stored values differ";
  EXPECT_TRUE(h.Once() == once) << "stored values differ";
}

TEST(KeycloakFaultsTest, ServerErrorsUntilTheDeadlineAre124) {
  Harness h;
  KeycloakFake kc;
  ASSERT_EQ(h.Sync({}, h.KeycloakEnv(kc.base_url())).exit_code, 0);
  Map stored = h.Data("app-keycloak");
  kc.FailNext(1000000, 503);
  RunOutput r = h.Sync({"--timeout", "2s", "--keycloak-root-url", "https://drift.example"},
                       h.KeycloakEnv(kc.base_url()));
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find("HTTP 503"), std::string::npos) << r.err;
  EXPECT_TRUE(h.Data("app-keycloak") == stored) << "stored values differ";
  EXPECT_TRUE(kc.ClientSecret("shop-admin") == stored[kClientSecretKey]);
}

// A re-sync with drifted settings makes three admin calls (search, secret,
// update); the token expires after the first N of them.
class TokenExpiryTest : public ::testing::TestWithParam<int> {};

TEST_P(TokenExpiryTest, ExpiringAfterNCallsIsRefetchedAndTheSyncSucceeds) {
  Harness h;
  KeycloakFake kc;
  ASSERT_EQ(h.Sync({}, h.KeycloakEnv(kc.base_url())).exit_code, 0);
  Map stored = h.Data("app-keycloak");
  int fetches = kc.token_requests();
  kc.ExpireTokensAfter(GetParam());
  RunOutput r =
      h.Sync({"--keycloak-root-url", "https://drift.example"}, h.KeycloakEnv(kc.base_url()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(kc.token_requests(), fetches + 2);  // this run's token, then one re-fetch
  EXPECT_EQ(kc.unauthorized(), 1);
  EXPECT_EQ(kc.updates(), 1);
  json rep;
  ASSERT_TRUE(kc.FindClient("shop-admin", &rep));
  EXPECT_EQ(rep["rootUrl"], "https://drift.example");
  EXPECT_TRUE(kc.ClientSecret("shop-admin") == stored[kClientSecretKey]);
}

INSTANTIATE_TEST_SUITE_P(All, TokenExpiryTest, ::testing::Values(0, 1, 2));

// Our search comes back empty, then a concurrent run creates the client just
// before our POST (409). The tool must search again and converge: one
// client, whose secret is the stored one.
class ConcurrentCreateTest : public ::testing::TestWithParam<bool> {};

TEST_P(ConcurrentCreateTest, A409OnCreateIsResolvedByReReading) {
  bool same_secret = GetParam();  // did the other run read the same dedicated Secret?
  Harness h;
  KeycloakFake kc;
  std::atomic<int> posts{0};
  kc.faults().SetIntercept([&](const FakeRequest& req) -> std::optional<FakeResponse> {
    if (req.method == "POST" && req.path == "/admin/realms/shop/clients" && posts++ == 0) {
      std::string secret = same_secret ? h.Data("app-keycloak")[kClientSecretKey]
                                       : "created-by-an-older-concurrent-run-01";
      kc.AddClient({{"clientId", "shop-admin"},
                    {"enabled", true},
                    {"protocol", "openid-connect"},
                    {"publicClient", false},
                    {"secret", secret}});
    }
    return std::nullopt;  // the fake now answers 409: the clientId exists
  });
  RunOutput r = h.Sync({}, h.KeycloakEnv(kc.base_url()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(posts.load(), 1);
  EXPECT_EQ(kc.creates(), 0);  // the only client is the one the other run made
  json s = Summary(r);
  // This run generated the stored secret; the other run's different one is corrected.
  EXPECT_EQ(s["keycloak"]["client_secret"], same_secret ? "generated" : "corrected");
  std::string stored = h.Data("app-keycloak")[kClientSecretKey];
  ASSERT_EQ(stored.size(), 32u);
  EXPECT_TRUE(kc.ClientSecret("shop-admin") == stored);
  json rep;
  ASSERT_TRUE(kc.FindClient("shop-admin", &rep));
  EXPECT_EQ(rep["redirectUris"], json({"https://shop.example/admin/*"}));
}

INSTANTIATE_TEST_SUITE_P(All, ConcurrentCreateTest, ::testing::Bool(), [](const auto& info) {
  return info.param ? "SameSecret" : "OtherSecret";
});

// Real concurrency: several syncs at once against empty fakes.
TEST(KeycloakFaultsTest, ConcurrentRunsConvergeOnOneClientAndOneSecret) {
  Harness h;
  KeycloakFake kc;
  std::atomic<int> posts{0};
  kc.faults().SetIntercept([&](const FakeRequest& req) -> std::optional<FakeResponse> {
    if (req.method == "POST" && req.path == "/admin/realms/shop/clients") ++posts;
    return std::nullopt;
  });
  // Two-phase barrier: every run's client search is held until all six have
  // searched, then their creates until all six have tried. So all six see
  // no client and race to create it: one 201, five 409s.
  kc.faults().Hold(Request("GET", "/admin/realms/shop/clients"));
  std::vector<std::unique_ptr<RunningBinary>> runs;
  // KeycloakEnv writes the admin secret file: once, not while runs read it.
  const auto env = h.KeycloakEnv(kc.base_url());
  for (int i = 0; i < 6; ++i) runs.push_back(h.StartSync({}, env));
  ASSERT_TRUE(kc.faults().WaitHeld(6, kWait));
  kc.faults().ReleaseHeld(FaultHooks::Release::kAnswer,
                          Request("POST", "/admin/realms/shop/clients"));
  ASSERT_TRUE(kc.faults().WaitHeld(12, kWait));
  kc.faults().ReleaseHeld(FaultHooks::Release::kAnswer);
  for (auto& run : runs) {
    RunOutput r = run->Wait(kWait);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_EQ(kc.creates(), 1);
  EXPECT_EQ(posts.load(), 6);
  std::string stored = h.Data("app-keycloak")[kClientSecretKey];
  ASSERT_EQ(stored.size(), 32u);
  EXPECT_TRUE(kc.ClientSecret("shop-admin") == stored);
  EXPECT_TRUE(CompleteBuiltinValues(h.Data()));
}

// The account loses view-clients/manage-clients after the client was made:
// Keycloak's search answers 200 [] (it filters what the caller cannot view).
// Teardown must not take that for "absent" and delete the only copy of the
// client secret; sync must not report success either.
TEST(KeycloakFaultsTest, QueryOnlyAccountFailsAndKeepsTheDedicatedSecret) {
  Harness h;
  KeycloakFake kc;
  ASSERT_EQ(h.Sync({}, h.KeycloakEnv(kc.base_url())).exit_code, 0);
  Map stored = h.Data("app-keycloak");
  ASSERT_EQ(stored[kClientSecretKey].size(), 32u);
  kc.SetQueryOnly(true);

  RunOutput r = h.Run(h.Args("teardown"), h.KeycloakEnv(kc.base_url()));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  for (const char* word : {"view-clients", "manage-clients", "shop-realm", "of the master realm"}) {
    EXPECT_NE(r.err.find(word), std::string::npos) << word << " missing in " << r.err;
  }
  EXPECT_TRUE(h.Data("app-keycloak") == stored) << "the dedicated Secret changed";
  EXPECT_EQ(kc.deletes(), 0);

  r = h.Sync({}, h.KeycloakEnv(kc.base_url()));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  for (const char* word : {"HTTP 403", "manage-clients", "shop-realm", "of the master realm"}) {
    EXPECT_NE(r.err.find(word), std::string::npos) << word << " missing in " << r.err;
  }
  EXPECT_TRUE(h.Data("app-keycloak") == stored) << "the dedicated Secret changed";
}

}  // namespace
}  // namespace initkit::secrets::faults
