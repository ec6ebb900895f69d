// Alternating users end to end against the fake API: the switch on every
// sync, `plan`, and 20 concurrent syncs converging on one consistent state.
#include <cstdio>

#include "tests/secrets-faults/harness.h"

namespace initkit::secrets::faults {
namespace {

constexpr const char* kSpec = R"({
  "secret": "app",
  "once": {"APP_ENCRYPTION_KEY": {"generator": "hex"}},
  "alternating-users": {"APP_DB": {
    "users": ["shop_a", "shop_b"],
    "password-keys": ["APP_DB_PASSWORD_A", "APP_DB_PASSWORD_B"],
    "user-key": "APP_DB_USER",
    "password-key": "APP_DB_DEFAULT_PWD"}}
})";

std::string WriteSpec(const Harness& h) {
  std::string path = h.dir().Sub("alternating.json");
  testing::WriteFile(path, kSpec);
  return path;
}

// One active user, one password per user, and the app's keys agree.
bool Consistent(const Map& d) {
  auto get = [&](const char* k) {
    auto it = d.find(k);
    return it == d.end() ? std::string() : it->second;
  };
  std::string user = get("APP_DB_USER");
  std::string key = user == "shop_a" ? "APP_DB_PASSWORD_A" : "APP_DB_PASSWORD_B";
  return (user == "shop_a" || user == "shop_b") && get(key.c_str()).size() == 32 &&
         get("APP_DB_DEFAULT_PWD") == get(key.c_str()) &&
         get("APP_DB_PASSWORD_A") != get("APP_DB_PASSWORD_B");
}

TEST(AlternatingUsersTest, EverySyncSwitchesAndNeverTouchesTheUserInUse) {
  Harness h;
  std::string spec = WriteSpec(h);
  RunOutput r = h.Sync({"--spec", spec});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json s = Summary(r);
  EXPECT_EQ(s["alternating_users"][0]["action"], "created");
  EXPECT_EQ(s["alternating_users"][0]["active"], "shop_a");
  ASSERT_TRUE(Consistent(h.Data()));
  for (const char* want : {"shop_b", "shop_a", "shop_b"}) {
    Map before = h.Data();
    std::string held =
        before["APP_DB_USER"] == "shop_a" ? "APP_DB_PASSWORD_A" : "APP_DB_PASSWORD_B";
    // plan: says who would become active, changes nothing
    r = h.Run(h.Args("plan", {"--spec", spec}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    s = Summary(r);
    EXPECT_EQ(s["alternating_users"][0]["action"], "switched");
    EXPECT_EQ(s["alternating_users"][0]["active"], want);
    EXPECT_TRUE(h.Data() == before) << "plan changed the Secret";

    r = h.Sync({"--spec", spec});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    s = Summary(r);
    EXPECT_EQ(s["alternating_users"][0]["active"], want);
    EXPECT_EQ(s["alternating_users"][0]["previous"], before["APP_DB_USER"]);
    EXPECT_NE(r.err.find("switched the app to the other database user"), std::string::npos);
    Map after = h.Data();
    EXPECT_TRUE(Consistent(after));
    EXPECT_EQ(after["APP_DB_USER"], want);
    EXPECT_TRUE(after[held] == before[held]) << "the password of the user in use changed";
    EXPECT_TRUE(after["APP_ENCRYPTION_KEY"] == before["APP_ENCRYPTION_KEY"]);
    EXPECT_FALSE(h.k8s().SecretAnnotations(kNs, kApp)["initkit.io/users-switched-at"].empty());
  }
}

TEST(AlternatingUsersTest, TwentyConcurrentSyncsConvergeOnOneUserAndOnePasswordEach) {
  constexpr int kRuns = 20;
  Harness h;
  std::string spec = WriteSpec(h);
  ASSERT_EQ(h.Sync({"--spec", spec}).exit_code, 0);
  // Every run reads the same Secret first, then they race their PUTs.
  h.k8s().faults().Hold(Request("GET", kAppPath));
  auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<RunningBinary>> runs;
  for (int i = 0; i < kRuns; ++i) {
    runs.push_back(h.StartSync({"--spec", spec, "--timeout", "120s", "--conflict-attempts", "40"}));
  }
  ASSERT_TRUE(h.k8s().faults().WaitHeld(kRuns, std::chrono::seconds(300)));
  h.k8s().faults().ReleaseHeld(FaultHooks::Release::kAnswer);
  std::map<int, int> codes;
  int switches = 0;
  for (auto& run : runs) {
    RunOutput r = run->Wait(std::chrono::seconds(300));
    ++codes[r.exit_code];
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code == 0 && Summary(r)["alternating_users"][0]["action"] == "switched") ++switches;
  }
  auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  int puts = 0, consistent_puts = 0;
  for (const FakeRequest& req : h.k8s().request_log()) {
    if (req.method != "PUT" || req.path != kAppPath) continue;
    ++puts;
    consistent_puts += Consistent(DataOf(json::parse(req.body, nullptr, false)));
  }
  EXPECT_EQ(consistent_puts, puts) << "a PUT carried a user without its password";
  EXPECT_TRUE(Consistent(h.Data()));
  EXPECT_EQ(switches, kRuns);  // each landed write is one switch from the state it read
  std::printf(
      "alternating load: %d concurrent syncs in %lld ms, %d exit 0, %d PUTs (all "
      "consistent: %s), 409s served: %d, final user %s\n",
      kRuns, static_cast<long long>(wall.count()), codes[0], puts,
      consistent_puts == puts ? "yes" : "no", h.k8s().conflicts(), h.Data()["APP_DB_USER"].c_str());
}

// Keycloak settings without the switch that enables Keycloak do nothing: say so.
TEST(KeycloakDisabledTest, SettingsWithoutTheSwitchAreAWarningNotSilence) {
  Harness h;
  RunOutput r = h.Sync({"--keycloak-client-id", "shop-admin"},
                       {{"INITKIT_KEYCLOAK_URL", "https://sso.example"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Summary(r)["keycloak"], "disabled");
  for (const char* name : {"--keycloak-client-id", "INITKIT_KEYCLOAK_URL"}) {
    std::string line = std::string(name) + " is set but Keycloak sync is disabled";
    EXPECT_NE(r.err.find(line), std::string::npos) << r.err;
  }
  EXPECT_NE(r.err.find("\"level\":\"warn"), std::string::npos) << r.err;
  r = h.Sync();
  EXPECT_EQ(r.err.find("Keycloak sync is disabled"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace initkit::secrets::faults
