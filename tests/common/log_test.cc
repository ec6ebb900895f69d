#include "common/log.h"

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/retry.h"
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

TEST(FileUtilTest, AtomicWriteSetsModeAndLeavesNoTemp) {
  testing::TempDir dir;
  std::string path = dir.Sub("f");
  ASSERT_TRUE(WriteFileAtomic(path, "one", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(path, "two", 0600).ok());
  EXPECT_EQ(testing::ReadFile(path), "two");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) (void)e, ++entries;
  EXPECT_EQ(entries, 1);
  Status bad = WriteFileAtomic(dir.Sub("missing/f"), "x", 0600);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("missing/f"), std::string::npos);
}

TEST(RetryTest, TransientErrorsRetryUntilDeadlinePermanentOnesStop) {
  int calls = 0;
  Status st = Retry("thing", {.initial = Millis(1), .max = Millis(5)},
                    Deadline::After(Millis(2000)), [&](int n) {
                      ++calls;
                      return n < 3 ? Status::NotReady("later") : Status::Ok();
                    });
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(calls, 3);
  calls = 0;
  st = Retry("thing", {.initial = Millis(1)}, Deadline::After(Millis(2000)), [&](int) {
    ++calls;
    return Status::Failed("denied");
  });
  EXPECT_EQ(st.ExitCode(), 1);
  EXPECT_EQ(calls, 1);
  st = Retry("thing", {.initial = Millis(1), .max_attempts = 4}, Deadline::Never(),
             [&](int) { return Status::NotReady("down"); });
  EXPECT_EQ(st.ExitCode(), 124);
  EXPECT_NE(st.message().find("down"), std::string::npos);
  st = Retry("thing", {.initial = Millis(5)}, Deadline::After(Millis(30)),
             [&](int) { return Status::NotReady("down"); });
  EXPECT_EQ(st.ExitCode(), 124);
}

}  // namespace
}  // namespace initkit
