// Security review (issue #9): names that end up in Kubernetes API paths
// (namespaces, Secret and Deployment names from flags or specs) cannot
// address another object: ".." and other non-names are usage errors, and
// the API client refuses to send a path that is not plain segments.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/k8s_client.h"
#include "tests/fakes/k8s_fake.h"
#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

TEST(K8sNames, Dns1123Rules) {
  const std::vector<std::string> good = {"a", "shop", "app-secrets", "a1", std::string(63, 'a')};
  for (const std::string& ok : good) {
    EXPECT_TRUE(IsDns1123Label(ok)) << ok;
    EXPECT_TRUE(IsDns1123Subdomain(ok)) << ok;
  }
  EXPECT_TRUE(IsDns1123Subdomain("app.secrets.v1"));
  for (const char* bad : {"", "..", ".", "-a", "a-", "A", "a_b", "a/b", "a b", "a?b", "a%2e",
                          "a\nb", "../x", ".a", "a..b", "a."}) {
    EXPECT_FALSE(IsDns1123Subdomain(bad)) << bad;
    EXPECT_FALSE(IsDns1123Label(bad)) << bad;
  }
  EXPECT_FALSE(IsDns1123Label("a.b"));
  EXPECT_FALSE(IsDns1123Label(std::string(64, 'a')));
  EXPECT_FALSE(IsDns1123Subdomain(std::string(254, 'a')));
}

// Finding fixed: "deployment/.." passed the character check and made the
// gate GET the namespace instead; --namespace was not checked at all.
TEST(K8sNames, CronGateRefusesPathChangingNames) {
  TempDir dir;
  K8sFake k8s;
  k8s.WriteKubeconfig(dir.Sub("kubeconfig"), "shop");
  const std::vector<std::vector<std::string>> cases = {
      {"--rollout", "deployment/.."},
      {"--rollout", "deployment/."},
      {"--rollout", "deployment/web", "--namespace", "../../api/v1/namespaces/kube-system"},
      {"--rollout", "deployment/web", "--namespace", "shop/secrets/x"},
  };
  for (const auto& extra : cases) {
    std::vector<std::string> args = {
        "--url",        "http://127.0.0.1:1/", "--expected-version", "1",
        "--kubeconfig", dir.Sub("kubeconfig"), "--deadline",         "2s"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunOutput r = RunBinary("initkit-cron-gate", args);
    EXPECT_EQ(r.exit_code, 2) << extra[1] << ": " << r.err;
  }
  EXPECT_EQ(k8s.requests(), 0);
}

// Finding fixed (in the shared API client): a --secret or --namespace with
// "/" or ".." was put into the URL as is, and curl resolves dot segments,
// so "../configmaps/x" read, wrote or deleted another object.
TEST(K8sNames, SecretsNeverSendsAPathChangingName) {
  TempDir dir;
  K8sFake k8s;
  k8s.WriteKubeconfig(dir.Sub("kubeconfig"), "shop");
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {"--secret", "../configmaps/app"},
           {"--secret", "app/../../other"},
           {"--secret", "app", "--namespace", "../../../apis/apps/v1/namespaces/x"},
           {"--secret", "app?dryRun=All"}}) {
    for (const char* command : {"plan", "sync"}) {
      std::vector<std::string> args = {command, "--kubeconfig", dir.Sub("kubeconfig"), "--timeout",
                                       "2s"};
      args.insert(args.end(), extra.begin(), extra.end());
      RunOutput r = RunBinary("initkit-secrets", args);
      EXPECT_EQ(r.exit_code, 2) << command << " " << extra[1] << ": " << r.err;
    }
  }
  EXPECT_EQ(k8s.requests(), 0) << "a request with a path-changing name was sent";
}

// The dir: target keeps the Keycloak Secret in a subdirectory named after
// it: "--keycloak-secret ../../victim" wrote there, and teardown deleted
// files of that directory and the directory itself.
TEST(K8sNames, DirTargetNeverLeavesItsDirectory) {
  TempDir dir;
  std::string victim = dir.Sub("victim");
  WriteFile(victim + "/keep.txt", "not the tool's");
  for (const char* command : {"plan", "sync", "teardown"}) {
    for (const auto& extra :
         std::vector<std::vector<std::string>>{{"--keycloak-secret", "../victim"},
                                               {"--keycloak-secret", "../../victim"},
                                               {"--secret", "../victim"},
                                               {"--secret", "Upper"}}) {
      std::vector<std::string> args = {command, "--target", "dir:" + dir.Sub("out/secrets")};
      args.insert(args.end(), extra.begin(), extra.end());
      RunOutput r = RunBinary("initkit-secrets", args);
      EXPECT_EQ(r.exit_code, 2) << command << " " << extra[1] << ": " << r.err;
      EXPECT_NE(r.err.find(extra[0]), std::string::npos) << "the message names the flag: " << r.err;
    }
  }
  EXPECT_EQ(ReadFile(victim + "/keep.txt"), "not the tool's");
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(victim)) left.push_back(e.path());
  EXPECT_EQ(left.size(), 1u) << "nothing was written next to keep.txt";
}

}  // namespace
}  // namespace initkit::testing
