// --redis-flush-prefix against a real redis-server (and Sentinel).
#include <gtest/gtest.h>

#include <memory>

#include "common/redis.h"
#include "tests/fakes/mariadb_server.h"
#include "tests/fakes/redis_server.h"
#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

using std::chrono::seconds;

class RedisFlushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    db_ = MariaDbServer::Shared(&err);
    ASSERT_NE(db_, nullptr) << err;
    dbname_ = std::string("r_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_TRUE(db_->CreateDatabase(dbname_, &err)) << err;
  }
  std::unique_ptr<redis::Client> Connect(int port, const std::string& password, int database = 0) {
    redis::Url url;
    url.port = port;
    url.password = password;
    url.database = database;
    std::unique_ptr<redis::Client> c;
    Status st = redis::Client::Connect(url, seconds(10), &c);
    EXPECT_TRUE(st.ok()) << st.message();
    return c;
  }
  // MSET `count` keys named prefix + i.
  void Fill(redis::Client* c, const std::string& prefix, int count) {
    std::vector<std::string> cmd = {"MSET"};
    for (int i = 0; i < count; ++i) {
      cmd.push_back(prefix + std::to_string(i));
      cmd.push_back("v");
    }
    redis::Reply r;
    ASSERT_TRUE(c->Command(cmd, &r).ok());
  }
  long long Integer(redis::Client* c, const std::vector<std::string>& cmd) {
    redis::Reply r;
    EXPECT_TRUE(c->Command(cmd, &r).ok());
    return r.integer;
  }
  std::vector<std::string> Flags(std::vector<std::string> extra) {
    std::vector<std::string> f = db_->MigrateFlags(dbname_);
    f.insert(f.end(), {"--log-format", "json", "--migrate-cmd", "true"});
    f.insert(f.end(), extra.begin(), extra.end());
    return f;
  }

  MariaDbServer* db_ = nullptr;
  std::string dbname_;
};

TEST_F(RedisFlushTest, DeletesExactlyThePrefixedKeys) {
  const std::string pw = "Redis-Pw-31f0";
  RedisServer server;
  std::string err;
  ASSERT_TRUE(server.Start(&err, pw)) << err;
  auto c = Connect(server.port(), pw);
  ASSERT_NE(c, nullptr);
  Fill(c.get(), "shop1:cache:", 5000);
  Fill(c.get(), "shop1:cache:nested:", 300);
  Fill(c.get(), "shop1:session:", 400);
  Fill(c.get(), "shop2:cache:", 400);
  Fill(c.get(), "shop1:cachex", 50);  // shares the text but not the ':' boundary
  Fill(c.get(), "shop1:cach*", 50);   // glob characters in a key are not a pattern
  ASSERT_EQ(Integer(c.get(), {"DBSIZE"}), 6200);

  auto r = RunBinary(
      "initkit-migrate",
      Flags({"--redis-url",
             "redis://:" + pw + "@127.0.0.1:" + std::to_string(server.port()) + "/0?prefix=shop1:",
             "--redis-flush-prefix", "cache:"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Integer(c.get(), {"DBSIZE"}), 900);
  EXPECT_EQ(Integer(c.get(), {"EXISTS", "shop1:session:0", "shop2:cache:0", "shop1:cachex0",
                              "shop1:cach*0"}),
            4);
  EXPECT_EQ(Integer(c.get(), {"EXISTS", "shop1:cache:0", "shop1:cache:nested:0"}), 0);
  EXPECT_EQ((r.out + r.err).find(pw), std::string::npos);
  EXPECT_NE(r.err.find("\"keys\":5300"), std::string::npos) << r.err;
}

TEST_F(RedisFlushTest, TcpUrlSelectsTheDatabaseAndGlobPrefixIsLiteral) {
  RedisServer server;
  std::string err;
  ASSERT_TRUE(server.Start(&err)) << err;
  auto db0 = Connect(server.port(), "", 0);
  auto db2 = Connect(server.port(), "", 2);
  ASSERT_TRUE(db0 && db2);
  Fill(db0.get(), "a*:", 100);
  Fill(db2.get(), "a*:", 100);
  Fill(db2.get(), "ab:", 100);
  auto r = RunBinary(
      "initkit-migrate",
      Flags({"--redis-url", "tcp://127.0.0.1:" + std::to_string(server.port()) + "?database=2",
             "--redis-flush-prefix", "a*:"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Integer(db2.get(), {"DBSIZE"}), 100);  // only ab:* left
  EXPECT_EQ(Integer(db0.get(), {"DBSIZE"}), 100);  // other database untouched
}

TEST_F(RedisFlushTest, SentinelFindsTheMaster) {
  RedisServer master, sentinel;
  std::string err;
  ASSERT_TRUE(master.Start(&err)) << err;
  ASSERT_TRUE(sentinel.StartSentinel(&err, "mymaster", master.port())) << err;
  auto c = Connect(master.port(), "");
  ASSERT_NE(c, nullptr);
  Fill(c.get(), "app:views:", 200);
  Fill(c.get(), "app:keep:", 10);
  auto r = RunBinary(
      "initkit-migrate",
      Flags({"--redis-url",
             "sentinel://127.0.0.1:" + std::to_string(sentinel.port()) + "/mymaster?prefix=app:",
             "--redis-flush-prefix", "views:"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Integer(c.get(), {"DBSIZE"}), 10);
}

TEST_F(RedisFlushTest, UnreachableRedisIsNotReady) {
  auto r = RunBinary("initkit-migrate",
                     Flags({"--redis-url", "tcp://127.0.0.1:" + std::to_string(FreePort()),
                            "--redis-flush-prefix", "x:", "--wait-timeout", "1s"}));
  EXPECT_EQ(r.exit_code, 124) << r.err;
}

}  // namespace
}  // namespace initkit::testing
