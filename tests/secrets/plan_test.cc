#include "tools/secrets/plan.h"

#include <gtest/gtest.h>

#include "tools/secrets/generators.h"

namespace initkit::secrets {
namespace {

using Strings = std::vector<std::string>;

Spec TestSpec() {
  Spec s;
  Status st = ParseSpec(R"({
    "secret": "app",
    "once": {"ENC": {"generator": "hex"}, "PASS": {"generator": "alnum", "length": 20}},
    "rotate": {"DB": {"generator": "base64-of-hex"}}
  })",
                        "t", &s);
  EXPECT_TRUE(st.ok()) << st.message();
  return s;
}

TEST(PlanTest, FirstSyncGeneratesAndAnnotates) {
  Spec s = TestSpec();
  ValueCache cache;
  Plan p;
  ASSERT_TRUE(PlanSync(s, SecretData(), &cache, &p).ok());
  EXPECT_EQ(p.created, (Strings{"ENC", "PASS", "DB"}));
  EXPECT_TRUE(p.kept.empty());
  EXPECT_TRUE(p.rotated.empty());
  EXPECT_TRUE(p.annotated);
  EXPECT_TRUE(p.changed);
  EXPECT_EQ(p.result.annotations.at(s.annotation), "true");
  EXPECT_EQ(p.result.data.at("ENC").size(), 32u);
  EXPECT_EQ(p.result.data.at("PASS").size(), 20u);
}

TEST(PlanTest, OnceKeysWithAValueAreKeptEvenWithoutTheAnnotation) {
  Spec s = TestSpec();
  SecretData cur;
  cur.exists = true;
  cur.data = {{"ENC", "keep-me"}, {"PASS", "keep-me-too"}, {"DB", "old"}, {"OTHER", "x"}};
  cur.annotations = {{"team", "a"}};  // the init annotation was removed by hand
  ValueCache cache;
  Plan p;
  ASSERT_TRUE(PlanSync(s, cur, &cache, &p).ok());
  EXPECT_EQ(p.kept, (Strings{"ENC", "PASS"}));
  EXPECT_EQ(p.rotated, (Strings{"DB"}));
  EXPECT_EQ(p.result.data.at("ENC"), "keep-me");
  EXPECT_EQ(p.result.data.at("PASS"), "keep-me-too");
  EXPECT_NE(p.result.data.at("DB"), "old");
  EXPECT_EQ(p.result.data.at("OTHER"), "x");
  EXPECT_EQ(p.result.annotations.at("team"), "a");
  EXPECT_TRUE(p.annotated);
}

TEST(PlanTest, EmptyValueCountsAsMissing) {
  Spec s = TestSpec();
  SecretData cur;
  cur.exists = true;
  cur.data = {{"ENC", ""}, {"PASS", "p"}};
  cur.annotations = {{s.annotation, "true"}};
  ValueCache cache;
  Plan p;
  ASSERT_TRUE(PlanSync(s, cur, &cache, &p).ok());
  EXPECT_EQ(p.created, (Strings{"ENC", "DB"}));
  EXPECT_EQ(p.kept, (Strings{"PASS"}));
  EXPECT_FALSE(p.annotated);
  EXPECT_EQ(p.result.data.at("ENC").size(), 32u);
}

TEST(PlanTest, ReplanningAfterAConflictReappliesTheSameValues) {
  Spec s = TestSpec();
  ValueCache cache;
  Plan a, b;
  ASSERT_TRUE(PlanSync(s, SecretData(), &cache, &a).ok());
  // Another writer stored ENC meanwhile: its value wins, ours is dropped.
  SecretData cur;
  cur.exists = true;
  cur.data = {{"ENC", "theirs"}};
  ASSERT_TRUE(PlanSync(s, cur, &cache, &b).ok());
  EXPECT_EQ(b.result.data.at("ENC"), "theirs");
  EXPECT_EQ(b.result.data.at("PASS"), a.result.data.at("PASS"));
  EXPECT_EQ(b.result.data.at("DB"), a.result.data.at("DB"));
}

Spec RsaSpec() {
  Spec s;
  EXPECT_TRUE(ParseSpec(R"({"once": {"P": {"generator": "rsa-keypair", "private_key": "priv",
                                           "public_key": "pub"}}})",
                        "t", &s)
                  .ok());
  return s;
}

TEST(PlanTest, LostPublicKeyIsDerivedNotRegenerated) {
  Spec s = RsaSpec();
  std::map<std::string, std::string> kp;
  ASSERT_TRUE(Generate(s.once[0], &kp).ok());
  SecretData cur;
  cur.exists = true;
  cur.data = {{"priv", kp["priv"]}};
  ValueCache cache;
  Plan p;
  ASSERT_TRUE(PlanSync(s, cur, &cache, &p).ok());
  EXPECT_EQ(p.kept, (Strings{"priv"}));
  EXPECT_EQ(p.completed, (Strings{"pub"}));
  EXPECT_EQ(p.result.data.at("priv"), kp["priv"]);
  EXPECT_EQ(p.result.data.at("pub"), kp["pub"]);
}

TEST(PlanTest, PublicKeyWithoutPrivateKeyIsRefused) {
  Spec s = RsaSpec();
  SecretData cur;
  cur.exists = true;
  cur.data = {{"pub", "-----BEGIN PUBLIC KEY-----"}};
  ValueCache cache;
  Plan p;
  Status st = PlanSync(s, cur, &cache, &p);
  EXPECT_EQ(st.kind(), Status::Kind::kFailed);
  EXPECT_NE(st.message().find("priv"), std::string::npos);
}

TEST(PlanTest, NothingToDoMeansNoWrite) {
  Spec s;
  ASSERT_TRUE(ParseSpec(R"({"once": {"A": {"generator": "hex"}}})", "t", &s).ok());
  SecretData cur;
  cur.exists = true;
  cur.data = {{"A", "v"}};
  cur.annotations = {{s.annotation, "true"}};
  ValueCache cache;
  Plan p;
  ASSERT_TRUE(PlanSync(s, cur, &cache, &p).ok());
  EXPECT_FALSE(p.changed);
}

}  // namespace
}  // namespace initkit::secrets
