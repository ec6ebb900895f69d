// initkit-preload's flag table and OptionsFromConfig, without running a tool.
#include "tools/preload/options.h"

#include <gtest/gtest.h>

namespace initkit::preload {
namespace {

Status Parse(std::vector<std::string> args, Options* o, Environment env = {}) {
  args.insert(args.begin(), "initkit-preload");
  Config c;
  std::string early;
  INITKIT_RETURN_IF_ERROR(ParseConfig(PreloadToolSpec(), args, env, &c, &early));
  return OptionsFromConfig(c, o);
}

TEST(PreloadOptions, DefaultsAndTypedValues) {
  Options o;
  ASSERT_TRUE(Parse({"--app-dir", "/srv/app"}, &o).ok());
  EXPECT_EQ(o.app_dir, "/srv/app");
  EXPECT_EQ(o.output, "preload.php");
  EXPECT_EQ(o.memory_budget, 64ull << 20);
  EXPECT_EQ(o.verify_timeout, std::chrono::minutes(10));
  EXPECT_EQ(o.verify_rounds, 20);
  EXPECT_GE(o.jobs, 1);
  EXPECT_LE(o.jobs, 8);

  ASSERT_TRUE(Parse({"--app-dir", "a", "--memory-budget", "512K", "--verify-with", "/usr/bin/php",
                     "--verify-timeout", "90s", "--verify-rounds", "3", "--jobs", "40", "--exclude",
                     "x/", "--exclude", "y/*"},
                    &o)
                  .ok());
  EXPECT_EQ(o.memory_budget, 512u * 1024);
  EXPECT_EQ(o.verify_with, "/usr/bin/php");
  EXPECT_EQ(o.verify_timeout, std::chrono::seconds(90));
  EXPECT_EQ(o.verify_rounds, 3);
  EXPECT_EQ(o.jobs, 16) << "capped";
  EXPECT_EQ(o.excludes, (std::vector<std::string>{"x/", "y/*"}));

  ASSERT_TRUE(Parse({}, &o, {{"INITKIT_APP_DIR", "/env/app"}, {"INITKIT_JOBS", "3"}}).ok());
  EXPECT_EQ(o.app_dir, "/env/app");
  EXPECT_EQ(o.jobs, 3);
}

TEST(PreloadOptions, BadValuesAreUsageErrorsNamingTheFlag) {
  Options o;
  struct Bad {
    std::vector<std::string> args;
    const char* names;
  } cases[] = {
      {{"--app-dir", "a", "--memory-budget", "lots"}, "--memory-budget"},
      {{"--app-dir", "a", "--memory-budget", "5T"}, "--memory-budget"},
      {{"--app-dir", "a", "--jobs", "-1"}, "--jobs"},
      {{"--app-dir", "a", "--verify-rounds", "0"}, "--verify-rounds"},
      {{"--app-dir", "a", "--verify-timeout", "0s"}, "--verify-timeout"},
      {{"--app-dir", "a", "--output", ""}, "--output"},
  };
  for (const Bad& b : cases) {
    Status st = Parse(b.args, &o);
    EXPECT_EQ(st.ExitCode(), 2) << b.names;
    EXPECT_NE(st.message().find(b.names), std::string::npos) << st.message();
  }
}

TEST(PreloadOptions, EveryFlagHasARealMetavarAndHelp) {
  for (const FlagSpec& f : PreloadToolSpec().flags) {
    EXPECT_FALSE(f.help.empty()) << f.name;
    if (f.type != FlagType::kBool) EXPECT_NE(f.value_name, "VALUE") << f.name;
  }
}

TEST(ParseByteSize, Units) {
  uint64_t v = 0;
  ASSERT_TRUE(ParseByteSize("1048576", "--x", &v).ok());
  EXPECT_EQ(v, 1048576u);
  ASSERT_TRUE(ParseByteSize("2G", "--x", &v).ok());
  EXPECT_EQ(v, 2ull << 30);
  EXPECT_FALSE(ParseByteSize("", "--x", &v).ok());
  EXPECT_FALSE(ParseByteSize("M", "--x", &v).ok());
}

}  // namespace
}  // namespace initkit::preload
