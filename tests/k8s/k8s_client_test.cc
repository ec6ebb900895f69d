#include "common/k8s_client.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "common/random.h"
#include "tests/fakes/k8s_fake.h"
#include "tests/fakes/test_util.h"

namespace initkit {
namespace {

using nlohmann::json;
using testing::K8sFake;
using testing::TempDir;

class K8sClientTest : public ::testing::Test {
 protected:
  K8sClientTest() {
    conn_.server = fake_.base_url();
    conn_.ca_pem = testing::GetTestPki().ca_pem;
    conn_.token = fake_.token();
    options_.backoff = {Millis(5), Millis(20), 2.0, 0.0, 0};
  }
  K8sFake fake_;
  K8sConnection conn_;
  K8sOptions options_;
  Deadline deadline_ = Deadline::After(std::chrono::seconds(60));
};

TEST_F(K8sClientTest, CreateGetUpdateDelete) {
  K8sClient c(conn_, options_);
  json s = {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata", {{"name", "app"}}},
            {"data", {{"A", Base64Encode("1")}}}};
  json out;
  bool conflict = true, found = false;
  ASSERT_TRUE(c.CreateSecret("ns", s, deadline_, &out, &conflict).ok());
  EXPECT_FALSE(conflict);
  std::string rv = out["metadata"]["resourceVersion"];
  ASSERT_TRUE(c.CreateSecret("ns", s, deadline_, &out, &conflict).ok());
  EXPECT_TRUE(conflict);  // AlreadyExists
  ASSERT_TRUE(c.GetSecret("ns", "app", deadline_, &out, &found).ok());
  ASSERT_TRUE(found);
  out["data"]["B"] = Base64Encode("2");
  json updated;
  ASSERT_TRUE(c.UpdateSecret("ns", "app", out, deadline_, &updated, &conflict).ok());
  EXPECT_FALSE(conflict);
  EXPECT_NE(updated["metadata"]["resourceVersion"], rv);
  // The old resourceVersion is stale now.
  ASSERT_TRUE(c.UpdateSecret("ns", "app", out, deadline_, &updated, &conflict).ok());
  EXPECT_TRUE(conflict);
  bool existed = false;
  ASSERT_TRUE(c.DeleteSecret("ns", "app", deadline_, &existed).ok());
  EXPECT_TRUE(existed);
  ASSERT_TRUE(c.DeleteSecret("ns", "app", deadline_, &existed).ok());
  EXPECT_FALSE(existed);
  ASSERT_TRUE(c.GetSecret("ns", "app", deadline_, &out, &found).ok());
  EXPECT_FALSE(found);
}

TEST_F(K8sClientTest, ModifySecretReappliesOnConflicts) {
  fake_.PutSecret("ns", "app", {{"A", "1"}});
  fake_.ConflictNextWrites(5);
  K8sClient c(conn_, options_);
  int calls = 0, conflicts = 0;
  json result;
  Status st = c.ModifySecret(
      "ns", "app", deadline_,
      [&](const json* cur, json* want, bool* write) {
        ++calls;
        *want = *cur;
        (*want)["data"]["B"] = Base64Encode("2");
        *write = true;
        return Status::Ok();
      },
      &result, &conflicts);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(conflicts, 5);
  EXPECT_EQ(calls, 6);
  EXPECT_EQ(fake_.SecretData("ns", "app").at("B"), "2");
  // The other writer's change survived because we re-read before re-applying.
  json s;
  ASSERT_TRUE(fake_.GetSecret("ns", "app", &s));
  EXPECT_TRUE(s["metadata"]["labels"].contains("fake/other-writer"));
}

TEST_F(K8sClientTest, ModifySecretGivesUpAfterTheBound) {
  fake_.PutSecret("ns", "app", {{"A", "1"}});
  fake_.ConflictNextWrites(100);
  options_.conflict_attempts = 3;
  K8sClient c(conn_, options_);
  int conflicts = 0;
  json result;
  Status st = c.ModifySecret(
      "ns", "app", deadline_,
      [&](const json* cur, json* want, bool* write) {
        *want = *cur;
        *write = true;
        return Status::Ok();
      },
      &result, &conflicts);
  EXPECT_EQ(st.kind(), Status::Kind::kFailed);
  EXPECT_EQ(conflicts, 3);
}

TEST_F(K8sClientTest, RetriesServerErrorsUntilSuccess) {
  fake_.PutSecret("ns", "app", {{"A", "1"}});
  fake_.FailNext(3, 503);
  K8sClient c(conn_, options_);
  json out;
  bool found = false;
  ASSERT_TRUE(c.GetSecret("ns", "app", deadline_, &out, &found).ok());
  EXPECT_TRUE(found);
  EXPECT_EQ(fake_.requests(), 4);
}

TEST_F(K8sClientTest, ServerErrorsPastTheDeadlineAreNotReady) {
  fake_.FailNext(1000000, 500);
  K8sClient c(conn_, options_);
  json out;
  bool found = false;
  Status st = c.GetSecret("ns", "app", Deadline::After(Millis(300)), &out, &found);
  EXPECT_EQ(st.kind(), Status::Kind::kNotReady);
  EXPECT_NE(st.message().find("/api/v1/namespaces/ns/secrets/app"), std::string::npos);
}

TEST_F(K8sClientTest, ReportsReasonAndMessageOfRefusals) {
  fake_.Forbid("get", "app");
  K8sClient c(conn_, options_);
  json out;
  bool found = false;
  Status st = c.GetSecret("ns", "app", deadline_, &out, &found);
  EXPECT_EQ(st.kind(), Status::Kind::kFailed);
  EXPECT_NE(st.message().find("HTTP 403 Forbidden"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("cannot get resource"), std::string::npos);

  json bad = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "Bad_Name"}}}};
  bool conflict = false;
  st = c.CreateSecret("ns", bad, deadline_, &out, &conflict);
  EXPECT_NE(st.message().find("HTTP 422 Invalid"), std::string::npos) << st.message();

  K8sConnection wrong = conn_;
  wrong.token = "nope";
  K8sClient w(wrong, options_);
  st = w.GetSecret("ns", "other", deadline_, &out, &found);
  EXPECT_NE(st.message().find("HTTP 401 Unauthorized"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("nope"), std::string::npos);
}

TEST_F(K8sClientTest, ReReadsARotatedTokenFile) {
  TempDir t;
  testing::WriteFile(t.Sub("token"), fake_.token() + "\n");
  K8sConnection conn = conn_;
  conn.token.clear();
  conn.token_file = t.Sub("token");
  K8sClient c(conn, options_);
  json out;
  bool found = true;
  ASSERT_TRUE(c.GetSecret("ns", "x", deadline_, &out, &found).ok());
  EXPECT_FALSE(found);
  // The kubelet rotates the projected token; the API server stops taking the old one.
  fake_.SetToken("rotated-token-2");
  testing::WriteFile(t.Sub("token"), "rotated-token-2");
  ASSERT_TRUE(c.GetSecret("ns", "x", deadline_, &out, &found).ok());
  EXPECT_FALSE(found);
  EXPECT_EQ(fake_.unauthorized(), 0);  // noticed the file change before sending
}

TEST_F(K8sClientTest, A401ReReadsTheTokenFileEvenIfItLooksUnchanged) {
  TempDir t;
  std::string path = t.Sub("token");
  fake_.SetToken("token-generation-1");
  testing::WriteFile(path, "token-generation-1");
  struct stat before;
  ASSERT_EQ(stat(path.c_str(), &before), 0);
  K8sConnection conn = conn_;
  conn.token.clear();
  conn.token_file = path;
  K8sClient c(conn, options_);
  json out;
  bool found = true;
  ASSERT_TRUE(c.GetSecret("ns", "x", deadline_, &out, &found).ok());
  // Same size, same inode, same mtime: only the 401 can tell it changed.
  fake_.SetToken("token-generation-2");
  testing::WriteFile(path, "token-generation-2");
  struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  ASSERT_TRUE(c.GetSecret("ns", "x", deadline_, &out, &found).ok());
  EXPECT_FALSE(found);
  EXPECT_EQ(fake_.unauthorized(), 1);
}

TEST_F(K8sClientTest, RefusesAServerSignedByAnotherCa) {
  K8sConnection conn = conn_;
  conn.ca_pem = testing::GetTestPki().other_ca_pem;
  K8sClient c(conn, options_);
  json out;
  bool found = false;
  Status st = c.GetSecret("ns", "x", Deadline::After(Millis(300)), &out, &found);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(fake_.requests(), 0);
}

TEST_F(K8sClientTest, SlowAnswersAreRetriedUntilTheDeadline) {
  fake_.SetLatency(Millis(2000));
  options_.request_timeout = Millis(100);
  K8sClient c(conn_, options_);
  json out;
  bool found = false;
  Status st = c.GetSecret("ns", "app", Deadline::After(Millis(500)), &out, &found);
  EXPECT_EQ(st.kind(), Status::Kind::kNotReady) << st.message();
  EXPECT_NE(st.message().find("/api/v1/namespaces/ns/secrets/app"), std::string::npos);
}

TEST_F(K8sClientTest, ASecretDeletedBeforeTheUpdateIsCreatedAgain) {
  fake_.PutSecret("ns", "app", {{"A", "1"}});
  K8sClient c(conn_, options_);
  int calls = 0, conflicts = 0;
  json result;
  Status st = c.ModifySecret(
      "ns", "app", deadline_,
      [&](const json* cur, json* want, bool* write) {
        if (++calls == 1) {
          EXPECT_NE(cur, nullptr);
          fake_.DeleteSecret("ns", "app");  // gone between our read and our write
        }
        *want = cur ? *cur : json::object();
        (*want)["data"]["B"] = Base64Encode("2");
        *write = true;
        return Status::Ok();
      },
      &result, &conflicts);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(conflicts, 1);
  EXPECT_EQ(fake_.SecretData("ns", "app").at("B"), "2");
}

TEST_F(K8sClientTest, GetObjectReadsOtherKinds) {
  fake_.SetObject("/apis/apps/v1/namespaces/ns/deployments/web",
                  {{"kind", "Deployment"}, {"status", {{"readyReplicas", 2}}}});
  K8sClient c(conn_, options_);
  json out;
  bool found = false;
  ASSERT_TRUE(
      c.GetObject("/apis/apps/v1/namespaces/ns/deployments/web", deadline_, &out, &found).ok());
  EXPECT_TRUE(found);
  EXPECT_EQ(out["status"]["readyReplicas"], 2);
}

TEST_F(K8sClientTest, RetryAfterOn429IsHonoured) {
  fake_.PutSecret("ns", "app", {{"A", "1"}});
  // API priority and fairness: 429 with "Retry-After: 1". The backoff here is
  // 5-20 ms, so without honouring it the client would ask ~50 times a second.
  fake_.FailNext(2, 429, 1);
  K8sClient c(conn_, options_);
  json out;
  bool found = false;
  ASSERT_TRUE(c.GetSecret("ns", "app", deadline_, &out, &found).ok());
  EXPECT_TRUE(found);
  EXPECT_EQ(fake_.requests(), 3);
  // A Retry-After longer than the time left: one request, then NotReady at
  // the deadline without asking again.
  fake_.FailNext(1000, 429, 30);
  Status st = c.GetSecret("ns", "app", Deadline::After(Millis(400)), &out, &found);
  EXPECT_EQ(st.kind(), Status::Kind::kNotReady);
  EXPECT_NE(st.message().find("HTTP 429 TooManyRequests"), std::string::npos) << st.message();
  EXPECT_EQ(fake_.requests(), 4);
}

TEST_F(K8sClientTest, EveryUpdateCarriesTheResourceVersionRead) {
  // The real server accepts a PUT of a Secret without resourceVersion as an
  // unconditional update (the fake does too); only the client keeps a
  // concurrent writer's change from being overwritten.
  fake_.PutSecret("ns", "app", {{"A", "1"}});
  fake_.ConflictNextWrites(2);
  K8sClient c(conn_, options_);
  int conflicts = 0;
  json result;
  Status st = c.ModifySecret(
      "ns", "app", deadline_,
      [&](const json* cur, json* want, bool* write) {
        *want = *cur;
        (*want)["metadata"].erase("resourceVersion");  // a careless mutator
        (*want)["data"]["B"] = Base64Encode("2");
        *write = true;
        return Status::Ok();
      },
      &result, &conflicts);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(conflicts, 2);
  int puts = 0;
  for (const testing::FakeRequest& q : fake_.request_log()) {
    if (q.method != "PUT") continue;
    ++puts;
    json body = json::parse(q.body);
    EXPECT_FALSE(body["metadata"].value("resourceVersion", "").empty()) << q.body;
  }
  EXPECT_EQ(puts, 3);
  EXPECT_EQ(fake_.unconditional_updates(), 0);
  // UpdateSecret itself refuses to send one without it.
  json bare = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "app"}}}};
  bool conflict = false;
  st = c.UpdateSecret("ns", "app", bare, deadline_, &result, &conflict);
  EXPECT_EQ(st.kind(), Status::Kind::kFailed);
  EXPECT_NE(st.message().find("resourceVersion"), std::string::npos) << st.message();
  EXPECT_EQ(puts, 3);
}

TEST(K8sFakeTest, PutOfASecretWithoutResourceVersionIsAnUnconditionalUpdate) {
  // As pkg/registry/core/secret/strategy.go (AllowUnconditionalUpdate) makes
  // the real server behave; the fake must not hide a client that drops it.
  K8sFake fake;
  fake.PutSecret("ns", "app", {{"A", "1"}});
  K8sConnection conn;
  conn.server = fake.base_url();
  conn.ca_pem = testing::GetTestPki().ca_pem;
  conn.token = fake.token();
  K8sClient c(conn);
  json body = {{"apiVersion", "v1"},
               {"kind", "Secret"},
               {"metadata", {{"name", "app"}}},
               {"data", {{"A", Base64Encode("2")}}}};
  K8sResponse r;
  ASSERT_TRUE(c.Call("PUT", K8sClient::SecretPath("ns", "app"), &body,
                     Deadline::After(std::chrono::seconds(30)), &r)
                  .ok());
  EXPECT_EQ(r.code, 200);
  EXPECT_EQ(fake.unconditional_updates(), 1);
  EXPECT_EQ(fake.SecretData("ns", "app").at("A"), "2");
  // No create on update (AllowCreateOnUpdate false): a missing one is 404.
  body["metadata"]["name"] = "absent";
  ASSERT_TRUE(c.Call("PUT", K8sClient::SecretPath("ns", "absent"), &body,
                     Deadline::After(std::chrono::seconds(30)), &r)
                  .ok());
  EXPECT_EQ(r.code, 404);
}

TEST(K8sFakeTest, ClientCertificateAuthenticatesWithoutAToken) {
  K8sFake::Options o;
  o.client_cert_users = {"initkit test client"};
  K8sFake fake(o);
  fake.PutSecret("ns", "app", {{"A", "1"}});
  testing::TempDir t;
  const testing::TestPki& pki = testing::GetTestPki();
  testing::WriteFile(t.Sub("client.crt"), pki.client_cert_pem);
  testing::WriteFile(t.Sub("client.key"), pki.client_key_pem, 0600);
  testing::WriteFile(t.Sub("ca.crt"), pki.ca_pem);
  K8sConnection conn;
  testing::WriteFile(t.Sub("config"),
                     "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
                     "clusters:\n- name: c\n  cluster:\n    server: " +
                         fake.base_url() +
                         "\n    certificate-authority: ca.crt\n"
                         "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n"
                         "users:\n- name: u\n  user:\n    client-certificate: client.crt\n"
                         "    client-key: client.key\n");
  ASSERT_TRUE(LoadKubeconfig(t.Sub("config"), "", &conn).ok());
  K8sClient c(conn);
  json out;
  bool found = false;
  Status st = c.GetSecret("ns", "app", Deadline::After(std::chrono::seconds(30)), &out, &found);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(found);
  EXPECT_EQ(fake.authenticated_as(), std::vector<std::string>{"cert:initkit test client"});
  // Without the certificate (and no token) the same server says 401.
  conn.client_cert_file.clear();
  conn.client_key_file.clear();
  K8sClient anonymous(conn);
  st = anonymous.GetSecret("ns", "app", Deadline::After(std::chrono::seconds(30)), &out, &found);
  EXPECT_NE(st.message().find("HTTP 401"), std::string::npos) << st.message();
}

TEST(K8sFakeTest, TlsServerNameVerifiesACertificateWithoutTheAddress) {
  // A cluster's API certificate names kubernetes.default.svc, not 127.0.0.1.
  K8sFake::Options o;
  o.named_certificate = true;
  K8sFake fake(o);
  K8sConnection conn;
  conn.server = "https://127.0.0.1:" + fake.base_url().substr(fake.base_url().rfind(':') + 1);
  conn.ca_pem = testing::GetTestPki().ca_pem;
  conn.token = fake.token();
  json out;
  bool found = true;
  {
    K8sClient c(conn);
    Status st = c.GetSecret("ns", "app", Deadline::After(Millis(500)), &out, &found);
    EXPECT_EQ(st.kind(), Status::Kind::kNotReady);
    EXPECT_NE(st.message().find("certificate"), std::string::npos) << st.message();
    EXPECT_EQ(fake.requests(), 0);
  }
  conn.tls_server_name = "kubernetes.default.svc";
  K8sClient c(conn);
  Status st = c.GetSecret("ns", "app", Deadline::After(std::chrono::seconds(30)), &out, &found);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(found);
  ASSERT_EQ(fake.request_log().size(), 1u);
  // The Host header still names the address dialled, as client-go sends it.
  EXPECT_EQ(fake.request_log()[0].headers.at("host"), conn.server.substr(8));
}

}  // namespace
}  // namespace initkit
