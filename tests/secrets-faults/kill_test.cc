// SIGKILL and SIGTERM at every step of a sync: with a request held in
// flight by a fake (Kubernetes write, Keycloak call), then a re-run must
// complete with no lost or replaced once-key.
#include <signal.h>

#include "tests/secrets-faults/harness.h"

namespace initkit::secrets::faults {
namespace {

constexpr const char* kKcSecret = "APP_ADMIN_SSO_CLIENT_SECRET";

struct Step {
  const char* name;
  bool keycloak;       // the step is a Keycloak call
  const char* method;  // the request held
  const char* path;
  bool earlier_run;  // a completed run stored values before
};

const Step kSteps[] = {
    {"ReadOfTheAppSecret", false, "GET", kAppPath, true},
    {"CreateOfTheAppSecret", false, "POST", kSecretsPath, false},
    {"UpdateOfTheAppSecret", false, "PUT", kAppPath, true},
    {"CreateOfTheKeycloakSecret", false, "POST", kSecretsPath, true},
    {"KeycloakToken", true, "POST", "/realms/master/protocol/openid-connect/token", true},
    {"KeycloakClientSearch", true, "GET", "/admin/realms/shop/clients", true},
    {"KeycloakClientCreate", true, "POST", "/admin/realms/shop/clients", true},
};

struct KillCase {
  Step step;
  int signal;
  FaultHooks::Release release;  // what becomes of the request held when the tool died
};

std::string Name(const KillCase& c) {
  return std::string(c.step.name) + (c.signal == SIGKILL ? "_Sigkill" : "_Sigterm") +
         (c.release == FaultHooks::Release::kAnswer ? "_ThenApplied" : "_ThenDropped");
}

std::vector<KillCase> AllCases() {
  std::vector<KillCase> out;
  for (const Step& s : kSteps) {
    for (int sig : {SIGKILL, SIGTERM}) {
      out.push_back({s, sig, FaultHooks::Release::kAnswer});
      if (sig == SIGKILL) out.push_back({s, sig, FaultHooks::Release::kDrop});
    }
  }
  return out;
}

class KillTest : public ::testing::TestWithParam<KillCase> {};

TEST_P(KillTest, ReRunCompletesWithTheOnceKeysOfEveryCompletedRun) {
  const KillCase& c = GetParam();
  Harness h;
  KeycloakFake kc;
  Map env = h.KeycloakEnv(kc.base_url());
  Map once_before;
  if (c.step.earlier_run) {
    // The earlier run synced the app Secret only (Keycloak enabled later),
    // so this run still has the Keycloak Secret and client to create.
    ASSERT_EQ(h.Sync().exit_code, 0);
    once_before = h.Once();
  }
  FaultHooks& faults = c.step.keycloak ? kc.faults() : h.k8s().faults();
  faults.Hold(Request(c.step.method, c.step.path));
  std::unique_ptr<RunningBinary> run = h.StartSync({}, env);
  ASSERT_TRUE(faults.WaitHeld(1, kWait)) << "the tool never reached " << c.step.name;
  run->Signal(c.signal);
  RunOutput killed = run->Wait(kWait);
  EXPECT_EQ(killed.exit_code, 128 + c.signal) << killed.err;
  if (c.signal == SIGTERM) {
    EXPECT_EQ(Summary(killed)["exit_code"], 143);
  }
  faults.ReleaseHeld(c.release);
  ASSERT_TRUE(faults.WaitReleasedDone(1, kWait));

  // Whatever landed: the once-keys of the completed run are still there,
  // and the stored Keycloak secret (if any) is complete.
  Map after_kill = h.Data();
  if (c.step.earlier_run) {
    EXPECT_TRUE(OnceOf(after_kill) == once_before) << "stored values differ";
  }
  if (!after_kill.empty()) {
    EXPECT_TRUE(CompleteBuiltinValues(after_kill));
  }
  Map kc_after_kill = h.Data("app-keycloak");
  if (!kc_after_kill.empty()) {
    EXPECT_EQ(kc_after_kill[kKcSecret].size(), 32u);
  }
  Map once_landed = OnceOf(after_kill);

  RunOutput again = h.Sync({}, env);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  Map final_data = h.Data();
  EXPECT_TRUE(CompleteBuiltinValues(final_data));
  if (!once_landed.empty()) {
    EXPECT_TRUE(OnceOf(final_data) == once_landed) << "stored values differ";
  }
  // One client, with the secret that was stored (the stored one wins; a
  // stored secret from before the kill is never replaced).
  std::string stored = h.Data("app-keycloak")[kKcSecret];
  ASSERT_EQ(stored.size(), 32u);
  if (!kc_after_kill.empty()) {
    EXPECT_TRUE(stored == kc_after_kill[kKcSecret]);
  }
  EXPECT_TRUE(kc.ClientSecret("shop-admin") == stored);
  EXPECT_LE(kc.creates(), 1);
}

INSTANTIATE_TEST_SUITE_P(All, KillTest, ::testing::ValuesIn(AllCases()),
                         [](const auto& info) { return Name(info.param); });

// SIGTERM while the tool waits between retries of a failing API.
TEST(SigtermTest, DuringRetryBackoffExits143) {
  Harness h;
  h.k8s().FailNext(1000000, 503);
  std::unique_ptr<RunningBinary> run = h.StartSync({"--log-level", "debug"});
  ASSERT_TRUE(run->WaitForStderr("retrying", kWait));
  run->Signal(SIGTERM);
  RunOutput r = run->Wait(kWait);
  EXPECT_EQ(r.exit_code, 143) << r.err;
  EXPECT_EQ(Summary(r)["exit_code"], 143);
  EXPECT_EQ(h.k8s().writes(), 0);
}

}  // namespace
}  // namespace initkit::secrets::faults
