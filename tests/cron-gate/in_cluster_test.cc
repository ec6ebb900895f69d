// initkit-cron-gate --rollout in a pod: no kubeconfig, only what Kubernetes
// gives every pod (KUBERNETES_SERVICE_HOST/PORT and the service-account
// token, CA and namespace), against the strict K8s fake over TLS.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/fakes/deployment_json.h"
#include "tests/fakes/http_server.h"
#include "tests/fakes/k8s_fake.h"
#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

using nlohmann::json;

// A Deployment whose rollout is complete.
json CompleteDeployment() { return DeploymentJson(3, 3, 2, 2, 2, 2); }

class InClusterGateTest : public ::testing::Test {
 protected:
  void Start(K8sFake::Options options = {}) {
    fake_ = std::make_unique<K8sFake>(options);
    fake_->SetObject("/apis/apps/v1/namespaces/shop/deployments/web", CompleteDeployment());
    env_ = fake_->WriteServiceAccount(dir_.Sub("serviceaccount"), "shop");
    env_["KUBECONFIG"] = "";  // whatever the test runner has, a pod has none
  }

  RunOutput Gate(const std::string& rollout = "deployment/web") {
    return RunBinary("initkit-cron-gate",
                     {"--url", health_.base_url() + "/", "--expected-version", "1", "--rollout",
                      rollout, "--interval", "50ms", "--deadline", "30s", "--log-format", "json"},
                     env_);
  }

  TempDir dir_;
  std::unique_ptr<K8sFake> fake_;
  std::map<std::string, std::string> env_;
  HttpServer health_{[](const FakeRequest&) {
    FakeResponse r;
    r.body = R"({"version":"1"})";
    return r;
  }};
};

// The acceptance command of the in-cluster path:
//   KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=<port>
//   initkit-cron-gate --url ... --expected-version 1 --rollout deployment/web
TEST_F(InClusterGateTest, OpensWithTokenAndCaFromTheServiceAccountDirectory) {
  Start();
  env_["KUBERNETES_SERVICE_HOST"] = "127.0.0.1";
  RunOutput r = Gate();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("in-cluster service account " + dir_.Sub("serviceaccount")),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("rollout complete"), std::string::npos) << r.err;
  EXPECT_EQ(fake_->unauthorized(), 0);
  bool asked = false;
  for (const FakeRequest& q : fake_->request_log()) {
    if (q.path == "/apis/apps/v1/namespaces/shop/deployments/web") asked = true;
  }
  EXPECT_TRUE(asked);
  EXPECT_EQ(health_.request_count(), 1);
}

TEST_F(InClusterGateTest, OpensOverIpv6) {
  K8sFake::Options o;
  o.ipv6 = true;
  Start(o);
  ASSERT_EQ(env_["KUBERNETES_SERVICE_HOST"], "::1");
  RunOutput r = Gate("deployments.apps/web");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("https://[::1]:"), std::string::npos) << r.err;
  EXPECT_EQ(health_.request_count(), 1);
}

TEST_F(InClusterGateTest, AForeignCaInTheServiceAccountDirectoryIsRefused) {
  Start();
  WriteFile(dir_.Sub("serviceaccount/ca.crt"), GetTestPki().other_ca_pem);
  RunOutput r = RunBinary("initkit-cron-gate",
                          {"--url", health_.base_url() + "/", "--expected-version", "1",
                           "--rollout", "deployment/web", "--deadline", "1s"},
                          env_);
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find("certificate"), std::string::npos) << r.err;
  EXPECT_EQ(fake_->requests(), 0);
  EXPECT_EQ(health_.request_count(), 0);
}

TEST_F(InClusterGateTest, OutsideAClusterWithoutKubeconfigIsAUsageError) {
  Start();
  env_["KUBERNETES_SERVICE_HOST"] = "";
  RunOutput r = Gate();
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("KUBERNETES_SERVICE_HOST is not set"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace initkit::testing
