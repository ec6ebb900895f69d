#include "common/config.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "tests/fakes/test_util.h"

namespace initkit {
namespace {

ToolSpec TestSpec() {
  ToolSpec spec;
  spec.name = "initkit-test";
  spec.summary = "test tool";
  spec.accepts_command = true;
  spec.flags = {
      {.name = "db-host", .default_value = "localhost", .help = "host"},
      {.name = "db-port", .type = FlagType::kInt, .default_value = "3306", .help = "port"},
      {.name = "db-password", .help = "password", .credential = true},
      {.name = "wait-timeout", .type = FlagType::kDuration, .default_value = "60s", .help = "t"},
      {.name = "keep-exec",
       .type = FlagType::kBool,
       .default_value = "true",
       .help = "x",
       .negatable = true},
      {.name = "dry-run", .type = FlagType::kBool, .default_value = "false", .help = "d"},
      {.name = "exclude", .type = FlagType::kList, .help = "globs"},
      {.name = "mode", .default_value = "a", .help = "m", .choices = {"a", "b"}},
  };
  return spec;
}

Status Parse(std::vector<std::string> args, const Environment& env, Config* c,
             std::string* early = nullptr) {
  std::string ignored;
  args.insert(args.begin(), "initkit-test");
  return ParseConfig(TestSpec(), args, env, c, early ? early : &ignored);
}

TEST(ConfigTest, DefaultsApplyWhenNothingGiven) {
  Config c;
  ASSERT_TRUE(Parse({}, {}, &c).ok());
  EXPECT_EQ(c.Get("db-host"), "localhost");
  EXPECT_FALSE(c.IsSet("db-host"));
  EXPECT_EQ(c.Source("db-host"), "default");
  EXPECT_EQ(c.GetInt("db-port"), 3306);
  EXPECT_EQ(c.GetDuration("wait-timeout"), std::chrono::seconds(60));
  EXPECT_TRUE(c.GetBool("keep-exec"));
  EXPECT_FALSE(c.GetBool("dry-run"));
  EXPECT_TRUE(c.GetList("exclude").empty());
}

TEST(ConfigTest, BothFlagFormsAndLastOneWins) {
  Config c;
  ASSERT_TRUE(Parse({"--db-host", "a", "--db-host=b", "--db-port=1"}, {}, &c).ok());
  EXPECT_EQ(c.Get("db-host"), "b");
  EXPECT_EQ(c.GetInt("db-port"), 1);
  EXPECT_EQ(c.Source("db-host"), "flag");
}

TEST(ConfigTest, EnvironmentFillsAndCommandLineWins) {
  Config c;
  ASSERT_TRUE(Parse({}, {{"INITKIT_DB_HOST", "envhost"}}, &c).ok());
  EXPECT_EQ(c.Get("db-host"), "envhost");
  EXPECT_EQ(c.Source("db-host"), "env");
  ASSERT_TRUE(Parse({"--db-host", "cli"}, {{"INITKIT_DB_HOST", "envhost"}}, &c).ok());
  EXPECT_EQ(c.Get("db-host"), "cli");
}

TEST(ConfigTest, NegatableBoolAndEnvBool) {
  Config c;
  ASSERT_TRUE(Parse({"--no-keep-exec"}, {}, &c).ok());
  EXPECT_FALSE(c.GetBool("keep-exec"));
  ASSERT_TRUE(Parse({"--no-keep-exec", "--keep-exec"}, {}, &c).ok());
  EXPECT_TRUE(c.GetBool("keep-exec"));
  ASSERT_TRUE(Parse({}, {{"INITKIT_KEEP_EXEC", "false"}}, &c).ok());
  EXPECT_FALSE(c.GetBool("keep-exec"));
  Status st = Parse({}, {{"INITKIT_DRY_RUN", "maybe"}}, &c);
  EXPECT_EQ(st.ExitCode(), 2);
  EXPECT_NE(st.message().find("INITKIT_DRY_RUN"), std::string::npos) << st.message();
}

TEST(ConfigTest, ListsRepeatAndEnvListsSplitOnNewlines) {
  Config c;
  ASSERT_TRUE(Parse({"--exclude", "a/**", "--exclude=b"}, {}, &c).ok());
  EXPECT_EQ(c.GetList("exclude"), (std::vector<std::string>{"a/**", "b"}));
  ASSERT_TRUE(Parse({}, {{"INITKIT_EXCLUDE", "x\ny"}}, &c).ok());
  EXPECT_EQ(c.GetList("exclude"), (std::vector<std::string>{"x", "y"}));
}

TEST(ConfigTest, UnknownFlagAndBadValuesAreUsageErrorsNamingTheInput) {
  Config c;
  Status st = Parse({"--nope"}, {}, &c);
  EXPECT_EQ(st.ExitCode(), 2);
  EXPECT_NE(st.message().find("--nope"), std::string::npos);
  st = Parse({"--db-port", "abc"}, {}, &c);
  EXPECT_EQ(st.ExitCode(), 2);
  EXPECT_NE(st.message().find("--db-port"), std::string::npos);
  st = Parse({}, {{"INITKIT_WAIT_TIMEOUT", "5 parsecs"}}, &c);
  EXPECT_EQ(st.ExitCode(), 2);
  EXPECT_NE(st.message().find("INITKIT_WAIT_TIMEOUT"), std::string::npos);
  st = Parse({"--mode", "c"}, {}, &c);
  EXPECT_EQ(st.ExitCode(), 2);
}

TEST(ConfigTest, CredentialFromFileStripsOneNewlineAndIsRedacted) {
  testing::TempDir dir;
  testing::WriteFile(dir.Sub("pw"), "s3cr3t-value\n\n");
  Config c;
  ASSERT_TRUE(Parse({"--db-password-file", dir.Sub("pw")}, {}, &c).ok());
  EXPECT_EQ(c.Get("db-password"), "s3cr3t-value\n");
  EXPECT_EQ(c.Source("db-password"), "file");
  EXPECT_EQ(log::Redact("x s3cr3t-value\n y").find("s3cr3t"), std::string::npos);
  ASSERT_TRUE(Parse({}, {{"INITKIT_DB_PASSWORD_FILE", dir.Sub("pw")}}, &c).ok());
  EXPECT_EQ(c.Get("db-password"), "s3cr3t-value\n");
}

TEST(ConfigTest, CredentialValueAndFileTogetherIsUsageError) {
  testing::TempDir dir;
  testing::WriteFile(dir.Sub("pw"), "x");
  Config c;
  Status st = Parse({"--db-password", "p", "--db-password-file", dir.Sub("pw")}, {}, &c);
  EXPECT_EQ(st.ExitCode(), 2);
  st = Parse({}, {{"INITKIT_DB_PASSWORD", "p"}, {"INITKIT_DB_PASSWORD_FILE", dir.Sub("pw")}}, &c);
  EXPECT_EQ(st.ExitCode(), 2);
  // A command-line flag beats the environment whichever form each has.
  ASSERT_TRUE(
      Parse({"--db-password", "cli"}, {{"INITKIT_DB_PASSWORD_FILE", dir.Sub("pw")}}, &c).ok());
  EXPECT_EQ(c.Get("db-password"), "cli");
}

TEST(ConfigTest, UnreadableCredentialFileIsUsageErrorNamingIt) {
  Config c;
  Status st = Parse({"--db-password-file", "/nonexistent/pw"}, {}, &c);
  EXPECT_EQ(st.ExitCode(), 2);
  EXPECT_NE(st.message().find("/nonexistent/pw"), std::string::npos);
}

TEST(ConfigTest, HelpAndVersionGoToEarlyOutput) {
  Config c;
  std::string early;
  ASSERT_TRUE(Parse({"--help"}, {}, &c, &early).ok());
  EXPECT_NE(early.find("--db-host"), std::string::npos);
  EXPECT_NE(early.find("INITKIT_DB_HOST"), std::string::npos);
  EXPECT_NE(early.find("--db-password-file"), std::string::npos);
  ASSERT_TRUE(Parse({"--version"}, {}, &c, &early).ok());
  EXPECT_EQ(early.rfind(std::string("initkit-test ") + INITKIT_VERSION + "\ncommit ", 0), 0u)
      << early;
  EXPECT_NE(early.find("\nglibc 2."), std::string::npos) << early;
}

TEST(ConfigTest, UnknownFlagSuggestsTheClosestOne) {
  Config c;
  Status st = Parse({"--db-hots", "x"}, {}, &c);
  EXPECT_EQ(st.ExitCode(), 2);
  EXPECT_EQ(st.message(), "unknown flag --db-hots; did you mean --db-host?");
  st = Parse({"--mdoe=a"}, {}, &c);
  EXPECT_EQ(st.message(), "unknown flag --mdoe; did you mean --mode?");
  st = Parse({"--db-password-fiel", "x"}, {}, &c);
  EXPECT_EQ(st.message(), "unknown flag --db-password-fiel; did you mean --db-password-file?");
  st = Parse({"--termination-lgo", "x"}, {}, &c);  // common flags are candidates too
  EXPECT_EQ(st.message(), "unknown flag --termination-lgo; did you mean --termination-log?");
  st = Parse({"--zzzzzzzz"}, {}, &c);
  EXPECT_EQ(st.message(), "unknown flag --zzzzzzzz (see --help)");
  // After "--" everything belongs to the command.
  EXPECT_TRUE(Parse({"--", "php", "--db-hots"}, {}, &c).ok());
}

TEST(ConfigTest, UnknownInitkitVariablesAreNamedWithTheClosestFlag) {
  std::vector<std::string> w =
      UnknownEnvironmentWarnings(TestSpec(), {{"INITKIT_DB_HOTS", "h"},
                                              {"INITKIT_DB_HOST", "h"},
                                              {"INITKIT_DB_PASSWORD_FILE", "/f"},
                                              {"INITKIT_LOG_LEVEL", "debug"},
                                              {"INITKIT_SERVICEACCOUNT_DIR", "/sa"},
                                              {"INITKIT_COMPLETELY_DIFFERENT", "1"},
                                              {"OTHER_VAR", "1"}});
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0],
            "INITKIT_COMPLETELY_DIFFERENT is set but initkit-test has no such setting; it is "
            "ignored");
  EXPECT_EQ(w[1],
            "INITKIT_DB_HOTS is set but initkit-test has no such setting; it is ignored (did you "
            "mean INITKIT_DB_HOST, the environment form of --db-host?)");
}

TEST(ConfigTest, MetavarsDeriveFromTheType) {
  EXPECT_EQ(MetavarFor({.name = "t", .type = FlagType::kDuration}), "DURATION");
  EXPECT_EQ(MetavarFor({.name = "n", .type = FlagType::kInt}), "N");
  EXPECT_EQ(MetavarFor({.name = "b", .type = FlagType::kBool, .value_name = "VALUE"}), "");
  EXPECT_EQ(MetavarFor({.name = "m", .choices = {"a", "b"}}), "a|b");
  EXPECT_EQ(MetavarFor({.name = "p", .value_name = "PATH"}), "PATH");
  EXPECT_EQ(MetavarFor({.name = "s"}), "VALUE");  // the reference test rejects this
}

TEST(ConfigTest, HelpFormatPrintsTheReferenceBeforeAnyCheck) {
  ToolSpec spec = TestSpec();
  spec.flags.push_back({.name = "needed", .help = "n", .required = true, .value_name = "NAME"});
  Config c;
  std::string early;
  ASSERT_TRUE(ParseConfig(spec, {"initkit-test", "--help-format=json"}, {}, &c, &early).ok());
  nlohmann::json j = nlohmann::json::parse(early);
  EXPECT_EQ(j["name"], "initkit-test");
  bool saw_password = false;
  for (const auto& f : j["flags"]) {
    if (f["name"] == "db-password") {
      saw_password = true;
      EXPECT_EQ(f["env"], "INITKIT_DB_PASSWORD");
      EXPECT_EQ(f["file_env"], "INITKIT_DB_PASSWORD_FILE");
      EXPECT_EQ(f["credential"], true);
    }
  }
  EXPECT_TRUE(saw_password);
  for (const char* format : {"markdown", "man", "bash", "zsh", "fish"}) {
    ASSERT_TRUE(ParseConfig(spec, {"initkit-test", "--help-format", format}, {}, &c, &early).ok());
    EXPECT_NE(early.find(std::string(format) == "man" ? "db\\-host" : "db-host"), std::string::npos)
        << format;
  }
  Status st = ParseConfig(spec, {"initkit-test", "--help-format=pdf"}, {}, &c, &early);
  EXPECT_EQ(st.ExitCode(), 2);
  EXPECT_NE(st.message().find("markdown"), std::string::npos) << st.message();
}

TEST(ConfigTest, TerminationLogIsACommonFlagWithAnOffSwitch) {
  Config c;
  ASSERT_TRUE(Parse({}, {}, &c).ok());
  EXPECT_EQ(c.Get("termination-log"), "/dev/termination-log");
  EXPECT_FALSE(c.IsSet("termination-log"));
  ASSERT_TRUE(Parse({"--termination-log", ""}, {}, &c).ok());
  EXPECT_EQ(c.Get("termination-log"), "");
  EXPECT_TRUE(c.IsSet("termination-log"));
  ASSERT_TRUE(Parse({}, {{"INITKIT_TERMINATION_LOG", ""}}, &c).ok());
  EXPECT_EQ(c.Get("termination-log"), "");
}

TEST(ConfigTest, CommandAfterDoubleDash) {
  Config c;
  ASSERT_TRUE(Parse({"--db-host", "h", "--", "php", "--db-host", "x"}, {}, &c).ok());
  EXPECT_EQ(c.Get("db-host"), "h");
  EXPECT_EQ(c.command(), (std::vector<std::string>{"php", "--db-host", "x"}));
  EXPECT_EQ(Parse({"--"}, {}, &c).ExitCode(), 2);
}

TEST(DurationTest, Forms) {
  std::chrono::milliseconds d;
  ASSERT_TRUE(ParseDuration("250ms", &d).ok());
  EXPECT_EQ(d.count(), 250);
  ASSERT_TRUE(ParseDuration("2s", &d).ok());
  EXPECT_EQ(d.count(), 2000);
  ASSERT_TRUE(ParseDuration("5m", &d).ok());
  EXPECT_EQ(d.count(), 300000);
  ASSERT_TRUE(ParseDuration("1h", &d).ok());
  EXPECT_EQ(d.count(), 3600000);
  ASSERT_TRUE(ParseDuration("7", &d).ok());
  EXPECT_EQ(d.count(), 7000);
  ASSERT_TRUE(ParseDuration("1.5s", &d).ok());
  EXPECT_EQ(d.count(), 1500);
  ASSERT_TRUE(ParseDuration("1m30s", &d).ok());
  EXPECT_EQ(d.count(), 90000);
  for (const char* bad : {"", "s", "-1s", "1x", "1.2.3s", "abc", "1s5", "1e9999h"}) {
    EXPECT_EQ(ParseDuration(bad, &d).ExitCode(), 2) << bad;
  }
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(90000)), "1m30s");
}

}  // namespace
}  // namespace initkit
