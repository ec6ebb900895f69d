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

}  // namespace
}  // namespace initkit
