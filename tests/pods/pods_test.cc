// Runs every example in k8s-examples/ and the compose stack end to end with
// the pod runner (tests/pods/podrunner.py, described in tests/pods/README.md)
// and fails when any of their checks fails. Needs root (namespaces, chroot,
// setpriv); skips otherwise.
#include <gtest/gtest.h>

#include <cstdlib>
#include <future>
#include <map>
#include <string>

#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

const char* const kScenarios[] = {"argocd", "image-volume", "helm", "compose"};

RunOutput RunScenario(const std::string& scenario) {
  std::string bin = INITKIT_BIN_DIR;
  // The runner and its fake cluster register every credential they make
  // (service-account tokens, generated Secret values) for the leak scan.
  std::map<std::string, std::string> env;
  if (const char* reg = std::getenv("TEST_INITKIT_CREDENTIALS"))
    env["TEST_INITKIT_CREDENTIALS"] = reg;
  return RunBinary("/usr/bin/python3",
                   {std::string(INITKIT_SOURCE_DIR) + "/tests/pods/podrunner.py", scenario,
                    "--bin-dir", bin, "--fake", bin + "/pods_cluster_fake"},
                   env, std::chrono::seconds(600));
}

// Each scenario has its own network namespace and services, so all four run
// at once (started by the first test); each test waits for its own.
std::shared_future<RunOutput>& Scenario(const std::string& name) {
  static std::map<std::string, std::shared_future<RunOutput>>* runs = [] {
    auto* m = new std::map<std::string, std::shared_future<RunOutput>>;
    for (const char* s : kScenarios) {
      (*m)[s] = std::async(std::launch::async, RunScenario, std::string(s)).share();
    }
    return m;
  }();
  return runs->at(name);
}

void Check(const std::string& scenario) {
  const RunOutput& r = Scenario(scenario).get();
  if (r.exit_code == 77) GTEST_SKIP() << r.out;
  // Every check prints "ok: ..."; the last line says PASS or what failed.
  std::cout << r.out.substr(r.out.size() > 6000 ? r.out.size() - 6000 : 0);
  EXPECT_EQ(r.exit_code, 0) << r.err.substr(r.err.size() > 6000 ? r.err.size() - 6000 : 0);
  EXPECT_NE(r.out.find("PASS " + scenario), std::string::npos);
}

// PreSync secrets -> PreSync migrate -> Deployment -> CronJob gate -> a
// second sync -> PostDelete teardown.
TEST(Pods, ArgoCdSyncDeploymentCronJobAndTeardown) { Check("argocd"); }
TEST(Pods, DeploymentWithImageVolumes) { Check("image-volume"); }
TEST(Pods, HelmMigrateHook) { Check("helm"); }
TEST(Pods, ComposeStack) { Check("compose"); }

}  // namespace
}  // namespace initkit::testing
