// --restart deployment/NAME against the fake API: the PATCH kubectl rollout
// restart sends, 404/403, and alternating users that never switch again
// while the previous switch is still rolling out.
#include "tests/fakes/deployment_json.h"
#include "tests/secrets-faults/harness.h"

namespace initkit::secrets::faults {
namespace {

constexpr const char* kWebPath = "/apis/apps/v1/namespaces/shop/deployments/web";
constexpr const char* kRestartedAt = "kubectl.kubernetes.io/restartedAt";

constexpr const char* kSpec = R"({
  "secret": "app",
  "alternating-users": {"APP_DB": {
    "users": ["shop_a", "shop_b"],
    "password-keys": ["APP_DB_PASSWORD_A", "APP_DB_PASSWORD_B"],
    "user-key": "APP_DB_USER",
    "password-key": "APP_DB_DEFAULT_PWD"}}
})";

// A Deployment whose rollout of `generation` is complete (or not yet observed).
json Web(int generation, int observed, const std::string& restarted_at = "") {
  json d = testing::DeploymentJson(generation, observed, 2, 2, 2, 2);
  if (!restarted_at.empty()) {
    d["spec"]["template"]["metadata"]["annotations"][kRestartedAt] = restarted_at;
  }
  return d;
}

// The test plays the Deployment controller: the current spec is rolled out.
void FinishRollout(Harness& h) {
  json d;
  ASSERT_TRUE(h.k8s().GetObject(kWebPath, &d));
  d["status"]["observedGeneration"] = d["metadata"]["generation"];
  h.k8s().SetObject(kWebPath, d);
}

std::string RestartedAt(Harness& h) {
  json d;
  EXPECT_TRUE(h.k8s().GetObject(kWebPath, &d));
  json::json_pointer p("/spec/template/metadata/annotations");
  return d.contains(p) && d[p].contains(kRestartedAt) ? d[p][kRestartedAt].get<std::string>() : "";
}

class RestartTest : public ::testing::Test {
 protected:
  RestartTest() {
    spec_ = h_.dir().Sub("spec.json");
    testing::WriteFile(spec_, kSpec);
    h_.k8s().SetObject(kWebPath, Web(1, 1));
  }
  RunOutput Sync() { return h_.Sync({"--spec", spec_, "--restart", "deployment/web"}); }
  Harness h_;
  std::string spec_;
};

TEST_F(RestartTest, PatchesLikeKubectlRolloutRestart) {
  ASSERT_EQ(Sync().exit_code, 0);  // first sync: users created, nothing rotated, no restart
  EXPECT_EQ(h_.k8s().patches(), 0);
  RunOutput r = Sync();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Summary(r)["restarted"], json({"deployment/web"}));
  EXPECT_EQ(h_.k8s().patches(), 1);
  std::string at = RestartedAt(h_);
  EXPECT_EQ(at, h_.k8s().SecretAnnotations(kNs, kApp)["initkit.io/users-switched-at"]);
  json d;
  ASSERT_TRUE(h_.k8s().GetObject(kWebPath, &d));
  EXPECT_EQ(d["metadata"]["generation"], 2);  // a spec change: the Deployment rolls
  EXPECT_EQ(d["spec"]["template"]["metadata"]["labels"]["app"], "web");  // merged, not replaced
  bool seen = false;
  for (const FakeRequest& req : h_.k8s().request_log()) {
    if (req.method != "PATCH") continue;
    seen = true;
    EXPECT_EQ(req.path, kWebPath);
    EXPECT_EQ(req.headers.at("content-type"), "application/strategic-merge-patch+json");
  }
  EXPECT_TRUE(seen);
}

TEST_F(RestartTest, ASecondSyncBeforeTheRolloutFinishedRotatesNothing) {
  ASSERT_EQ(Sync().exit_code, 0);
  ASSERT_EQ(Sync().exit_code, 0);  // switched to shop_b, restart patched, not yet observed
  Map switched = h_.Data();
  ASSERT_EQ(switched["APP_DB_USER"], "shop_b");

  RunOutput r = Sync();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json s = Summary(r);
  EXPECT_EQ(s["alternating_users"][0]["action"], "held");
  EXPECT_EQ(s["alternating_users"][0]["active"], "shop_b");
  EXPECT_FALSE(s["held_because"].empty());
  EXPECT_NE(r.err.find("kept both database passwords"), std::string::npos) << r.err;
  EXPECT_TRUE(h_.Data() == switched) << "a held sync changed a password";
  EXPECT_EQ(h_.k8s().patches(), 1);

  FinishRollout(h_);
  r = Sync();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Summary(r)["alternating_users"][0]["action"], "switched");
  EXPECT_EQ(h_.Data()["APP_DB_USER"], "shop_a");
  EXPECT_TRUE(h_.Data()["APP_DB_PASSWORD_B"] == switched["APP_DB_PASSWORD_B"]);
  EXPECT_EQ(h_.k8s().patches(), 2);
}

// A run killed between its Secret write and its PATCH: the next run sees a
// switch that no restart followed, holds, and restarts.
TEST_F(RestartTest, AMissedRestartIsMadeUpAndHolds) {
  ASSERT_EQ(Sync().exit_code, 0);
  ASSERT_EQ(h_.Sync({"--spec", spec_}).exit_code, 0);  // switched without --restart
  Map switched = h_.Data();
  RunOutput r = Sync();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Summary(r)["alternating_users"][0]["action"], "held");
  EXPECT_EQ(Summary(r)["restarted"], json({"deployment/web"}));
  EXPECT_TRUE(h_.Data() == switched);
  EXPECT_GE(RestartedAt(h_), h_.k8s().SecretAnnotations(kNs, kApp)["initkit.io/users-switched-at"]);
}

TEST_F(RestartTest, MissingDeploymentAndForbiddenPatchAreClearFailures) {
  ASSERT_EQ(Sync().exit_code, 0);
  Map before = h_.Data();
  RunOutput r = h_.Sync({"--spec", spec_, "--restart", "deployment/nope"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("deployment/nope"), std::string::npos) << r.err;
  EXPECT_TRUE(h_.Data() == before) << "rotated although the restart could not be done";
  h_.k8s().Forbid("patch", "web");
  r = Sync();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("HTTP 403"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("patch on deployments.apps named web"), std::string::npos) << r.err;
}

// A new app's PreSync hook runs before the Deployment exists: the first sync
// creates the Secret and restarts nothing; later syncs need the Deployment.
TEST_F(RestartTest, FirstSyncBeforeTheDeploymentExistsCreatesTheSecret) {
  RunOutput r = h_.Sync({"--spec", spec_, "--restart", "deployment/later"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Summary(r)["alternating_users"][0]["action"], "created");
  EXPECT_FALSE(Summary(r).contains("restarted"));
  EXPECT_EQ(h_.k8s().patches(), 0);
  Map created = h_.Data();
  r = h_.Sync({"--spec", spec_, "--restart", "deployment/later"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("deployment/later"), std::string::npos) << r.err;
  EXPECT_TRUE(h_.Data() == created) << "rotated although the Deployment is missing";
}

TEST_F(RestartTest, BadTargetsAreUsageErrors) {
  for (const char* bad : {"web", "pod/web", "deployment/Web", "deployment/"}) {
    RunOutput r = h_.Sync({"--spec", spec_, "--restart", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << r.err;
    EXPECT_NE(r.err.find("--restart"), std::string::npos) << r.err;
  }
  RunOutput r = h_.Run({"sync", "--spec", spec_, "--target", "dir:" + h_.dir().Sub("d"),
                        "--restart", "deployment/web"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

}  // namespace
}  // namespace initkit::secrets::faults
