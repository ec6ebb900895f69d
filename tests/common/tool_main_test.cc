#include "common/tool_main.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/exit_status.h"
#include "common/log.h"
#include "tests/fakes/test_util.h"

namespace initkit {
namespace {

ToolSpec Spec() {
  ToolSpec spec;
  spec.name = "initkit-test";
  spec.summary = "test tool";
  spec.accepts_command = true;
  spec.flags = {
      {.name = "db-password", .help = "password", .credential = true},
      {.name = "marker", .help = "file the run creates", .value_name = "PATH"},
  };
  return spec;
}

struct Outcome {
  int exit_code = -1;
  std::string err;
};

// Runs ToolMain in a child process (it installs signal handling and may
// exec), with stderr captured and the termination message left in `dir`.
Outcome RunToolMain(const testing::TempDir& dir, std::vector<std::string> args,
                    const ToolRun& run) {
  args.insert(args.begin(), "initkit-test");
  std::string err_path = dir.Sub("stderr");
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int code = ToolMain(Spec(), static_cast<int>(args.size()), argv.data(), run);
    ::_exit(code);
  }
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  Outcome o;
  o.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  o.err = testing::ReadFile(err_path);
  return o;
}

// The credential leak scan reads what tools printed; termination files too.
std::string ReadForLeakScan(const std::string& path) {
  std::string text = testing::ReadFile(path);
  if (const char* log = std::getenv("TEST_INITKIT_OUTPUT_LOG"); log && *log) {
    std::ofstream(log, std::ios::app | std::ios::binary) << text;
  }
  return text;
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

TEST(ToolMainTest, FailureWritesOneTerminationLineAndOneErrorRecord) {
  testing::TempDir dir;
  Outcome o = RunToolMain(
      dir, {"--termination-log", dir.Sub("term"), "--log-format", "json"}, [](const Config&) {
        return Status::NotReady(
            "database 10.0.0.5:3306 not ready after 5m (last: connection refused)");
      });
  EXPECT_EQ(o.exit_code, 124);
  EXPECT_EQ(ReadForLeakScan(dir.Sub("term")),
            "initkit-test: database 10.0.0.5:3306 not ready after 5m (last: connection refused) "
            "(exit 124: not ready before the deadline)\n");
  nlohmann::json rec = nlohmann::json::parse(o.err);  // exactly one record
  EXPECT_EQ(rec["level"], "error");
  EXPECT_EQ(rec["exit_code"], 124);
  EXPECT_EQ(rec["exit_meaning"], "not ready before the deadline");
}

TEST(ToolMainTest, TheTerminationLineNeverHoldsACredential) {
  testing::TempDir dir;
  const std::string password = "tm-credential-7Qx9vB2k";
  testing::RegisterCredential(password, "tool_main_test password");
  Outcome o = RunToolMain(dir, {"--db-password", password, "--termination-log", dir.Sub("term")},
                          [](const Config& c) {
                            return Status::Failed("login refused for password " +
                                                  c.Get("db-password") + "\nsecond line");
                          });
  EXPECT_EQ(o.exit_code, 1);
  std::string line = ReadForLeakScan(dir.Sub("term"));
  EXPECT_EQ(line,
            "initkit-test: login refused for password [REDACTED] second line (exit 1: failed)\n");
  EXPECT_EQ(o.err.find(password), std::string::npos);
}

TEST(ToolMainTest, UsageErrorsAndUnrunnableCommandsFailBeforeTheWork) {
  testing::TempDir dir;
  bool ran = false;
  auto run = [&](const Config& c) {
    ran = true;  // in the child: only the marker file tells the parent
    testing::WriteFile(c.Get("marker"), "ran");
    return Status::Ok();
  };
  Outcome o = RunToolMain(
      dir, {"--marker", dir.Sub("ran"), "--markr", "x", "--termination-log", dir.Sub("term")}, run);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(ReadForLeakScan(dir.Sub("term")),
            "initkit-test: unknown flag --markr; did you mean --marker? (exit 2: usage or "
            "configuration error)\n");
  o = RunToolMain(dir,
                  {"--marker", dir.Sub("ran"), "--termination-log", dir.Sub("term"), "--",
                   dir.Sub("no-such-command")},
                  run);
  EXPECT_EQ(o.exit_code, 127);
  EXPECT_FALSE(Exists(dir.Sub("ran")));
  EXPECT_NE(ReadForLeakScan(dir.Sub("term")).find("(exit 127: command not found)"),
            std::string::npos);
  EXPECT_FALSE(ran);
}

TEST(ToolMainTest, SuccessExecsTheCommandAndWritesNoTerminationMessage) {
  testing::TempDir dir;
  Outcome o = RunToolMain(dir,
                          {"--marker", dir.Sub("ran"), "--termination-log", dir.Sub("term"), "--",
                           "sh", "-c", "echo exec >&2"},
                          [](const Config& c) {
                            testing::WriteFile(c.Get("marker"), "ran");
                            return Status::Ok();
                          });
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(Exists(dir.Sub("ran")));
  EXPECT_EQ(o.err, "exec\n");
  EXPECT_FALSE(Exists(dir.Sub("term")));
  // "" turns the message off.
  o = RunToolMain(dir, {"--termination-log", ""},
                  [](const Config&) { return Status::Failed("boom"); });
  EXPECT_EQ(o.exit_code, 1);
}

TEST(TerminationMessageTest, OneBoundedLineOfValidUtf8) {
  Status st = Status::Refused(std::string(3000, 'x') + "\xe9");
  std::string m = TerminationMessage("initkit-test", st);
  EXPECT_LE(m.size(), kTerminationMessageMax);
  EXPECT_EQ(m.find('\n'), std::string::npos);
  EXPECT_NE(m.find("... (exit 3: refused)"), std::string::npos) << m;
  m = TerminationMessage("t", Status::Failed("caf\xe9"));
  EXPECT_EQ(m, "t: caf\xef\xbf\xbd (exit 1: failed)");
  m = TerminationMessage("t", Status::NotReady("db: not ready before the deadline: refused"));
  EXPECT_EQ(m, "t: db: not ready before the deadline: refused (exit 124)");
  m = TerminationMessage("t", Status::Interrupted(15));
  EXPECT_EQ(m, "t: stopped by signal SIGTERM (exit 143: stopped by signal 15)");
}

TEST(TerminationMessageTest, WhereItGoes) {
  testing::TempDir dir;
  // The default path is used only when it exists and is writable.
  EXPECT_TRUE(WriteTerminationMessage(dir.Sub("absent"), true, "m").ok());
  EXPECT_FALSE(Exists(dir.Sub("absent")));
  testing::WriteFile(dir.Sub("present"), "old old old\n");
  ASSERT_TRUE(WriteTerminationMessage(dir.Sub("present"), true, "m").ok());
  EXPECT_EQ(testing::ReadFile(dir.Sub("present")), "m\n");
  // An explicit path is created; an impossible one is an error naming it.
  ASSERT_TRUE(WriteTerminationMessage(dir.Sub("new"), false, "m").ok());
  EXPECT_EQ(testing::ReadFile(dir.Sub("new")), "m\n");
  Status st = WriteTerminationMessage(dir.Sub("missing/dir/f"), false, "m");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("missing/dir/f"), std::string::npos);
  EXPECT_TRUE(WriteTerminationMessage("", false, "m").ok());

  bool must_exist = false;
  EXPECT_EQ(TerminationLogPath({"t", "--termination-log", "/a"}, {}, &must_exist), "/a");
  EXPECT_FALSE(must_exist);
  EXPECT_EQ(TerminationLogPath({"t", "--termination-log=/b"}, {{"INITKIT_TERMINATION_LOG", "/e"}},
                               &must_exist),
            "/b");
  EXPECT_EQ(TerminationLogPath({"t"}, {{"INITKIT_TERMINATION_LOG", "/e"}}, &must_exist), "/e");
  EXPECT_EQ(TerminationLogPath({"t", "--", "--termination-log", "/c"}, {}, &must_exist),
            "/dev/termination-log");
  EXPECT_TRUE(must_exist);
}

}  // namespace
}  // namespace initkit
