#include "common/version.h"

#include <gtest/gtest.h>

#include "common/json_util.h"

namespace initkit {
namespace {

Version V(const std::string& s) {
  Version v;
  EXPECT_TRUE(ParseVersion(s, &v).ok()) << s;
  return v;
}

TEST(VersionTest, ZeroPaddingAndSegmentCounts) {
  EXPECT_EQ(CompareVersions(V("04.99.005.000"), V("4.99.5.0")), 0);
  EXPECT_EQ(CompareVersions(V("4.99.5"), V("4.99.5.0")), 0);
  EXPECT_LT(CompareVersions(V("4.99.5"), V("4.99.5.1")), 0);
  EXPECT_GT(CompareVersions(V("4.100"), V("4.99.9")), 0);
  EXPECT_GT(CompareVersions(V("10"), V("9.9.9")), 0);
  EXPECT_EQ(CompareVersions(V("v1.2"), V("1.2")), 0);
  EXPECT_EQ(CompareVersions(V(" 1.2 \n"), V("1.2")), 0);
}

TEST(VersionTest, GarbageIsRejected) {
  Version v;
  for (const char* bad :
       {"", "abc", "1..2", "1.2.", ".1", "1.2-beta", "1,2", "1.2.x", "99999999999999999999999"}) {
    EXPECT_EQ(ParseVersion(bad, &v).ExitCode(), 2) << bad;
  }
}

TEST(PhpVersionFileTest, DefineForm) {
  std::string out;
  ASSERT_TRUE(ExtractPhpVersion("<?php\ndefine('APP_VERSION', '04.99.005.000');\n", "", &out).ok());
  EXPECT_EQ(out, "04.99.005.000");
  ASSERT_TRUE(ExtractPhpVersion("<?php DEFINE(\"APP_VERSION\",\"1.2\");", "", &out).ok());
  EXPECT_EQ(out, "1.2");
}

TEST(PhpVersionFileTest, ReturnArrayAndConfigForms) {
  std::string out;
  ASSERT_TRUE(
      ExtractPhpVersion("<?php\nreturn ['name' => 'x', 'version' => '2.3.4'];", "", &out).ok());
  EXPECT_EQ(out, "2.3.4");
  ASSERT_TRUE(ExtractPhpVersion("<?php return array(\"version\" => \"5.0\");", "", &out).ok());
  EXPECT_EQ(out, "5.0");
  ASSERT_TRUE(ExtractPhpVersion("<?php\n$config['version'] = '3.1';\n", "", &out).ok());
  EXPECT_EQ(out, "3.1");
}

TEST(PhpVersionFileTest, CommentsAreIgnoredAndKeysRespected) {
  std::string out;
  const char* src =
      "<?php\n// define('APP_VERSION', '0.0.1');\n/* define('APP_VERSION', '0.0.2'); */\n"
      "# define('APP_VERSION', '0.0.3');\ndefine('APP_VERSION', '1.0.0');\n"
      "define('OTHER', '9.9');\n";
  ASSERT_TRUE(ExtractPhpVersion(src, "", &out).ok());
  EXPECT_EQ(out, "1.0.0");
  ASSERT_TRUE(ExtractPhpVersion(src, "OTHER", &out).ok());
  EXPECT_EQ(out, "9.9");
  ASSERT_TRUE(ExtractPhpVersion("<?php return ['release' => '7.1'];", "release", &out).ok());
  EXPECT_EQ(out, "7.1");
}

TEST(PhpVersionFileTest, PlainFileAndNothingFound) {
  std::string out;
  ASSERT_TRUE(ExtractPhpVersion("04.99.005.000\n", "", &out).ok());
  EXPECT_EQ(out, "04.99.005.000");
  Status st = ExtractPhpVersion("<?php echo 'hi';", "", &out);
  EXPECT_EQ(st.ExitCode(), 2);
  EXPECT_NE(st.message().find("APP_VERSION"), std::string::npos);
}

TEST(JsonPointerTest, Lookups) {
  nlohmann::json doc =
      nlohmann::json::parse(R"({"version":"1.2","app":{"v":3,"list":["a"]},"n":null})");
  std::string out;
  ASSERT_TRUE(JsonPointerString(doc, "/version", &out).ok());
  EXPECT_EQ(out, "1.2");
  ASSERT_TRUE(JsonPointerString(doc, "/app/v", &out).ok());
  EXPECT_EQ(out, "3");
  ASSERT_TRUE(JsonPointerString(doc, "/app/list/0", &out).ok());
  EXPECT_EQ(out, "a");
  EXPECT_FALSE(JsonPointerString(doc, "/missing", &out).ok());
  EXPECT_FALSE(JsonPointerString(doc, "/app", &out).ok());
  EXPECT_FALSE(JsonPointerString(doc, "/n", &out).ok());
  EXPECT_FALSE(JsonPointerString(doc, "/app/list/5", &out).ok());
  EXPECT_EQ(JsonPointerString(doc, "no-slash", &out).ExitCode(), 2);
}

}  // namespace
}  // namespace initkit
