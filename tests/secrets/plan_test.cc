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

Spec AlternatingSpec() {
  Spec s;
  Status st = ParseSpec(R"({
    "secret": "app",
    "alternating-users": {"DB": {
      "users": ["shop_a", "shop_b"],
      "password-keys": ["DB_PASSWORD_A", "DB_PASSWORD_B"],
      "user-key": "DB_USER", "password-key": "DB_PASSWORD"}}
  })",
                        "t", &s);
  EXPECT_TRUE(st.ok()) << st.message();
  return s;
}

// The invariant every write keeps: the app's keys name one user and its password.
void ExpectConsistent(const SecretData& d) {
  const std::string& user = d.data.at("DB_USER");
  ASSERT_TRUE(user == "shop_a" || user == "shop_b") << user;
  EXPECT_TRUE(d.data.at("DB_PASSWORD") ==
              d.data.at(user == "shop_a" ? "DB_PASSWORD_A" : "DB_PASSWORD_B"));
}

TEST(PlanTest, AlternatingUsersStartWithTheFirstThenSwitchEverySync) {
  Spec s = AlternatingSpec();
  SecretData d;
  Plan p;
  {
    ValueCache cache;
    PlanOptions o{"2026-12-06T01:00:00.000Z", false};
    ASSERT_TRUE(PlanSync(s, d, &cache, o, &p).ok());
  }
  EXPECT_EQ(p.created, (Strings{"DB_PASSWORD_A", "DB_PASSWORD_B"}));
  ASSERT_EQ(p.alternations.size(), 1u);
  EXPECT_EQ(p.alternations[0].action, "created");
  EXPECT_EQ(p.alternations[0].active, "shop_a");
  EXPECT_FALSE(p.switched);
  EXPECT_EQ(p.result.annotations.count(kSwitchedAtAnnotation), 0u);
  ExpectConsistent(p.result);
  EXPECT_EQ(p.result.data.at("DB_PASSWORD_A").size(), 32u);  // alnum 32 by default
  EXPECT_NE(p.result.data.at("DB_PASSWORD_A"), p.result.data.at("DB_PASSWORD_B"));

  for (const char* want : {"shop_b", "shop_a", "shop_b"}) {
    d = p.result;
    ValueCache cache;
    PlanOptions o{std::string("2026-12-06T01:00:0") + want[5] + ".000Z", false};
    ASSERT_TRUE(PlanSync(s, d, &cache, o, &p).ok());
    ASSERT_EQ(p.alternations.size(), 1u);
    const Alternation& a = p.alternations[0];
    EXPECT_EQ(a.action, "switched");
    EXPECT_EQ(a.active, want);
    EXPECT_EQ(a.previous, d.data.at("DB_USER"));
    std::string rotated = want == std::string("shop_a") ? "DB_PASSWORD_A" : "DB_PASSWORD_B";
    std::string held = rotated == "DB_PASSWORD_A" ? "DB_PASSWORD_B" : "DB_PASSWORD_A";
    EXPECT_EQ(a.rotated_key, rotated);
    EXPECT_EQ(p.rotated, (Strings{rotated}));
    // The user the running pods hold keeps its password.
    EXPECT_TRUE(p.result.data.at(held) == d.data.at(held));
    EXPECT_FALSE(p.result.data.at(rotated) == d.data.at(rotated));
    EXPECT_TRUE(p.switched);
    EXPECT_EQ(p.result.annotations.at(kSwitchedAtAnnotation), o.now);
    ExpectConsistent(p.result);
  }
}

TEST(PlanTest, HoldKeepsBothPasswordsAndTheActiveUser) {
  Spec s = AlternatingSpec();
  ValueCache c1, c2;
  Plan first, held;
  ASSERT_TRUE(PlanSync(s, SecretData(), &c1, &first).ok());
  PlanOptions o{"2026-12-06T01:00:00.000Z", true};
  ASSERT_TRUE(PlanSync(s, first.result, &c2, o, &held).ok());
  EXPECT_EQ(held.alternations[0].action, "held");
  EXPECT_EQ(held.alternations[0].active, "shop_a");
  EXPECT_TRUE(held.rotated.empty());
  EXPECT_FALSE(held.switched);
  EXPECT_TRUE(held.result.data == first.result.data);
}

TEST(PlanTest, AlternatingReplanAfterAConflictStaysConsistent) {
  // Another sync switched to shop_b between our read and our write: the
  // re-plan on its result switches on from there, never mixing the two.
  Spec s = AlternatingSpec();
  ValueCache init;
  Plan first;
  ASSERT_TRUE(PlanSync(s, SecretData(), &init, &first).ok());
  ValueCache ours, theirs;
  Plan mine, other, again;
  ASSERT_TRUE(PlanSync(s, first.result, &ours, &mine).ok());
  ASSERT_TRUE(PlanSync(s, first.result, &theirs, &other).ok());
  ASSERT_TRUE(PlanSync(s, other.result, &ours, &again).ok());
  EXPECT_EQ(again.alternations[0].active, "shop_a");
  ExpectConsistent(again.result);
  EXPECT_TRUE(again.result.data.at("DB_PASSWORD_B") == other.result.data.at("DB_PASSWORD_B"));
}

}  // namespace
}  // namespace initkit::secrets
