// The rollout judgement kubectl's rollout_status.go makes, shared by
// cron-gate --rollout and secrets --restart.
#include "common/k8s_rollout.h"

#include <gtest/gtest.h>

#include "tests/fakes/deployment_json.h"

namespace initkit {
namespace {

using initkit::testing::DeploymentJson;
using nlohmann::json;

TEST(JudgeRolloutTest, FollowsKubectlRules) {
  using V = RolloutVerdict;
  EXPECT_EQ(JudgeRollout(DeploymentJson(2, 2, 3, 3, 3, 3)).kind, V::kComplete);
  EXPECT_EQ(JudgeRollout(DeploymentJson(3, 2, 3, 3, 3, 3)).kind,
            V::kWaiting);                                                       // not observed
  EXPECT_EQ(JudgeRollout(DeploymentJson(2, 2, 3, 4, 2, 2)).kind, V::kWaiting);  // not updated
  auto old_left = JudgeRollout(DeploymentJson(2, 2, 3, 4, 3, 3));
  EXPECT_EQ(old_left.kind, V::kWaiting);
  EXPECT_NE(old_left.detail.find("old replicas"), std::string::npos);
  EXPECT_EQ(JudgeRollout(DeploymentJson(2, 2, 3, 3, 3, 2)).kind, V::kWaiting);  // unavailable
  auto stalled = JudgeRollout(
      DeploymentJson(2, 2, 3, 4, 2, 2, "ReplicaSet web-7f has timed out progressing."));
  EXPECT_EQ(stalled.kind, V::kFailed);
  EXPECT_NE(stalled.detail.find("timed out progressing"), std::string::npos);
  json no_replicas = DeploymentJson(1, 1, 1, 1, 1, 1);
  no_replicas["spec"].erase("replicas");  // defaults to 1
  EXPECT_EQ(JudgeRollout(no_replicas).kind, V::kComplete);
}

TEST(JudgeRolloutTest, TargetParsing) {
  std::string name;
  // kubectl's forms: singular, plural, short, each bare or with group / version.group.
  for (const char* good : {"deployment/web", "deployments/web", "deploy/web", "deployment.apps/web",
                           "deployments.apps/web", "deployments.v1.apps/web"}) {
    name.clear();
    EXPECT_TRUE(ParseDeploymentRef("--rollout", good, &name).ok()) << good;
    EXPECT_EQ(name, "web") << good;
  }
  for (const char* bad :
       {"web", "statefulset/web", "deployment/", "deployment/We b", "deployment/a/b",
        "deployment.extensions/web", "deployment/..", "deployments.apps.v1/web"}) {
    Status st = ParseDeploymentRef("--rollout", bad, &name);
    EXPECT_EQ(st.ExitCode(), 2) << bad;
    EXPECT_NE(st.message().find("--rollout"), std::string::npos) << st.message();
  }
}

TEST(JudgeRolloutTest, UnsetReplicasSkipsTheUpdatedCheckAsKubectlDoes) {
  json d = DeploymentJson(1, 1, 1, 0, 0, 0);
  d["spec"].erase("replicas");
  EXPECT_EQ(JudgeRollout(d).kind, RolloutVerdict::kComplete);
  EXPECT_EQ(JudgeRollout(json("not an object")).kind, RolloutVerdict::kFailed);
  json odd = DeploymentJson(1, 1, 1, 1, 1, 1);
  odd["status"]["conditions"] = json::array({"junk", 3});
  EXPECT_EQ(JudgeRollout(odd).kind, RolloutVerdict::kComplete);
}

}  // namespace
}  // namespace initkit
