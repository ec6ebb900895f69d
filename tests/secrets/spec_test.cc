#include "tools/secrets/spec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/fakes/test_util.h"

namespace initkit::secrets {
namespace {

Status Parse(const std::string& text, Spec* s) { return ParseSpec(text, "test.json", s); }

TEST(SpecTest, ParsesTheContractExample) {
  Spec s;
  Status st = Parse(R"({
    "secret": "app-secrets",
    "annotation": "ecommercen.com/has-been-initialized",
    "once": {
      "APP_KEY":  {"generator": "laravel-app-key"},
      "HEX_KEY":  {"generator": "hex", "bytes": 16},
      "B64_KEY":  {"generator": "base64", "bytes": 32},
      "PASS":     {"generator": "alnum", "length": 24},
      "APP_UUID": {"generator": "uuid"},
      "PASSPORT": {"generator": "rsa-keypair", "bits": 2048,
                   "private_key": "oauth-private.key", "public_key": "oauth-public.key"}
    },
    "rotate": {"APP_DB_DEFAULT_PWD": {"generator": "base64-of-hex", "bytes": 16}},
    "keycloak": {"realm": "shop", "client-id": "shop-admin", "redirect-uri": ["https://shop.example/admin/*"]}
  })",
                    &s);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(s.secret, "app-secrets");
  EXPECT_EQ(s.once.size(), 6u);
  ASSERT_EQ(s.rotate.size(), 1u);
  EXPECT_EQ(s.rotate[0].gen.generator, "base64-of-hex");
  ASSERT_TRUE(s.keycloak.has_value());
  EXPECT_TRUE(s.keycloak->enabled);
  EXPECT_EQ(s.keycloak->client_id, "shop-admin");
  ASSERT_EQ(s.keycloak->redirect_uris.size(), 1u);
  for (const KeySpec& k : s.once) {
    if (k.name == "PASSPORT") {
      EXPECT_EQ(k.OutputKeys(),
                (std::vector<std::string>{"oauth-private.key", "oauth-public.key"}));
    }
    if (k.name == "PASS") {
      EXPECT_EQ(k.gen.length, 24);
    }
  }
}

// The cases live in rejected_specs.json, which spec_schema_test.cc also runs
// through the JSON Schema.
TEST(SpecTest, ErrorsNameTheJsonPath) {
  nlohmann::json doc = nlohmann::json::parse(
      testing::ReadFile(std::string(INITKIT_SOURCE_DIR) + "/tests/secrets/rejected_specs.json"));
  int with_path = 0;
  for (const auto& c : doc["cases"]) {
    if (!c.contains("path")) continue;  // refused later (names) or not JSON
    ++with_path;
    std::string text = c["text"];
    Spec s;
    Status st = Parse(text, &s);
    EXPECT_EQ(st.kind(), Status::Kind::kUsage) << text;
    std::string path = c["path"];
    EXPECT_NE(st.message().find("test.json: " + path + ":"), std::string::npos)
        << text << " -> " << st.message();
  }
  EXPECT_GE(with_path, 20);
}

TEST(SpecTest, BadJsonSaysWhere) {
  Spec s;
  Status st = Parse("{\"once\": ", &s);
  EXPECT_EQ(st.kind(), Status::Kind::kUsage);
  EXPECT_NE(st.message().find("not valid JSON"), std::string::npos);
}

TEST(SpecTest, DefaultsPerGenerator) {
  Spec s;
  ASSERT_TRUE(Parse(R"({"once": {"H": {"generator": "hex"}, "B": {"generator": "base64"},
                                 "A": {"generator": "alnum"}}})",
                    &s)
                  .ok());
  for (const KeySpec& k : s.once) {
    if (k.name == "H") {
      EXPECT_EQ(k.gen.bytes, 16);
    }
    if (k.name == "B") {
      EXPECT_EQ(k.gen.bytes, 32);
    }
    if (k.name == "A") {
      EXPECT_EQ(k.gen.length, 32);
    }
  }
}

TEST(SpecTest, BuiltinSpecReproducesTheSeed) {
  Spec s = BuiltinSpec();
  EXPECT_EQ(s.annotation, "ecommercen.com/has-been-initialized");
  std::vector<std::string> once;
  for (const KeySpec& k : s.once) {
    once.push_back(k.name);
    EXPECT_EQ(k.gen.generator, "hex");
    EXPECT_EQ(k.gen.bytes, 16);
  }
  EXPECT_EQ(once, (std::vector<std::string>{"APP_ENCRYPTION_KEY", "APP_ADMIN_PWD",
                                            "APP_ADMIN_ADVISABLE_PWD"}));
  ASSERT_EQ(s.rotate.size(), 1u);
  EXPECT_EQ(s.rotate[0].name, "APP_DB_DEFAULT_PWD");
  EXPECT_EQ(s.rotate[0].gen.generator, "base64-of-hex");
  EXPECT_FALSE(s.keycloak.has_value());
}

TEST(SpecTest, ShippedExamplesParse) {
  for (const char* name :
       {"seed-platform.json", "laravel.json", "compose.json", "alternating-users.json"}) {
    std::string path = std::string(INITKIT_SOURCE_DIR) + "/tools/secrets/examples/" + name;
    Spec s;
    Status st = ParseSpec(testing::ReadFile(path), path, &s);
    EXPECT_TRUE(st.ok()) << st.message();
    EXPECT_FALSE(s.secret.empty()) << name;
  }
}

}  // namespace
}  // namespace initkit::secrets
