// initkit-cron-gate end to end: the real binary against a scripted endpoint.
#include <signal.h>

#include <atomic>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/fakes/http_server.h"
#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

FakeResponse Json(const std::string& version, int status = 200) {
  FakeResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = nlohmann::json{{"status", "ok"}, {"version", version}}.dump();
  return r;
}

std::vector<std::string> Args(const HttpServer& server, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--url",        server.base_url() + "/_healthz/ready",
                                   "--interval",   "20ms",
                                   "--timeout",    "2s",
                                   "--log-format", "json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

RunOutput Gate(const std::vector<std::string>& args) {
  return RunBinary("initkit-cron-gate", args);
}

std::vector<nlohmann::json> Records(const std::string& err) {
  std::vector<nlohmann::json> out;
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

TEST(CronGateTest, OpensOnExactMatchWithZeroPadding) {
  HttpServer server([](const FakeRequest&) { return Json("4.99.5.0"); });
  RunOutput r = Gate(Args(server, {"--expected-version", "04.99.005.000"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(server.request_count(), 1);
  auto recs = Records(r.err);
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs.back()["expected"], "04.99.005.000");
  EXPECT_EQ(recs.back()["running"], "4.99.5.0");
}

TEST(CronGateTest, MismatchRetriesThenExits3WithBothVersionsInEveryLine) {
  HttpServer server([](const FakeRequest&) { return Json("4.99.4"); });
  RunOutput r = Gate(Args(server, {"--expected-version", "4.99.5", "--retries", "2"}));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(server.request_count(), 3);  // the first attempt + 2 retries
  int closed = 0;
  for (const auto& rec : Records(r.err)) {
    if (rec["level"] == "warn") {
      ++closed;
      EXPECT_EQ(rec["expected"], "4.99.5") << rec.dump();
      EXPECT_EQ(rec["running"], "4.99.4") << rec.dump();
    } else {
      std::string msg = rec["msg"];
      EXPECT_NE(msg.find("expected 4.99.5, running 4.99.4"), std::string::npos) << msg;
    }
  }
  EXPECT_EQ(closed, 3);
  EXPECT_NE(r.err.find("4.99.4"), std::string::npos);
}

TEST(CronGateTest, AtLeastOpensForNewerButNotOlder) {
  HttpServer newer([](const FakeRequest&) { return Json("5.0.0"); });
  EXPECT_EQ(Gate(Args(newer, {"--expected-version", "4.99.5", "--compare", "at-least"})).exit_code,
            0);
  EXPECT_EQ(Gate(Args(newer, {"--expected-version", "4.99.5", "--retries", "0"})).exit_code, 3);
  HttpServer older([](const FakeRequest&) { return Json("4.99.4.9"); });
  EXPECT_EQ(
      Gate(Args(older, {"--expected-version", "4.99.5", "--compare", "at-least", "--retries", "0"}))
          .exit_code,
      3);
}

TEST(CronGateTest, Non2xxNeverOpensEvenWithMatchingBody) {
  HttpServer server([](const FakeRequest&) { return Json("1.0", 503); });
  RunOutput r = Gate(Args(server, {"--expected-version", "1.0", "--retries", "3"}));
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_EQ(server.request_count(), 4);
  EXPECT_NE(r.err.find("503"), std::string::npos);
}

TEST(CronGateTest, RecoversWhenEndpointBecomesHealthy) {
  std::atomic<int> n{0};
  HttpServer server([&](const FakeRequest&) {
    int i = ++n;
    if (i == 1) {
      FakeResponse drop;
      drop.drop = true;
      return drop;
    }
    if (i == 2) return Json("1.0", 500);
    if (i == 3) {
      FakeResponse bad;
      bad.body = "{not json";
      return bad;
    }
    return Json("1.0");
  });
  RunOutput r = Gate(Args(server, {"--expected-version", "1.0", "--retries", "5"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(server.request_count(), 4);
  EXPECT_NE(r.err.find("not JSON"), std::string::npos);
}

TEST(CronGateTest, MalformedOrWrongShapeBodiesEndIn124) {
  for (std::string body :
       {std::string("{not json"), std::string(R"({"other":"1.0"})"),
        std::string(R"({"version":{"x":1}})"), std::string(R"({"version":"abc"})")}) {
    HttpServer server([&](const FakeRequest&) {
      FakeResponse r;
      r.body = body;
      return r;
    });
    RunOutput r = Gate(Args(server, {"--expected-version", "1.0", "--retries", "1"}));
    EXPECT_EQ(r.exit_code, 124) << body << "\n" << r.err;
    EXPECT_EQ(server.request_count(), 2) << body;
  }
}

TEST(CronGateTest, JsonPointerSelectsNestedVersion) {
  HttpServer server([](const FakeRequest&) {
    FakeResponse r;
    r.body = R"({"app":{"build":{"version":"2.1"}},"version":"9"})";
    return r;
  });
  EXPECT_EQ(
      Gate(Args(server, {"--expected-version", "2.1", "--json-pointer", "/app/build/version"}))
          .exit_code,
      0);
}

TEST(CronGateTest, BodyOverOneMebibyteIsRefused) {
  HttpServer server([](const FakeRequest&) {
    FakeResponse r;
    r.body = R"({"version":"1.0","pad":")" + std::string(1024 * 1024, 'x') + "\"}";
    return r;
  });
  RunOutput r = Gate(Args(server, {"--expected-version", "1.0", "--retries", "0"}));
  EXPECT_EQ(r.exit_code, 124) << r.err.substr(0, 2000);
  EXPECT_NE(r.err.find("exceeds"), std::string::npos) << r.err.substr(0, 2000);
}

TEST(CronGateTest, StallingEndpointCannotOverrunTheDeadline) {
  HttpServer server([](const FakeRequest&) {
    FakeResponse r = Json("1.0");
    r.stall_after_headers = true;
    return r;
  });
  // Without the deadline this would retry 1000 times, 500 ms each.
  RunOutput r = Gate(Args(server, {"--expected-version", "1.0", "--retries", "1000", "--timeout",
                                   "500ms", "--deadline", "1s"}));
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_LT(r.elapsed, seconds(10)) << "deadline ignored";
  EXPECT_GE(server.request_count(), 1);
  EXPECT_LE(server.request_count(), 40);
}

TEST(CronGateTest, UnreachableEndpointEndsIn124AtTheDeadline) {
  int port = FreePort();
  RunOutput r =
      Gate({"--url", "http://127.0.0.1:" + std::to_string(port) + "/", "--expected-version", "1.0",
            "--retries", "100000", "--interval", "50ms", "--deadline", "700ms"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
  EXPECT_LT(r.elapsed, seconds(10));
}

TEST(CronGateTest, HttpsWithCustomCaAndHeaders) {
  const TestPki& pki = GetTestPki();
  HttpServer server(
      [](const FakeRequest& req) {
        auto it = req.headers.find("x-gate-token");
        if (it == req.headers.end() || it->second != "abc") return Json("0", 401);
        return Json("3.2.1");
      },
      HttpServer::Tls{pki.server_cert_pem, pki.server_key_pem, ""});
  TempDir dir;
  WriteFile(dir.Sub("ca.pem"), pki.ca_pem);
  WriteFile(dir.Sub("other.pem"), pki.other_ca_pem);
  RunOutput ok = Gate(Args(server, {"--expected-version", "3.2.1", "--ca-file", dir.Sub("ca.pem"),
                                    "--header", "X-Gate-Token: abc"}));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  RunOutput no_header = Gate(Args(
      server, {"--expected-version", "3.2.1", "--ca-file", dir.Sub("ca.pem"), "--retries", "0"}));
  EXPECT_EQ(no_header.exit_code, 124) << no_header.err;
  int before = server.request_count();
  RunOutput wrong_ca =
      Gate(Args(server, {"--expected-version", "3.2.1", "--ca-file", dir.Sub("other.pem"),
                         "--header", "X-Gate-Token: abc", "--retries", "0"}));
  EXPECT_EQ(wrong_ca.exit_code, 124) << wrong_ca.err;
  EXPECT_EQ(server.request_count(), before) << "a request passed an unverified TLS handshake";
}

TEST(CronGateTest, VersionFileForms) {
  HttpServer server([](const FakeRequest&) { return Json("04.99.005.000"); });
  TempDir dir;
  WriteFile(dir.Sub("version.php"),
            "<?php\n// define('APP_VERSION', '1.0');\ndefine('APP_VERSION', '04.99.005.000');\n");
  WriteFile(dir.Sub("array.php"), "<?php\nreturn ['version' => '4.99.5'];\n");
  WriteFile(dir.Sub("config.php"), "<?php\n$config['version'] = '4.99.5.0';\n");
  WriteFile(dir.Sub("plain"), "4.99.5\n");
  for (const char* f : {"version.php", "array.php", "config.php", "plain"}) {
    RunOutput r = Gate(Args(server, {"--version-file", dir.Sub(f)}));
    EXPECT_EQ(r.exit_code, 0) << f << "\n" << r.err;
  }
}

TEST(CronGateTest, BadInputIsUsageError) {
  HttpServer server([](const FakeRequest&) { return Json("1.0"); });
  TempDir dir;
  WriteFile(dir.Sub("junk.php"), "<?php echo 1;");
  struct Case {
    std::vector<std::string> args;
    std::string mentions;
  };
  std::vector<Case> cases = {
      {{"--expected-version", "1.0"}, "--url"},
      {{"--url", server.base_url()}, "--expected-version"},
      {{"--url", server.base_url(), "--expected-version", "1.0", "--version-file",
        dir.Sub("junk.php")},
       "not both"},
      {{"--url", server.base_url(), "--version-file", dir.Sub("missing.php")}, "missing.php"},
      {{"--url", server.base_url(), "--version-file", dir.Sub("junk.php")}, "junk.php"},
      {{"--url", "ftp://x/", "--expected-version", "1.0"}, "--url"},
      {{"--url", server.base_url(), "--expected-version", "one"}, "one"},
      {{"--url", server.base_url(), "--expected-version", "1.0", "--interval", "soon"},
       "--interval"},
      {{"--url", server.base_url(), "--expected-version", "1.0", "--compare", "fuzzy"},
       "--compare"},
      {{"--url", server.base_url(), "--expected-version", "1.0", "--header", "NoColon"},
       "--header"},
      {{"--url", server.base_url(), "--expected-version", "1.0", "--ca-file", dir.Sub("none.pem")},
       "none.pem"},
      {{"--url", server.base_url(), "--expected-version", "1.0", "--frobnicate"}, "--frobnicate"},
  };
  for (const auto& c : cases) {
    RunOutput r = Gate(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.mentions << "\n" << r.err;
    EXPECT_NE(r.err.find(c.mentions), std::string::npos) << r.err;
  }
  EXPECT_EQ(server.request_count(), 0);
}

TEST(CronGateTest, EnvironmentConfiguresAndFlagsWin) {
  HttpServer server([](const FakeRequest&) { return Json("2.0"); });
  RunOutput r =
      RunBinary("initkit-cron-gate", {},
                {{"INITKIT_URL", server.base_url() + "/"}, {"INITKIT_EXPECTED_VERSION", "2.0"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunBinary("initkit-cron-gate", {"--expected-version", "3.0", "--retries", "0"},
                {{"INITKIT_URL", server.base_url() + "/"}, {"INITKIT_EXPECTED_VERSION", "2.0"}});
  EXPECT_EQ(r.exit_code, 3) << r.err;
}

TEST(CronGateTest, CommandIsExecutedInPlace) {
  HttpServer server([](const FakeRequest&) { return Json("1.0"); });
  std::vector<std::string> args =
      Args(server, {"--expected-version", "1.0", "--", "sh", "-c", "echo pid=$$; exit 42"});
  RunningBinary bin("initkit-cron-gate", args);
  pid_t pid = bin.pid();
  RunOutput r = bin.Wait();
  EXPECT_EQ(r.exit_code, 42) << r.err;  // CMD's exit code is ours
  EXPECT_EQ(r.out, "pid=" + std::to_string(pid) + "\n");
}

TEST(CronGateTest, CommandNotFoundOrNotExecutable) {
  HttpServer server([](const FakeRequest&) { return Json("1.0"); });
  EXPECT_EQ(Gate(Args(server, {"--expected-version", "1.0", "--", "/nonexistent/cron"})).exit_code,
            127);
  TempDir dir;
  WriteFile(dir.Sub("not-executable"), "#!/bin/sh\n", 0644);
  EXPECT_EQ(
      Gate(Args(server, {"--expected-version", "1.0", "--", dir.Sub("not-executable")})).exit_code,
      126);
  // A closed gate never runs CMD.
  RunOutput r = Gate(
      Args(server, {"--expected-version", "2.0", "--retries", "0", "--", "touch", dir.Sub("ran")}));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(::access(dir.Sub("ran").c_str(), F_OK), 0);
}

TEST(CronGateTest, SigtermStopsWaitingAtOnce) {
  HttpServer server([](const FakeRequest&) { return Json("0.9"); });
  RunningBinary bin("initkit-cron-gate",
                    {"--url", server.base_url() + "/", "--expected-version", "1.0", "--interval",
                     "1h", "--deadline", "2h", "--log-format", "json"});
  ASSERT_TRUE(bin.WaitForStderr("gate closed", seconds(30)));
  bin.Signal(SIGTERM);
  RunOutput r = bin.Wait(seconds(30));
  EXPECT_EQ(r.exit_code, 143) << r.err;
}

TEST(CronGateTest, ConsecutiveMatchesRequiredAndMismatchResets) {
  std::atomic<int> n{0};
  HttpServer alternating([&](const FakeRequest&) { return Json(++n % 2 ? "2.0" : "1.0"); });
  RunOutput r = Gate(
      Args(alternating, {"--expected-version", "2.0", "--consecutive", "3", "--retries", "6"}));
  EXPECT_NE(r.exit_code, 0) << r.err;
  HttpServer steady([](const FakeRequest&) { return Json("2.0"); });
  r = Gate(Args(steady, {"--expected-version", "2.0", "--consecutive", "3"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(steady.request_count(), 3);
}

TEST(CronGateTest, EachRequestOpensANewConnectionUnlessReuseIsAsked) {
  HttpServer fresh([](const FakeRequest&) { return Json("2.0"); });
  EXPECT_EQ(Gate(Args(fresh, {"--expected-version", "2.0", "--consecutive", "3"})).exit_code, 0);
  EXPECT_EQ(fresh.request_count(), 3);
  EXPECT_EQ(fresh.connection_count(), 3);  // a Service would spread them over its pods
  HttpServer reused([](const FakeRequest&) { return Json("2.0"); });
  EXPECT_EQ(
      Gate(Args(reused, {"--expected-version", "2.0", "--consecutive", "3", "--reuse-connection"}))
          .exit_code,
      0);
  EXPECT_EQ(reused.request_count(), 3);
  EXPECT_EQ(reused.connection_count(), 1);
}

TEST(CronGateTest, OnMismatchSkipExitsZeroWithoutRunningTheCommand) {
  HttpServer server([](const FakeRequest&) { return Json("1.0"); });
  TempDir dir;
  RunOutput r = Gate(Args(server, {"--expected-version", "2.0", "--retries", "1", "--on-mismatch",
                                   "skip", "--", "touch", dir.Sub("ran")}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(::access(dir.Sub("ran").c_str(), F_OK), 0);  // skipped, not run
  EXPECT_EQ(server.request_count(), 2);                  // the retries were used first
  auto recs = Records(r.err);
  ASSERT_FALSE(recs.empty());
  const nlohmann::json& last = recs.back();
  EXPECT_EQ(last["level"], "warn") << r.err;
  EXPECT_NE(last["msg"].get<std::string>().find("run skipped"), std::string::npos) << r.err;
  EXPECT_NE(last["msg"].get<std::string>().find("expected 2.0, running 1.0"), std::string::npos)
      << r.err;
  // The default stays a failure (exit 3), and skip never hides other failures.
  EXPECT_EQ(Gate(Args(server, {"--expected-version", "2.0", "--retries", "0"})).exit_code, 3);
  HttpServer broken([](const FakeRequest&) { return Json("1.0", 500); });
  EXPECT_EQ(Gate(Args(broken, {"--expected-version", "2.0", "--retries", "0", "--on-mismatch",
                               "skip", "--", "touch", dir.Sub("ran")}))
                .exit_code,
            124);
  EXPECT_NE(::access(dir.Sub("ran").c_str(), F_OK), 0);
  // With a match the command runs as before.
  HttpServer ok([](const FakeRequest&) { return Json("2.0"); });
  EXPECT_EQ(Gate(Args(ok, {"--expected-version", "2.0", "--on-mismatch", "skip", "--", "touch",
                           dir.Sub("ran")}))
                .exit_code,
            0);
  EXPECT_EQ(::access(dir.Sub("ran").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace initkit::testing
