// No shell is ever invoked. Statically, no shell-running call exists in
// common/ or tools/; at run time, every program each tool and its children
// exec is recorded (ptrace follows every fork and exec) and none is a shell;
// and shell metacharacters in the commands of cron-gate and migrate reach the
// program as literal argv words and nothing they would do in a shell happens.
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/fakes/http_server.h"
#include "tests/fakes/mariadb_server.h"
#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

namespace fs = std::filesystem;

// Source text with // and /* */ comments and string contents kept apart:
// returns code only (string literals stay, so "/bin/sh" is still seen).
std::string WithoutComments(const std::string& src) {
  std::string out;
  for (size_t i = 0; i < src.size(); ++i) {
    if (src.compare(i, 2, "//") == 0) {
      while (i < src.size() && src[i] != '\n') ++i;
    } else if (src.compare(i, 2, "/*") == 0) {
      size_t end = src.find("*/", i + 2);
      i = end == std::string::npos ? src.size() : end + 1;
      continue;
    } else if (src[i] == '"') {
      size_t j = i + 1;
      while (j < src.size() && src[j] != '"' && src[j] != '\n') j += src[j] == '\\' ? 2 : 1;
      out.append(src, i, j + 1 - i);
      i = j;
      continue;
    }
    if (i < src.size()) out += src[i];
  }
  return out;
}

TEST(NoShell, SourcesNeverRunAShell) {
  const std::regex forbidden(
      R"((\bsystem|\bpopen|\bexecl|\bexeclp|\bexecle|\bwordexp)\s*\(|"/bin/(ba|da)?sh"|"sh"|"-c")");
  int files = 0;
  for (const char* top : {"common", "tools"}) {
    for (const auto& e :
         fs::recursive_directory_iterator(std::string(INITKIT_SOURCE_DIR) + "/" + top)) {
      std::string ext = e.path().extension();
      if (!e.is_regular_file() || (ext != ".cc" && ext != ".h")) continue;
      ++files;
      std::ifstream in(e.path());
      std::stringstream ss;
      ss << in.rdbuf();
      std::string code = WithoutComments(ss.str());
      std::smatch m;
      EXPECT_FALSE(std::regex_search(code, m, forbidden))
          << e.path() << ": " << m.str() << " (commands must run through execvp, never a shell)";
    }
  }
  EXPECT_GT(files, 20) << "the source tree was not found";
}

// What a traced run did: its exit code and the program (resolved
// /proc/PID/exe) of every exec by the tool or any process it started.
struct TracedRun {
  int exit_code = -1;
  std::vector<std::string> execs;
  std::string err;
};

// Runs a built tool under ptrace, following fork, vfork and clone, and
// records every exec. A shell started any way at all (system(), popen(),
// execvp("sh"), a #! script, a child's child) shows up here, whatever its
// path. LeakSanitizer needs ptrace itself, so it is off in the traced tool.
TracedRun RunTraced(const std::string& tool, const std::vector<std::string>& args,
                    const TempDir& dir) {
  std::string path = BinPath(tool);
  std::vector<std::string> argv_s = {path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::string err_path = dir.Sub("traced.err");
  pid_t child = ::fork();
  if (child == 0) {
    int out = ::open("/dev/null", O_WRONLY);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    ::raise(SIGSTOP);
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
  TracedRun run;
  int status = 0;
  ::waitpid(child, &status, 0);  // the SIGSTOP before exec
  long opts = PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
              PTRACE_O_EXITKILL;
  EXPECT_EQ(::ptrace(PTRACE_SETOPTIONS, child, nullptr, opts), 0) << strerror(errno);
  ::ptrace(PTRACE_CONT, child, nullptr, nullptr);
  int live = 1;  // traced processes and threads not yet gone
  while (live > 0) {
    pid_t pid = ::waitpid(-1, &status, __WALL);
    if (pid < 0) break;
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      --live;
      if (pid == child) {
        run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      continue;
    }
    if (!WIFSTOPPED(status)) continue;
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    int deliver = 0;
    if (event == PTRACE_EVENT_EXEC) {
      std::error_code ec;
      run.execs.push_back(fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).string());
    } else if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
               event == PTRACE_EVENT_CLONE) {
      ++live;  // the new task starts traced, with a SIGSTOP we swallow below
    } else if (sig != SIGSTOP && sig != SIGTRAP) {
      deliver = sig;  // a real signal for the tracee
    }
    ::ptrace(PTRACE_CONT, pid, nullptr, deliver);
  }
  run.err = ReadFile(err_path);
  return run;
}

bool IsShell(const std::string& exe) {
  std::string base = fs::path(exe).filename();
  for (const char* sh : {"sh", "bash", "dash", "zsh", "ksh", "mksh", "busybox", "ash"}) {
    if (base == sh) return true;
  }
  return false;
}

// Each tool on a path where it starts commands (or would, if it used a
// shell): every program exec'd is the tool or the command itself.
TEST(NoShell, NoToolExecsAShellAtRunTime) {
  TempDir dir;
  WriteFile(dir.Sub("src/app/index.php"), "<?php\n");
  HttpServer server([](const FakeRequest&) {
    FakeResponse r;
    r.body = R"({"version":"1.0"})";
    return r;
  });
  std::string err;
  MariaDbServer* db = MariaDbServer::Shared(&err);
  ASSERT_NE(db, nullptr) << err;
  ASSERT_TRUE(db->CreateDatabase("t_no_shell_traced", &err)) << err;
  ASSERT_TRUE(
      db->Exec("CREATE TABLE t_no_shell_traced.registry (name VARCHAR(191) PRIMARY KEY, "
               "value TEXT)",
               &err))
      << err;
  std::vector<std::string> migrate = db->MigrateFlags("t_no_shell_traced");
  migrate.insert(migrate.end(),
                 {"--migrate-cmd", "printf migrated", "--seed-cmd", "printf seeded"});
  WriteFile(dir.Sub("app/composer.json"), "{}\n");
  WriteFile(dir.Sub("app/vendor/composer/autoload_classmap.php"),
            "<?php\n$vendorDir = dirname(__DIR__);\n$baseDir = dirname($vendorDir);\n"
            "return array();\n");
  WriteFile(dir.Sub("app/vendor/composer/autoload_psr4.php"),
            "<?php\n$vendorDir = dirname(__DIR__);\n$baseDir = dirname($vendorDir);\n"
            "return array();\n");
  const std::vector<std::pair<std::string, std::vector<std::string>>> runs = {
      {"initkit-bootstrap",
       {"--from", dir.Sub("src"), "--to", dir.Sub("dst"), "--", "printf", "copied"}},
      {"initkit-cron-gate",
       {"--url", server.base_url() + "/", "--expected-version", "1.0", "--", "printf", "open"}},
      {"initkit-migrate", migrate},
      {"initkit-secrets", {"sync", "--target", "dir:" + dir.Sub("secrets")}},
      {"initkit-preload", {"--app-dir", dir.Sub("app"), "--output", dir.Sub("preload.php")}},
  };
  for (const auto& [tool, args] : runs) {
    TracedRun r = RunTraced(tool, args, dir);
    EXPECT_EQ(r.exit_code, 0) << tool << ": " << r.err;
    ASSERT_FALSE(r.execs.empty()) << tool << ": the tracer saw no exec";
    EXPECT_EQ(fs::path(r.execs.front()).filename(), tool);
    for (const std::string& exe : r.execs) {
      EXPECT_FALSE(IsShell(exe)) << tool << " ran a shell: " << exe;
      std::string base = fs::path(exe).filename();
      EXPECT_TRUE(base == tool || base == "printf") << tool << " ran " << exe;
    }
  }
}

// Words that would run `touch TRAPn` if a shell saw them.
std::vector<std::string> HostileWords(const std::string& trap) {
  return {"a;touch",  trap + "1",       "$(touch", trap + "2)", "`touch",   trap + "3`", "x|touch",
          trap + "4", ">" + trap + "5", "&&",      "touch",     trap + "6", "*",         "$HOME"};
}

std::string Lines(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += w + "\n";
  return out;
}

void ExpectNoTrapSprung(const TempDir& dir) {
  for (const auto& e : fs::directory_iterator(dir.path())) {
    ADD_FAILURE() << "a shell ran: " << e.path() << " was created";
  }
}

// printf prints every word it gets on its own line: the words must arrive
// exactly as given, and none of the commands hidden in them may run.
TEST(NoShell, CronGateCommandGetsMetacharactersLiterally) {
  HttpServer server([](const FakeRequest&) {
    FakeResponse r;
    r.body = R"({"version":"1.0"})";
    return r;
  });
  TempDir dir;
  std::vector<std::string> words = HostileWords(dir.Sub("trap"));
  std::vector<std::string> args = {
      "--url", server.base_url() + "/", "--expected-version", "1.0", "--", "printf", "%s\\n"};
  args.insert(args.end(), words.begin(), words.end());
  RunOutput r = RunBinary("initkit-cron-gate", args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Lines(words));
  ExpectNoTrapSprung(dir);
}

// initkit-migrate splits its command strings like a shell splits words
// (quotes honoured) but runs no shell: metacharacters stay in the words.
TEST(NoShell, MigrateCommandGetsMetacharactersLiterally) {
  std::string err;
  MariaDbServer* db = MariaDbServer::Shared(&err);
  ASSERT_NE(db, nullptr) << err;
  ASSERT_TRUE(db->CreateDatabase("t_no_shell", &err)) << err;
  ASSERT_TRUE(
      db->Exec("CREATE TABLE t_no_shell.registry (name VARCHAR(191) PRIMARY KEY, value "
               "TEXT)",
               &err))
      << err;
  TempDir dir;
  std::vector<std::string> words = HostileWords(dir.Sub("trap"));
  std::string cmd = "printf '%s\\n'";
  for (const std::string& w : words) cmd += " " + w;
  std::vector<std::string> args = db->MigrateFlags("t_no_shell");
  args.insert(args.end(), {"--migrate-cmd", cmd, "--seed-cmd", cmd, "--wait-timeout", "60s"});
  RunOutput r = RunBinary("initkit-migrate", args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Lines(words) + Lines(words)) << "migrate, then seed";
  ExpectNoTrapSprung(dir);
}

}  // namespace
}  // namespace initkit::testing
