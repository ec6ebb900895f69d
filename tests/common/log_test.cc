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

}  // namespace
}  // namespace initkit
