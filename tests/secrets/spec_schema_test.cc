// docs/secrets-spec.schema.json says what the tool says: every shipped spec
// and every rejected-spec case gets the same verdict from the schema
// (python3-jsonschema) and from `initkit-secrets plan --spec`.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/fakes/test_util.h"

namespace initkit::secrets {
namespace {

TEST(SpecSchemaTest, SchemaAndToolAgreeOnEveryShippedSpecAndRejectedCase) {
  testing::TempDir dir;
  std::string src = INITKIT_SOURCE_DIR;
  testing::RunOutput r = testing::RunBinary("/usr/bin/python3",
                                            {src + "/tests/secrets/spec_schema_check.py", src,
                                             testing::BinPath("initkit-secrets"), dir.path()},
                                            {}, std::chrono::seconds(300));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int accepted = 0, rejected = 0, schema_cannot = 0;
  while (std::getline(lines, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    std::string name = j["name"];
    int tool = j["tool_exit"];
    bool schema_ok = j["schema_ok"];
    if (j["expect"] == "accept") {
      ++accepted;
      EXPECT_EQ(tool, 0) << name;
      EXPECT_TRUE(schema_ok) << name << ": " << j["schema_error"];
      continue;
    }
    ++rejected;
    EXPECT_EQ(tool, 2) << name;
    if (j["schema_cannot"].is_string()) {
      ++schema_cannot;  // documented gap: the schema accepts what only the tool can check
      EXPECT_TRUE(schema_ok) << name << " (" << j["schema_cannot"] << ")";
    } else {
      EXPECT_FALSE(schema_ok) << name << ": the schema accepts what the tool refuses";
    }
  }
  EXPECT_GE(accepted, 4);  // three examples and the compose spec, at least
  EXPECT_GE(rejected, 20);
  EXPECT_LE(schema_cannot, 4);
}

}  // namespace
}  // namespace initkit::secrets
