#include "common/process.h"

#include <signal.h>

#include <gtest/gtest.h>

#include "common/signals.h"

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

}  // namespace
}  // namespace initkit
