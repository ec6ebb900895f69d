#include "common/process.h"

#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/signals.h"
#include "tests/fakes/test_util.h"

namespace initkit {
namespace {

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> w;
  EXPECT_TRUE(SplitWords(s, &w).ok()) << s;
  return w;
}

TEST(SplitWordsTest, ShellLikeQuoting) {
  EXPECT_EQ(Split("php bin/migrator.php migrate"),
            (std::vector<std::string>{"php", "bin/migrator.php", "migrate"}));
  EXPECT_EQ(Split("  a   b\t c\n"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Split("seed:run -s 'Initial Seed'"),
            (std::vector<std::string>{"seed:run", "-s", "Initial Seed"}));
  EXPECT_EQ(Split(R"(a "b \"c\" \$d \x" e)"),
            (std::vector<std::string>{"a", "b \"c\" $d \\x", "e"}));
  EXPECT_EQ(Split(R"(a\ b c\'d)"), (std::vector<std::string>{"a b", "c'd"}));
  EXPECT_EQ(Split("''"), (std::vector<std::string>{""}));
  EXPECT_EQ(Split("a'b'\"c\"d"), (std::vector<std::string>{"abcd"}));
  // No expansion of any kind: these stay literal.
  EXPECT_EQ(Split("echo $HOME `id` *.php ~ a;b |c"),
            (std::vector<std::string>{"echo", "$HOME", "`id`", "*.php", "~", "a;b", "|c"}));
  EXPECT_TRUE(Split("").empty());
}

TEST(SplitWordsTest, UnterminatedQuotesAreUsageErrors) {
  std::vector<std::string> w;
  EXPECT_EQ(SplitWords("a 'b", &w).ExitCode(), 2);
  EXPECT_EQ(SplitWords("a \"b", &w).ExitCode(), 2);
  EXPECT_EQ(SplitWords("a \\", &w).ExitCode(), 2);
}

TEST(ChildTest, ExitStatusesMapToTheContract) {
  EXPECT_TRUE(RunCommand({"true"}).ok());
  Status st = RunCommand({"sh", "-c", "exit 7"});
  EXPECT_EQ(st.ExitCode(), 1);
  EXPECT_NE(st.message().find("status 7"), std::string::npos);
  st = RunCommand({"/nonexistent/cmd"});
  EXPECT_EQ(st.ExitCode(), 127);
  st = RunCommand({"/etc/passwd"});
  EXPECT_EQ(st.ExitCode(), 126);
  st = RunCommand({"sh", "-c", "kill -KILL $$"});
  EXPECT_EQ(st.ExitCode(), 1);
  EXPECT_NE(st.message().find("SIGKILL"), std::string::npos);
}

TEST(ChildTest, WaitWithTimeoutAndKill) {
  Child c;
  ASSERT_TRUE(c.Start({"sleep", "30"}).ok());
  EXPECT_FALSE(c.Wait(std::chrono::milliseconds(50)));
  c.Kill(SIGTERM);
  EXPECT_TRUE(c.Wait(std::chrono::seconds(30)));
  EXPECT_EQ(c.term_signal(), SIGTERM);
}

TEST(ChildTest, StopSignalIsForwardedAndReportedAsInterrupted) {
  signals::ResetForTest();
  Child c;
  ASSERT_TRUE(c.Start({"sleep", "30"}).ok());
  signals::RaiseForTest(SIGTERM);
  c.Wait();
  EXPECT_EQ(c.term_signal(), SIGTERM);
  EXPECT_EQ(c.Result().ExitCode(), 128 + SIGTERM);
  EXPECT_FALSE(signals::SleepFor(std::chrono::seconds(30)));  // returns at once once stopped
  signals::ResetForTest();
  EXPECT_TRUE(signals::SleepFor(std::chrono::milliseconds(1)));
}

// Sets PATH for one test and restores it.
class ScopedPath {
 public:
  explicit ScopedPath(const std::string& path) {
    const char* old = std::getenv("PATH");
    had_ = old != nullptr;
    if (had_) old_ = old;
    ::setenv("PATH", path.c_str(), 1);
  }
  ~ScopedPath() {
    if (had_) {
      ::setenv("PATH", old_.c_str(), 1);
    } else {
      ::unsetenv("PATH");
    }
  }

 private:
  bool had_ = false;
  std::string old_;
};

TEST(ResolveCommandTest, FindsWhatExecWouldRunAndFailsLikeIt) {
  testing::TempDir dir;
  testing::WriteFile(dir.Sub("a/tool"), "#!/bin/sh\n", 0644);  // not executable
  testing::WriteFile(dir.Sub("b/tool"), "#!/bin/sh\n", 0755);
  testing::WriteFile(dir.Sub("a/only-here"), "#!/bin/sh\n", 0644);
  ASSERT_EQ(::mkdir(dir.Sub("b/subdir").c_str(), 0755), 0);
  std::string path;
  {
    ScopedPath p(dir.Sub("a") + ":" + dir.Sub("b"));
    ASSERT_TRUE(ResolveCommand("tool", &path).ok());
    EXPECT_EQ(path, dir.Sub("b/tool"));  // past the match it may not run, as execvp
    Status st = ResolveCommand("only-here", &path);
    EXPECT_EQ(st.ExitCode(), 126) << st.message();
    EXPECT_NE(st.message().find("only-here"), std::string::npos);
    st = ResolveCommand("subdir", &path);
    EXPECT_EQ(st.ExitCode(), 126) << st.message();
    st = ResolveCommand("no-such-tool", &path);
    EXPECT_EQ(st.ExitCode(), 127) << st.message();
    EXPECT_NE(st.message().find("no-such-tool"), std::string::npos);
  }
  ASSERT_TRUE(ResolveCommand("sh", &path).ok());
  EXPECT_EQ(path.substr(path.size() - 3), "/sh");
  EXPECT_EQ(ResolveCommand("/nonexistent/cmd", &path).ExitCode(), 127);
  EXPECT_EQ(ResolveCommand("/etc/passwd", &path).ExitCode(), 126);
  EXPECT_EQ(ResolveCommand(dir.Sub("b"), &path).ExitCode(), 126);
  EXPECT_EQ(ResolveCommand(dir.Sub("b/tool/x"), &path).ExitCode(), 127);  // ENOTDIR
  ASSERT_TRUE(ResolveCommand(dir.Sub("b/tool"), &path).ok());
  EXPECT_EQ(path, dir.Sub("b/tool"));
}

TEST(RunCapturingOutputTest, CapturesBothStreamsInTmpdirAndKillsAtTheTimeout) {
  initkit::testing::TempDir tmp;
  const char* old = std::getenv("TMPDIR");
  std::string saved = old ? old : "";
  ::setenv("TMPDIR", tmp.path().c_str(), 1);
  CapturedRun run;
  Status st = RunCapturingOutput({"/bin/sh", "-c", "echo out; echo err >&2; read x; exit 3"},
                                 std::chrono::seconds(30), &run);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(run.output, "out\nerr\n");  // stdin is /dev/null: read returns at once
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_FALSE(run.timed_out);

  st = RunCapturingOutput({"/bin/sh", "-c", "echo started; exec sleep 60"},
                          std::chrono::milliseconds(200), &run);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(run.timed_out);
  EXPECT_EQ(run.exit_code, -1);
  EXPECT_EQ(run.output, "started\n");

  // TMPDIR is where the output goes: one that cannot be written is an error naming it.
  ::setenv("TMPDIR", tmp.Sub("missing").c_str(), 1);
  st = RunCapturingOutput({"/bin/true"}, std::chrono::seconds(5), &run);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find(tmp.Sub("missing")), std::string::npos) << st.message();
  if (saved.empty()) {
    ::unsetenv("TMPDIR");
  } else {
    ::setenv("TMPDIR", saved.c_str(), 1);
  }
  st = RunCapturingOutput({"/nonexistent/php"}, std::chrono::seconds(5), &run);
  EXPECT_EQ(st.ExitCode(), 127) << st.message();
}

}  // namespace
}  // namespace initkit
