// Kubernetes API faults, end to end through the initkit-secrets binary:
// 5xx bursts, 409 storms, rotated tokens, 401/403, latency past the
// deadline, malformed error bodies.
#include <atomic>
#include <set>

#include "tests/secrets-faults/harness.h"

namespace initkit::secrets::faults {
namespace {

TEST(K8sFaultsTest, FiveServiceUnavailableThenSuccessWritesOnce) {
  Harness h;
  h.k8s().FailNext(5, 503);
  RunOutput r = h.Sync();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(CompleteBuiltinValues(h.Data()));
  EXPECT_EQ(h.k8s().SecretAnnotations(kNs, kApp)[kAnnotation], "true");
  EXPECT_EQ(h.k8s().writes(), 1);  // retried reads never turned into two writes
}

TEST(K8sFaultsTest, TooManyRequestsIsRetried) {
  Harness h;
  ASSERT_EQ(h.Sync().exit_code, 0);
  Map once = h.Once();
  h.k8s().FailNext(4, 429);
  RunOutput r = h.Sync();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(h.Once() == once) << "stored values differ";
}

TEST(K8sFaultsTest, ServerErrorsOnEveryWriteUntilTheDeadlineAre124AndChangeNothing) {
  Harness h;
  ASSERT_EQ(h.Sync().exit_code, 0);
  Map before = h.Data();
  h.k8s().faults().SetIntercept([](const FakeRequest& req) -> std::optional<FakeResponse> {
    if (req.method != "PUT") return std::nullopt;
    return StatusAnswer(500, "InternalError", "etcdserver: request timed out");
  });
  RunOutput r = h.Sync({"--timeout", "2s"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find(std::string("PUT ") + kAppPath), std::string::npos) << r.err;
  EXPECT_EQ(Summary(r)["exit_code"], 124);
  EXPECT_TRUE(h.Data() == before) << "stored values differ";
}

// Another writer changes the Secret between each of our GETs and PUTs: it
// fills a once-key we were about to generate and adds keys of its own. We
// must re-read and re-apply, keeping everything it wrote.
TEST(K8sFaultsTest, ConflictStormKeepsTheOtherWritersKeysAndOnceKeys) {
  Harness h;
  h.k8s().PutSecret(kNs, kApp, {{"APP_ENCRYPTION_KEY", "0123456789abcdef0123456789abcdef"}});
  const std::string theirs = "fedcba9876543210fedcba9876543210";
  std::atomic<int> puts{0};
  h.k8s().faults().SetIntercept([&](const FakeRequest& req) -> std::optional<FakeResponse> {
    if (req.method != "PUT") return std::nullopt;
    int n = puts++;
    if (n >= 6) return std::nullopt;
    h.k8s().ModifySecret(kNs, kApp, [&](json& s) {
      s["data"]["OTHER_WRITER_" + std::to_string(n)] = Base64Encode("v" + std::to_string(n));
      if (n == 0) s["data"]["APP_ADMIN_PWD"] = Base64Encode(theirs);
    });
    return std::nullopt;
  });
  RunOutput r = h.Sync();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Summary(r)["conflicts"], 6);
  EXPECT_EQ(h.k8s().conflicts(), 6);
  Map d = h.Data();
  EXPECT_TRUE(d["APP_ENCRYPTION_KEY"] == "0123456789abcdef0123456789abcdef")
      << "stored values differ";
  EXPECT_TRUE(d["APP_ADMIN_PWD"] == theirs) << "the other writer's once-key was overwritten";
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(d["OTHER_WRITER_" + std::to_string(i)], "v" + std::to_string(i));
  EXPECT_TRUE(CompleteBuiltinValues(d));
  // Every retry re-applied the same intent: one generated value, never a second one.
  std::set<std::string> advisable;
  for (const FakeRequest& req : h.k8s().request_log()) {
    if (req.method == "PUT")
      advisable.insert(DataOf(json::parse(req.body))["APP_ADMIN_ADVISABLE_PWD"]);
  }
  EXPECT_EQ(advisable.size(), 1u);
  EXPECT_EQ(advisable.count(d["APP_ADMIN_ADVISABLE_PWD"]), 1u);
}

TEST(K8sFaultsTest, ConflictStormBeyondTheBoundIsExit1AndLeavesTheOtherWriterAlone) {
  Harness h;
  ASSERT_EQ(h.Sync().exit_code, 0);
  Map before = h.Data();
  std::atomic<int> puts{0};
  h.k8s().faults().SetIntercept([&](const FakeRequest& req) -> std::optional<FakeResponse> {
    if (req.method == "PUT") {
      int n = puts++;
      h.k8s().ModifySecret(
          kNs, kApp, [n](json& s) { s["data"]["OTHER_" + std::to_string(n)] = Base64Encode("x"); });
    }
    return std::nullopt;
  });
  RunOutput r = h.Sync({"--conflict-attempts", "4"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("still conflicting after 4 write attempts"), std::string::npos) << r.err;
  EXPECT_EQ(puts.load(), 4);
  Map after = h.Data();
  for (int i = 0; i < 4; ++i) after.erase("OTHER_" + std::to_string(i));
  EXPECT_TRUE(after == before) << "none of our writes landed; all of theirs did";
}

// The kubelet rotates the projected token between our GET and PUT: the PUT
// with the old token gets 401, the tool re-reads the file and continues.
TEST(K8sFaultsTest, TokenRotatedMidRunGets401ThenContinues) {
  Harness h;
  std::string sa = h.dir().Sub("sa");
  Map env = h.k8s().WriteServiceAccount(sa, kNs);
  const std::string fresh = "rotated-projected-token-5d0e9b3c71";
  std::atomic<bool> rotated{false};
  h.k8s().faults().SetIntercept([&](const FakeRequest& req) -> std::optional<FakeResponse> {
    if ((req.method == "PUT" || req.method == "POST") && !rotated.exchange(true)) {
      h.k8s().SetToken(fresh);
      testing::WriteFile(sa + "/..token.new", fresh, 0600);  // atomic swap, like the kubelet
      EXPECT_EQ(rename((sa + "/..token.new").c_str(), (sa + "/token").c_str()), 0);
    }
    return std::nullopt;  // the fake now rejects the old token: 401
  });
  RunOutput r = h.Run({"sync", "--secret", kApp}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(h.k8s().unauthorized(), 1);
  EXPECT_TRUE(CompleteBuiltinValues(h.Data()));
  std::vector<FakeRequest> log = h.k8s().request_log();
  ASSERT_FALSE(log.empty());
  EXPECT_TRUE(log.back().headers["authorization"] == "Bearer " + fresh);
}

TEST(K8sFaultsTest, RejectedTokenThatWasNotRotatedIsExit1) {
  Harness h;
  Map env = h.k8s().WriteServiceAccount(h.dir().Sub("sa"), kNs);
  h.k8s().SetToken("a-token-nobody-gave-us-3e81f0");
  RunOutput r = h.Run({"sync", "--secret", kApp}, env);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("HTTP 401"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("credentials were rejected"), std::string::npos) << r.err;
  EXPECT_EQ(h.k8s().writes(), 0);
}

TEST(K8sFaultsTest, ForbiddenUpdateIsExit1NamingTheVerbAndChangesNothing) {
  Harness h;
  ASSERT_EQ(h.Sync().exit_code, 0);
  Map before = h.Data();
  h.k8s().Forbid("update", kApp);
  RunOutput r = h.Sync();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(std::string("PUT ") + kAppPath + ": HTTP 403 Forbidden"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("cannot update resource"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("lacks this permission"), std::string::npos) << r.err;
  EXPECT_TRUE(h.Data() == before) << "stored values differ";
}

TEST(K8sFaultsTest, ForbiddenCreateIsExit1AndCreatesNothing) {
  Harness h;
  h.k8s().Forbid("create", "");  // POST goes to the collection: no name
  RunOutput r = h.Sync();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(std::string("POST ") + kSecretsPath + ": HTTP 403"), std::string::npos)
      << r.err;
  json obj;
  EXPECT_FALSE(h.k8s().GetSecret(kNs, kApp, &obj));
}

TEST(K8sFaultsTest, LatencyBeyondTheDeadlineIs124AndWritesNothing) {
  Harness h;
  h.k8s().SetLatency(std::chrono::minutes(5));  // cut short when the fake stops
  RunOutput r = h.Sync({"--timeout", "2s"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find(kAppPath), std::string::npos) << r.err;
  EXPECT_EQ(h.k8s().writes(), 0);
}

// The PUT is held in flight until the tool has given up (124). A Secret
// write is one PUT: the object is the old one until the held request is
// let through, then the whole new one; never a mix. A re-run converges.
TEST(K8sFaultsTest, WriteStuckPastTheDeadlineIs124AndTheSecretIsNeverHalfWritten) {
  Harness h;
  ASSERT_EQ(h.Sync().exit_code, 0);
  Map before = h.Data();
  h.k8s().faults().Hold(Request("PUT", kAppPath));
  RunOutput r = h.Sync({"--timeout", "2s"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_TRUE(h.Data() == before) << "stored values differ";
  int held = h.k8s().faults().held();
  ASSERT_GE(held, 1);
  h.k8s().faults().ReleaseHeld(FaultHooks::Release::kAnswer);
  ASSERT_TRUE(h.k8s().faults().WaitReleasedDone(held, kWait));
  Map late = h.Data();  // the late PUT landed whole (or lost to a 409)
  EXPECT_TRUE(CompleteBuiltinValues(late));
  EXPECT_TRUE(OnceOf(late) == OnceOf(before)) << "stored values differ";
  ASSERT_EQ(h.Sync().exit_code, 0);
  EXPECT_TRUE(h.Once() == OnceOf(before)) << "stored values differ";
}

struct BadAnswer {
  const char* name;
  const char* method;  // which call gets it
  int status;
  const char* content_type;
  const char* body;
  int exit_code;
  const char* expect;  // in the error
};

const BadAnswer kBadAnswers[] = {
    {"HtmlForbidden", "GET", 403, "text/html", "<html><body>403 Forbidden</body></html>", 1,
     "GET /api/v1/namespaces/shop/secrets/app: HTTP 403"},
    {"StatusWithWrongTypes", "PUT", 422, "application/json",
     R"({"kind":"Status","reason":5,"message":["not","a","string"],"code":"x"})", 1,
     "PUT /api/v1/namespaces/shop/secrets/app: HTTP 422"},
    {"TruncatedStatus", "PUT", 400, "application/json", R"({"kind":"Status","message":"bad)", 1,
     "PUT /api/v1/namespaces/shop/secrets/app: HTTP 400"},
    {"EmptyUnauthorized", "GET", 401, "", "", 1, "HTTP 401"},
    {"SecretThatIsNotJson", "GET", 200, "application/json", "{\"kind\":\"Secret\",\"data\":{", 1,
     "not a JSON object"},
    {"SecretThatIsAnArray", "GET", 200, "application/json", "[1,2,3]", 1, "not a JSON object"},
    {"SecretWithBadBase64", "GET", 200, "application/json",
     R"({"kind":"Secret","apiVersion":"v1","metadata":{"name":"app","resourceVersion":"7"},"data":{"APP_ADMIN_PWD":"%%%"}})",
     1, "data key APP_ADMIN_PWD is not valid base64"},
    {"PlainTextServerError", "GET", 502, "text/plain", "Bad Gateway", 124, "HTTP 502"},
};

class BadAnswerTest : public ::testing::TestWithParam<BadAnswer> {};

TEST_P(BadAnswerTest, IsAClearErrorAndWritesNothing) {
  const BadAnswer& b = GetParam();
  Harness h;
  ASSERT_EQ(h.Sync().exit_code, 0);
  Map before = h.Data();
  h.k8s().faults().SetIntercept([&](const FakeRequest& req) -> std::optional<FakeResponse> {
    if (req.method != b.method) return std::nullopt;
    FakeResponse r;
    r.status = b.status;
    if (*b.content_type) r.headers = {{"Content-Type", b.content_type}};
    r.body = b.body;
    return r;
  });
  RunOutput r = h.Sync({"--timeout", "2s"});
  EXPECT_EQ(r.exit_code, b.exit_code) << r.err;
  EXPECT_NE(r.err.find(b.expect), std::string::npos) << r.err;
  json s = Summary(r);
  EXPECT_EQ(s["exit_code"], b.exit_code);
  EXPECT_NE(s.value("error", "").find(b.expect), std::string::npos) << r.out;
  EXPECT_TRUE(h.Data() == before) << "stored values differ";
}

INSTANTIATE_TEST_SUITE_P(All, BadAnswerTest, ::testing::ValuesIn(kBadAnswers),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace initkit::secrets::faults
