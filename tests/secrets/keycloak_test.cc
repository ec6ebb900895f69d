#include "tools/secrets/keycloak.h"

#include <gtest/gtest.h>

#include "tests/fakes/keycloak_fake.h"
#include "tests/fakes/test_util.h"

namespace initkit::secrets {
namespace {

using nlohmann::json;
using testing::KeycloakFake;
using testing::TempDir;

class KeycloakTest : public ::testing::Test {
 protected:
  explicit KeycloakTest(KeycloakFake::Options o = {}) : fake_(o) {
    spec_.enabled = true;
    spec_.realm = "shop";
    spec_.client_id = "shop-admin";
    spec_.redirect_uris = {"https://shop.example/admin/*"};
    spec_.root_url = "https://shop.example";
    spec_.secret = "app-keycloak";
    store_ = NewDirStore(dir_.path(), "app");
  }
  KeycloakConnection Conn() {
    KeycloakConnection c;
    c.url = fake_.base_url();
    c.admin_client_id = fake_.options().admin_client_id;
    c.admin_client_secret = fake_.options().admin_client_secret;
    c.realm = "shop";
    return c;
  }
  std::string StoredSecret() {
    SecretData d;
    EXPECT_TRUE(store_->Read("app-keycloak", &d).ok());
    return d.data.count(kSsoClientSecretKey) ? d.data[kSsoClientSecretKey] : "";
  }
  KeycloakFake fake_;
  TempDir dir_;
  KeycloakSpec spec_;
  std::unique_ptr<SecretStore> store_;
  Deadline deadline_ = Deadline::After(std::chrono::seconds(60));
};

TEST_F(KeycloakTest, CreatesWithOurSecretThenChangesNothing) {
  KeycloakClient kc(Conn(), deadline_);
  KeycloakResult r;
  Status st = SyncKeycloak(spec_, store_.get(), &kc, false, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(r.client, "created");
  EXPECT_EQ(r.secret, "generated");
  json rep;
  ASSERT_TRUE(fake_.FindClient("shop-admin", &rep));
  EXPECT_EQ(rep["publicClient"], false);
  EXPECT_EQ(rep["redirectUris"], json({"https://shop.example/admin/*"}));
  EXPECT_EQ(rep["rootUrl"], "https://shop.example");
  std::string stored = StoredSecret();
  EXPECT_EQ(stored.size(), 32u);
  EXPECT_EQ(fake_.ClientSecret("shop-admin"), stored);

  KeycloakClient kc2(Conn(), deadline_);
  ASSERT_TRUE(SyncKeycloak(spec_, store_.get(), &kc2, false, &r).ok());
  EXPECT_EQ(r.client, "unchanged");
  EXPECT_EQ(r.secret, "kept");
  EXPECT_EQ(fake_.creates(), 1);
  EXPECT_EQ(fake_.updates(), 0);
}

TEST_F(KeycloakTest, StoredSecretWinsOverKeycloak) {
  KeycloakClient kc(Conn(), deadline_);
  KeycloakResult r;
  ASSERT_TRUE(SyncKeycloak(spec_, store_.get(), &kc, false, &r).ok());
  std::string stored = StoredSecret();
  fake_.SetClientSecret("shop-admin", "changed-in-the-console-1234");
  ASSERT_TRUE(SyncKeycloak(spec_, store_.get(), &kc, false, &r).ok());
  EXPECT_EQ(r.secret, "corrected");
  EXPECT_EQ(fake_.ClientSecret("shop-admin"), stored);
  EXPECT_EQ(StoredSecret(), stored);
}

TEST_F(KeycloakTest, SettingsDriftIsUpdated) {
  KeycloakClient kc(Conn(), deadline_);
  KeycloakResult r;
  ASSERT_TRUE(SyncKeycloak(spec_, store_.get(), &kc, false, &r).ok());
  spec_.redirect_uris.push_back("https://shop.example/other/*");
  ASSERT_TRUE(SyncKeycloak(spec_, store_.get(), &kc, false, &r).ok());
  EXPECT_EQ(r.client, "updated");
  json rep;
  ASSERT_TRUE(fake_.FindClient("shop-admin", &rep));
  EXPECT_EQ(rep["redirectUris"].size(), 2u);
}

TEST_F(KeycloakTest, ExpiredTokenIsRefetched) {
  KeycloakClient kc(Conn(), deadline_);
  KeycloakResult r;
  ASSERT_TRUE(SyncKeycloak(spec_, store_.get(), &kc, false, &r).ok());
  fake_.ExpireTokensAfter(1);  // the second admin request of the next sync sees 401
  ASSERT_TRUE(SyncKeycloak(spec_, store_.get(), &kc, false, &r).ok());
  EXPECT_EQ(kc.token_fetches(), 2);
  EXPECT_GE(fake_.unauthorized(), 1);
}

TEST_F(KeycloakTest, WrongAdminSecretIsAClearFailure) {
  KeycloakConnection c = Conn();
  c.admin_client_secret = "wrong-admin-secret-xyz";
  KeycloakClient kc(c, deadline_);
  KeycloakResult r;
  Status st = SyncKeycloak(spec_, store_.get(), &kc, false, &r);
  EXPECT_EQ(st.kind(), Status::Kind::kFailed);
  EXPECT_NE(st.message().find("unauthorized_client"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("wrong-admin-secret-xyz"), std::string::npos);
}

TEST_F(KeycloakTest, TeardownTwiceSucceeds) {
  KeycloakClient kc(Conn(), deadline_);
  KeycloakResult r;
  ASSERT_TRUE(SyncKeycloak(spec_, store_.get(), &kc, false, &r).ok());
  ASSERT_TRUE(TeardownKeycloak(spec_, store_.get(), &kc, false, &r).ok());
  EXPECT_EQ(r.client, "deleted");
  EXPECT_EQ(r.secret, "deleted");
  json rep;
  EXPECT_FALSE(fake_.FindClient("shop-admin", &rep));
  ASSERT_TRUE(TeardownKeycloak(spec_, store_.get(), &kc, false, &r).ok());
  EXPECT_EQ(r.client, "absent");
  EXPECT_EQ(r.secret, "absent");
}

class KeycloakLegacyTest : public KeycloakTest {
 protected:
  static KeycloakFake::Options Legacy() {
    KeycloakFake::Options o;
    o.base_path = "/auth";
    return o;
  }
  KeycloakLegacyTest() : KeycloakTest(Legacy()) {}
};

TEST_F(KeycloakLegacyTest, WorksUnderTheAuthBasePath) {
  KeycloakClient kc(Conn(), deadline_);
  KeycloakResult r;
  ASSERT_TRUE(SyncKeycloak(spec_, store_.get(), &kc, false, &r).ok());
  EXPECT_EQ(r.client, "created");
}

// Keycloak stores redirectUris/webOrigins as sets and answers in hash order;
// a sync that compared lists would write the client on every run.
TEST_F(KeycloakTest, SetsInAnotherOrderAreNoDrift) {
  spec_.redirect_uris = {"https://shop.example/admin/*", "https://shop.example/callback",
                         "https://admin.shop.example/*"};
  spec_.web_origins = {"https://www.shop.example", "http://localhost:8080"};
  for (int i = 0; i < 3; ++i) {
    KeycloakClient kc(Conn(), deadline_);
    KeycloakResult r;
    Status st = SyncKeycloak(spec_, store_.get(), &kc, false, &r);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(r.client, i == 0 ? "created" : "unchanged");
  }
  json rep;
  ASSERT_TRUE(fake_.FindClient("shop-admin", &rep));
  // The test means something only when the fake reorders what it was given.
  EXPECT_NE(rep["redirectUris"], json(spec_.redirect_uris));
  EXPECT_NE(rep["webOrigins"], json(spec_.web_origins));
  EXPECT_EQ(fake_.creates() + fake_.updates(), 1);
}

TEST_F(KeycloakTest, DuplicatesAndOrderDoNotCountButAMissingUriDoes) {
  KeycloakClient kc(Conn(), deadline_);
  KeycloakResult r;
  spec_.redirect_uris = {"https://a.example/*", "https://b.example/*"};
  ASSERT_TRUE(SyncKeycloak(spec_, store_.get(), &kc, false, &r).ok());
  spec_.redirect_uris = {"https://b.example/*", "https://a.example/*", "https://b.example/*"};
  ASSERT_TRUE(SyncKeycloak(spec_, store_.get(), &kc, false, &r).ok());
  EXPECT_EQ(r.client, "unchanged");
  spec_.redirect_uris = {"https://b.example/*"};
  ASSERT_TRUE(SyncKeycloak(spec_, store_.get(), &kc, false, &r).ok());
  EXPECT_EQ(r.client, "updated");
  json rep;
  ASSERT_TRUE(fake_.FindClient("shop-admin", &rep));
  EXPECT_EQ(rep["redirectUris"], json({"https://b.example/*"}));
}

TEST(KeycloakRoleHintTest, NamesTheClientThatHoldsTheRolesByAdminRealm) {
  EXPECT_EQ(RoleHint("master", "shop"),
            "the client \"shop-realm\" of the master realm (admin "
            "realm of --keycloak-admin-client-id)");
  EXPECT_EQ(RoleHint("shop", "shop"), "the client \"realm-management\" of realm \"shop\"");
  EXPECT_EQ(RoleHint("master", "master"), "the client \"realm-management\" of realm \"master\"");
}

class KeycloakQueryOnlyTest : public KeycloakTest {
 protected:
  static KeycloakFake::Options QueryOnly() {
    KeycloakFake::Options o;
    o.query_only = true;
    return o;
  }
  KeycloakQueryOnlyTest() : KeycloakTest(QueryOnly()) {}
  // A client and its dedicated Secret as an earlier sync with full rights left them.
  static constexpr const char* kExistingSecret = "stored-client-secret-0123456789ab";
  void ExistingClient() {
    std::string secret = kExistingSecret;
    testing::RegisterCredential(secret, "client secret");
    fake_.AddClient({{"clientId", "shop-admin"}, {"secret", secret}});
    int conflicts = 0;
    ASSERT_TRUE(
        store_
            ->Modify(
                "app-keycloak",
                [&](const SecretData&, SecretData* want, bool* write) {
                  want->data = {{kSsoClientIdKey, "shop-admin"}, {kSsoClientSecretKey, secret}};
                  *write = true;
                  return Status::Ok();
                },
                &conflicts)
            .ok());
  }
};

// Real Keycloak answers a create of a query-clients-only account with 403
// (requireManage() before the duplicate check), even when the client exists.
TEST_F(KeycloakQueryOnlyTest, SyncFailsNamingTheRoleAndWhereItLives) {
  ExistingClient();
  KeycloakClient kc(Conn(), deadline_);
  KeycloakResult r;
  Status st = SyncKeycloak(spec_, store_.get(), &kc, false, &r);
  EXPECT_EQ(st.kind(), Status::Kind::kFailed);
  EXPECT_NE(st.message().find("HTTP 403"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("manage-clients"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("view-clients"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("\"shop-realm\" of the master realm"), std::string::npos)
      << st.message();
  EXPECT_EQ(fake_.creates(), 0);
}

TEST_F(KeycloakQueryOnlyTest, TeardownKeepsTheSecretAndFailsNamingTheRole) {
  ExistingClient();
  KeycloakClient kc(Conn(), deadline_);
  KeycloakResult r;
  Status st = TeardownKeycloak(spec_, store_.get(), &kc, false, &r);
  EXPECT_EQ(st.kind(), Status::Kind::kFailed);
  EXPECT_NE(st.message().find("view-clients"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("manage-clients"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("\"shop-realm\" of the master realm"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("is kept"), std::string::npos) << st.message();
  EXPECT_TRUE(StoredSecret() == kExistingSecret) << "the dedicated Secret changed";
  json rep;
  EXPECT_TRUE(fake_.FindClient("shop-admin", &rep));
  EXPECT_EQ(fake_.deletes(), 0);
}

// The fake itself: what a query-only account gets for single-client calls.
TEST_F(KeycloakQueryOnlyTest, FakeForbidsWritesAndSingleClientReads) {
  std::string id = fake_.AddClient({{"clientId", "shop-admin"}});
  KeycloakClient kc(Conn(), deadline_);
  std::string secret;
  Status st = kc.GetClientSecret(id, &secret);
  EXPECT_NE(st.message().find("HTTP 403"), std::string::npos) << st.message();
  st = kc.UpdateClient(id, {{"clientId", "shop-admin"}});
  EXPECT_NE(st.message().find("HTTP 403"), std::string::npos) << st.message();
  bool existed = true;
  st = kc.DeleteClient(id, &existed);
  EXPECT_NE(st.message().find("HTTP 403"), std::string::npos) << st.message();
  st = kc.DeleteClient("00000000-0000-4000-8000-000000000000", &existed);
  EXPECT_TRUE(st.ok()) << st.message();  // an unknown id is 404: canList() holds
  EXPECT_FALSE(existed);
  bool visible = true;
  ASSERT_TRUE(kc.AnyClientVisible(&visible).ok());
  EXPECT_FALSE(visible);
}

class KeycloakAdminRealmTest : public KeycloakTest {
 protected:
  static KeycloakFake::Options InRealm() {
    KeycloakFake::Options o;
    o.admin_realm = "shop";
    o.query_only = true;
    return o;
  }
  KeycloakAdminRealmTest() : KeycloakTest(InRealm()) {}
};

TEST_F(KeycloakAdminRealmTest, AnAdminOfTheRealmItselfIsToldRealmManagement) {
  KeycloakConnection c = Conn();
  c.admin_realm = "shop";
  KeycloakClient kc(c, deadline_);
  KeycloakResult r;
  Status st = SyncKeycloak(spec_, store_.get(), &kc, false, &r);
  EXPECT_NE(st.message().find("\"realm-management\" of realm \"shop\""), std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace initkit::secrets
