#include "tools/secrets/store.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/fakes/test_util.h"

namespace initkit::secrets {
namespace {

using testing::TempDir;

mode_t ModeOf(const std::string& p) {
  struct stat sb;
  EXPECT_EQ(stat(p.c_str(), &sb), 0) << p;
  return sb.st_mode & 07777;
}

Status Put(SecretStore* s, const std::string& name, const SecretData& want) {
  int conflicts = 0;
  return s->Modify(
      name,
      [&](const SecretData&, SecretData* d, bool* w) {
        *d = want;
        *w = true;
        return Status::Ok();
      },
      &conflicts);
}

TEST(DirStoreTest, WritesOneFilePerKeyWithMode0600) {
  TempDir t;
  auto store = NewDirStore(t.Sub("secrets"), "app");
  SecretData d;
  d.data = {{"A", "alpha"}, {"oauth-private.key", "-----BEGIN\nx\n"}};
  d.annotations = {{"ecommercen.com/has-been-initialized", "true"}};
  ASSERT_TRUE(Put(store.get(), "app", d).ok());
  EXPECT_EQ(testing::ReadFile(t.Sub("secrets/A")), "alpha");
  EXPECT_EQ(ModeOf(t.Sub("secrets/A")), 0600u);
  EXPECT_EQ(ModeOf(t.Sub("secrets/oauth-private.key")), 0600u);
  EXPECT_EQ(ModeOf(t.Sub("secrets/.initkit-state.json")), 0600u);
  EXPECT_EQ(ModeOf(t.Sub("secrets")), 0700u);
  SecretData back;
  ASSERT_TRUE(store->Read("app", &back).ok());
  EXPECT_TRUE(back.exists);
  EXPECT_EQ(back.data, d.data);
  EXPECT_EQ(back.annotations, d.annotations);
}

TEST(DirStoreTest, OtherSecretsLiveInASubdirectoryAndDeleteIsIdempotent) {
  TempDir t;
  auto store = NewDirStore(t.path(), "app");
  SecretData d;
  d.data = {{"APP_ADMIN_SSO_CLIENT_SECRET", "s3cr3t-value"}};
  ASSERT_TRUE(Put(store.get(), "app-keycloak", d).ok());
  EXPECT_EQ(testing::ReadFile(t.Sub("app-keycloak/APP_ADMIN_SSO_CLIENT_SECRET")), "s3cr3t-value");
  SecretData main;
  ASSERT_TRUE(store->Read("app", &main).ok());
  EXPECT_TRUE(main.data.empty());  // the subdirectory is not a key of the app Secret
  bool existed = false;
  ASSERT_TRUE(store->Delete("app-keycloak", &existed).ok());
  EXPECT_TRUE(existed);
  ASSERT_TRUE(store->Delete("app-keycloak", &existed).ok());
  EXPECT_FALSE(existed);
  struct stat sb;
  EXPECT_NE(stat(t.Sub("app-keycloak").c_str(), &sb), 0);
}

TEST(DirStoreTest, MissingDirectoryReadsAsAbsent) {
  TempDir t;
  auto store = NewDirStore(t.Sub("nope"), "app");
  SecretData d;
  ASSERT_TRUE(store->Read("app", &d).ok());
  EXPECT_FALSE(d.exists);
}

TEST(EnvFileTest, RoundTripsMultiLineAndQuotedValues) {
  SecretData d;
  d.exists = true;
  d.data = {{"PLAIN", "abc+/=09"},
            {"PEM", "-----BEGIN KEY-----\nAAA\n-----END KEY-----\n"},
            {"Q", "say \"hi\" \\ now"}};
  d.annotations = {{"ecommercen.com/has-been-initialized", "true"}};
  std::string text = FormatEnvFile(d);
  EXPECT_NE(text.find("PLAIN=abc+/=09\n"), std::string::npos);
  SecretData back;
  ASSERT_TRUE(ParseEnvFile(text, "x.env", &back).ok());
  EXPECT_EQ(back.data, d.data);
  EXPECT_EQ(back.annotations, d.annotations);
}

TEST(EnvFileTest, StoreWritesMode0600) {
  TempDir t;
  auto store = NewEnvFileStore(t.Sub("app.env"), "app");
  SecretData d;
  d.data = {{"A", "1"}};
  ASSERT_TRUE(Put(store.get(), "app", d).ok());
  EXPECT_EQ(ModeOf(t.Sub("app.env")), 0600u);
  ASSERT_TRUE(Put(store.get(), "app-keycloak", d).ok());
  EXPECT_EQ(ModeOf(t.Sub("app-keycloak.env")), 0600u);
  SecretData back;
  ASSERT_TRUE(store->Read("app", &back).ok());
  EXPECT_EQ(back.data.at("A"), "1");
}

TEST(EnvFileTest, MalformedLineNamesTheFileAndLine) {
  SecretData d;
  Status st = ParseEnvFile("A=1\nnot a pair\n", "x.env", &d);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("x.env: line 2"), std::string::npos);
}

}  // namespace
}  // namespace initkit::secrets
