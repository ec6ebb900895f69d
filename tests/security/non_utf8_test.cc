// Paths, names and commands from flags are bytes, not UTF-8. Every tool
// that turns them into JSON (logs, --status, summaries, markers, API bodies)
// must survive bytes that are not UTF-8: a strict nlohmann dump() threw and
// the tool died with SIGABRT (exit 134) instead of doing its job.
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

const std::string kLatin1 = "caf\xe9";  // "café" in Latin-1: invalid UTF-8

TEST(NonUtf8Input, MigrateStatusReportsInsteadOfAborting) {
  // Nothing listens on port 1: the status is "unreachable", printed as JSON.
  RunOutput r = RunBinary("initkit-migrate",
                          {"--status", "--db-host", "127.0.0.1", "--db-port", "1", "--db-user", "u",
                           "--db-name", kLatin1, "--wait-timeout", "1s"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["database_reachable"], false);
}

TEST(NonUtf8Input, MigrateDryRunShowsTheCommand) {
  RunOutput r = RunBinary("initkit-migrate", {"--dry-run", "--db-user", "u", "--db-name", "app",
                                              "--migrate-cmd", "php migrate --path=" + kLatin1});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--path=caf"), std::string::npos) << r.out;
}

TEST(NonUtf8Input, SecretsDirTargetAndBootstrapPaths) {
  TempDir dir;
  RunOutput r = RunBinary("initkit-secrets", {"sync", "--target", "dir:" + dir.Sub(kLatin1)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << "the summary is JSON: " << r.out;

  WriteFile(dir.Sub("src-" + kLatin1 + "/f-" + kLatin1 + ".php"), "<?php\n");
  r = RunBinary("initkit-bootstrap",
                {"--from", dir.Sub("src-" + kLatin1), "--to", dir.Sub("dst-" + kLatin1)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.Sub("dst-" + kLatin1 + "/f-" + kLatin1 + ".php")), "<?php\n");
}

// Every stderr line of these runs is a strict JSON object (nlohmann's parse
// rejects invalid UTF-8), and so is the termination message's text: the
// bytes are replaced with U+FFFD as on stdout, never written raw.
TEST(NonUtf8Input, LogRecordsAndTheTerminationMessageStayValid) {
  TempDir dir;
  const std::vector<std::pair<std::string, std::vector<std::string>>> runs = {
      {"initkit-migrate",
       {"--db-host", "127.0.0.1", "--db-port", "1", "--db-user", "u", "--db-name", kLatin1,
        "--migrate-cmd", "true", "--wait-timeout", "1s"}},
      {"initkit-bootstrap", {"--from", dir.Sub("missing-" + kLatin1), "--to", dir.Sub("d")}},
      {"initkit-preload", {"--app-dir", dir.Sub("missing-" + kLatin1)}},
  };
  for (const auto& [tool, args] : runs) {
    std::vector<std::string> full = args;
    full.insert(full.end(), {"--log-format", "json", "--termination-log", dir.Sub("term")});
    RunOutput r = RunBinary(tool, full);
    EXPECT_NE(r.exit_code, 0) << tool;
    size_t start = 0, lines = 0;
    for (size_t nl; (nl = r.err.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = r.err.substr(start, nl - start);
      ++lines;
      auto j = nlohmann::json::parse(line, nullptr, false);
      EXPECT_TRUE(j.is_object()) << tool << ": not a JSON record: " << line;
    }
    EXPECT_GT(lines, 0u) << tool;
    if (tool == "initkit-migrate") {  // passes the name through: replaced, not dropped
      EXPECT_NE(r.err.find("caf\xef\xbf\xbd"), std::string::npos) << tool << r.err;
    }
    std::string term = ReadFile(dir.Sub("term"));
    EXPECT_FALSE(term.empty()) << tool;
    EXPECT_EQ(::initkit::ToValidUtf8(term), term) << tool << ": termination message not UTF-8";
    ::unlink(dir.Sub("term").c_str());
  }
}

}  // namespace
}  // namespace initkit::testing
