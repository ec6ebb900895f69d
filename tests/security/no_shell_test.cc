// Security review (issue #9): no shell is ever invoked. Statically, no
// shell-running call exists in common/ or tools/; at run time, shell
// metacharacters in the commands of cron-gate and migrate reach the program
// as literal argv words and nothing they would do in a shell happens.
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
