#include "common/log.h"

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/fakes/test_util.h"

namespace initkit {
namespace {

// Captures stderr (fd 2) around a block of log calls.
std::string CaptureStderr(const std::function<void()>& fn) {
  testing::TempDir dir;
  std::string path = dir.Sub("err");
  fflush(stderr);
  int saved = dup(2);
  FILE* f = fopen(path.c_str(), "w");
  dup2(fileno(f), 2);
  fn();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  fclose(f);
  return testing::ReadFile(path);
}

TEST(LogTest, JsonRecordsCarryTheContractFields) {
  log::Init("initkit-test", log::Format::kJson, log::Level::kInfo);
  std::string out = CaptureStderr([] {
    log::Info("hello \"world\"\n", {{"path", "/a b"}, {"files", 3}, {"ok", true}, {"rate", 1.5}});
    log::Debug("hidden");
  });
  auto lines = std::count(out.begin(), out.end(), '\n');
  ASSERT_EQ(lines, 1) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["tool"], "initkit-test");
  EXPECT_EQ(j["msg"], "hello \"world\"\n");
  EXPECT_EQ(j["path"], "/a b");
  EXPECT_EQ(j["files"], 3);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["rate"], 1.5);
  std::string ts = j["ts"];
  EXPECT_EQ(ts.size(), 24u) << ts;
  EXPECT_EQ(ts.back(), 'Z');
}

TEST(LogTest, SecretsAreMaskedInMessagesAndFields) {
  log::Init("initkit-test", log::Format::kText, log::Level::kDebug);
  log::AddSecret("hunter2-long-secret");
  std::string out = CaptureStderr([] {
    log::Error("connect failed with password hunter2-long-secret",
               {{"dsn", "u:hunter2-long-secret@h"}});
  });
  EXPECT_EQ(out.find("hunter2-long-secret"), std::string::npos) << out;
  EXPECT_NE(out.find("[REDACTED]"), std::string::npos);
  log::ClearSecretsForTest();
}

TEST(LogTest, RecordsAreValidJsonWhateverTheBytes) {
  log::Init("initkit-test", log::Format::kJson, log::Level::kInfo);
  std::string out = CaptureStderr([] {
    log::Info("db caf\xe9", {{"db", "caf\xe9"}, {"k\xff", "v"}, {"ctl", "a\x01\x7f"}});
  });
  nlohmann::json j = nlohmann::json::parse(out);  // throws on invalid UTF-8
  EXPECT_EQ(j["msg"], "db caf\xef\xbf\xbd");      // U+FFFD, as DumpJson writes it
  EXPECT_EQ(j["db"], "caf\xef\xbf\xbd");
  EXPECT_EQ(j["k\xef\xbf\xbd"], "v");
  EXPECT_EQ(j["ctl"], "a\x01\x7f");
  log::Init("initkit-test", log::Format::kText, log::Level::kInfo);
  out = CaptureStderr([] { log::Info("caf\xe9", {{"db", "caf\xe9 x"}}); });
  EXPECT_NE(out.find("caf\xef\xbf\xbd db=\"caf\xef\xbf\xbd x\""), std::string::npos) << out;
}

TEST(LogTest, RedactionRewritesValuesNeverKeys) {
  log::Init("initkit-test", log::Format::kJson, log::Level::kInfo);
  log::AddSecret("secret");
  std::string out = CaptureStderr([] { log::Info("the secret", {{"secret", "a secret b"}}); });
  nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["msg"], "the [REDACTED]");
  EXPECT_EQ(j["secret"], "a [REDACTED] b");
  nlohmann::json doc = {{"secret", {{"secret", "secret"}, {"list", {"x secret", 1}}}}};
  nlohmann::json red = log::RedactJson(doc);
  EXPECT_EQ(
      red, (nlohmann::json{{"secret", {{"secret", "[REDACTED]"}, {"list", {"x [REDACTED]", 1}}}}}));
  log::ClearSecretsForTest();
}

TEST(LogTest, ShortSecretsAreMaskedWhereTheyStandAlone) {
  log::AddSecret("x");
  log::AddSecret("ab");
  EXPECT_EQ(log::Redact("x"), "[REDACTED]");
  EXPECT_EQ(log::Redact("password=x, user=ab"), "password=[REDACTED], user=[REDACTED]");
  EXPECT_EQ(log::Redact("'ab'"), "'[REDACTED]'");
  EXPECT_EQ(log::Redact("max about taxi"), "max about taxi");  // inside words: left alone
  log::AddSecret("abcd");                                      // kMinSubstringSecret bytes
  EXPECT_EQ(log::Redact("xxabcdxx"), "xx[REDACTED]xx");
  log::ClearSecretsForTest();
}

}  // namespace
}  // namespace initkit
