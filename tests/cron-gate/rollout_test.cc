// initkit-cron-gate --rollout: judged like `kubectl rollout status`, against a
// scripted Deployment endpoint over HTTPS with a bearer token.

#include <atomic>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/fakes/deployment_json.h"
#include "tests/fakes/http_server.h"
#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

// A Deployment API that follows a script over time, plus a health endpoint.
class RolloutGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const TestPki& pki = GetTestPki();
    api_ = std::make_unique<HttpServer>(
        [this](const FakeRequest& req) {
          FakeResponse r;
          r.headers = {{"Content-Type", "application/json"}};
          auto auth = req.headers.find("authorization");
          if (auth == req.headers.end() || auth->second != "Bearer rollout-token") {
            r.status = 401;
            r.body =
                json{{"kind", "Status"},         {"apiVersion", "v1"},        {"status", "Failure"},
                     {"reason", "Unauthorized"}, {"message", "Unauthorized"}, {"code", 401}}
                    .dump();
            return r;
          }
          if (req.method != "GET" || req.path != "/apis/apps/v1/namespaces/shop/deployments/web") {
            r.status = 404;
            r.body = json{
                {"kind", "Status"},
                {"apiVersion", "v1"},
                {"status", "Failure"},
                {"reason", "NotFound"},
                {"message", "deployments.apps \"x\" not found"},
                {"code",
                 404}}.dump();
            return r;
          }
          r.body = script_(std::chrono::steady_clock::now() - start_).dump();
          return r;
        },
        HttpServer::Tls{pki.server_cert_pem, pki.server_key_pem, ""});
    health_ = std::make_unique<HttpServer>([](const FakeRequest&) {
      FakeResponse r;
      r.body = R"({"version":"2.0"})";
      return r;
    });
    json kubeconfig = {
        {"apiVersion", "v1"},
        {"kind", "Config"},
        {"current-context", "test"},
        {"clusters",
         {{{"name", "c"},
           {"cluster",
            {{"server", api_->base_url()}, {"certificate-authority", dir_.Sub("ca.pem")}}}}}},
        {"users", {{{"name", "u"}, {"user", {{"token", "rollout-token"}}}}}},
        {"contexts",
         {{{"name", "test"},
           {"context", {{"cluster", "c"}, {"user", "u"}, {"namespace", "shop"}}}}}}};
    WriteFile(dir_.Sub("ca.pem"), pki.ca_pem);
    WriteFile(dir_.Sub("kubeconfig"), kubeconfig.dump(2));
    start_ = std::chrono::steady_clock::now();
  }

  RunOutput Gate(const std::string& deadline, const std::string& deployment = "deployment/web") {
    return RunBinary("initkit-cron-gate",
                     {"--url", health_->base_url() + "/", "--expected-version", "2.0", "--rollout",
                      deployment, "--kubeconfig", dir_.Sub("kubeconfig"), "--interval", "100ms",
                      "--deadline", deadline, "--log-format", "json"});
  }

  TempDir dir_;
  std::function<json(std::chrono::steady_clock::duration)> script_;
  std::chrono::steady_clock::time_point start_;
  std::unique_ptr<HttpServer> api_, health_;
};

TEST_F(RolloutGateTest, RolloutCompletingAfterTwoSecondsOpens) {
  script_ = [](std::chrono::steady_clock::duration t) {
    if (t < seconds(1)) return DeploymentJson(5, 4, 3, 3, 0, 3);
    if (t < seconds(2)) return DeploymentJson(5, 5, 3, 5, 2, 4);
    return DeploymentJson(5, 5, 3, 3, 3, 3);
  };
  RunOutput r = Gate("60s");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(api_->request_count(), 2);
  EXPECT_EQ(health_->request_count(), 1);  // the version check ran after the rollout
  EXPECT_NE(r.err.find("rollout complete"), std::string::npos);
}

TEST_F(RolloutGateTest, StalledRolloutExits1WithTheConditionMessage) {
  script_ = [](std::chrono::steady_clock::duration) {
    return DeploymentJson(5, 5, 3, 4, 1, 3, "ReplicaSet \"web-5d\" has timed out progressing.");
  };
  RunOutput r = Gate("60s");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("has timed out progressing"), std::string::npos) << r.err;
  EXPECT_EQ(health_->request_count(), 0);
}

TEST_F(RolloutGateTest, IncompleteRolloutAtTheDeadlineIs124) {
  script_ = [](std::chrono::steady_clock::duration) { return DeploymentJson(5, 5, 3, 4, 2, 2); };
  RunOutput r = Gate("1s");
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find("2 out of 3 new replicas"), std::string::npos) << r.err;
  EXPECT_EQ(health_->request_count(), 0);
}

TEST_F(RolloutGateTest, MissingDeploymentIsAFailure) {
  script_ = [](std::chrono::steady_clock::duration) { return DeploymentJson(1, 1, 1, 1, 1, 1); };
  RunOutput r = Gate("10s", "deployment/other");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace initkit::testing
