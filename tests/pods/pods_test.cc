// Runs every example in k8s-examples/ and the compose stack end to end with
// the pod runner (tests/pods/podrunner.py, described in tests/pods/README.md)
// and fails when any of their checks fails. Needs root (namespaces, chroot,
// setpriv); skips otherwise.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

void RunScenario(const std::string& scenario) {
  std::string bin = INITKIT_BIN_DIR;
  // The runner and its fake cluster register every credential they make
  // (service-account tokens, generated Secret values) for the leak scan.
  std::map<std::string, std::string> env;
  if (const char* reg = std::getenv("INITKIT_TEST_CREDENTIALS"))
    env["INITKIT_TEST_CREDENTIALS"] = reg;
  RunOutput r = RunBinary("/usr/bin/python3",
                          {std::string(INITKIT_SOURCE_DIR) + "/tests/pods/podrunner.py", scenario,
                           "--bin-dir", bin, "--fake", bin + "/pods_cluster_fake"},
                          env, std::chrono::seconds(600));
  if (r.exit_code == 77) GTEST_SKIP() << r.out;
  // Every check prints "ok: ..."; the last line says PASS or what failed.
  std::cout << r.out.substr(r.out.size() > 6000 ? r.out.size() - 6000 : 0);
  EXPECT_EQ(r.exit_code, 0) << r.err.substr(r.err.size() > 6000 ? r.err.size() - 6000 : 0);
  EXPECT_NE(r.out.find("PASS " + scenario), std::string::npos);
}

// PreSync secrets -> PreSync migrate -> Deployment -> CronJob gate -> PostDelete.
TEST(Pods, ArgoCdSyncDeploymentCronJobAndTeardown) { RunScenario("argocd"); }
TEST(Pods, DeploymentWithImageVolumes) { RunScenario("image-volume"); }
TEST(Pods, HelmMigrateHook) { RunScenario("helm"); }
TEST(Pods, ComposeStack) { RunScenario("compose"); }

}  // namespace
}  // namespace initkit::testing
