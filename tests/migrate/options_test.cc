// Unit tests: Redis URL parsing, identifier validation, lock names, error
// classification, and flag validation of initkit-migrate.
#include <gtest/gtest.h>

#include "common/config.h"
#include "common/db.h"
#include "common/log.h"
#include "common/redis.h"
#include "tools/migrate/migrate.h"
#include "tools/migrate/options.h"

namespace initkit {
namespace {

using redis::ParseUrl;
using redis::Url;

TEST(RedisUrl, TcpWithPrefixAndDatabase) {
  Url u;
  ASSERT_TRUE(ParseUrl("tcp://redis-cache:6380?prefix=shop1:&database=3", &u).ok());
  EXPECT_EQ(u.kind, Url::Kind::kTcp);
  EXPECT_EQ(u.host, "redis-cache");
  EXPECT_EQ(u.port, 6380);
  EXPECT_EQ(u.database, 3);
  EXPECT_EQ(u.prefix, "shop1:");
  EXPECT_TRUE(u.password.empty());
}

TEST(RedisUrl, TcpDefaultsAndIgnoredClientParameters) {
  Url u;
  ASSERT_TRUE(ParseUrl("tcp://redis-session?timeout=2.5&persistent=1&weight=1", &u).ok());
  EXPECT_EQ(u.port, 6379);
  EXPECT_EQ(u.database, 0);
  EXPECT_EQ(u.prefix, "");
}

TEST(RedisUrl, RedisWithPasswordAndDb) {
  Url u;
  ASSERT_TRUE(ParseUrl("redis://:p%40ss@10.0.0.5:6379/2", &u).ok());
  EXPECT_EQ(u.host, "10.0.0.5");
  EXPECT_EQ(u.password, "p@ss");
  EXPECT_EQ(u.username, "");
  EXPECT_EQ(u.database, 2);
  EXPECT_EQ(u.Redacted().find("p@ss"), std::string::npos);
  EXPECT_NE(u.Redacted().find("***"), std::string::npos);
}

TEST(RedisUrl, RedisWithAclUserAndIpv6) {
  Url u;
  ASSERT_TRUE(ParseUrl("redis://app:secret@[::1]:7000/0?prefix=x", &u).ok());
  EXPECT_EQ(u.username, "app");
  EXPECT_EQ(u.password, "secret");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 7000);
  EXPECT_EQ(u.prefix, "x");
}

TEST(RedisUrl, SentinelList) {
  Url u;
  ASSERT_TRUE(
      ParseUrl("sentinel://:mpw@s1:26379,s2,[::1]:26380/mymaster?database=1&prefix=c:", &u).ok());
  EXPECT_EQ(u.kind, Url::Kind::kSentinel);
  ASSERT_EQ(u.sentinels.size(), 3u);
  EXPECT_EQ(u.sentinels[0], std::make_pair(std::string("s1"), 26379));
  EXPECT_EQ(u.sentinels[1], std::make_pair(std::string("s2"), 26379));
  EXPECT_EQ(u.sentinels[2], std::make_pair(std::string("::1"), 26380));
  EXPECT_EQ(u.master_name, "mymaster");
  EXPECT_EQ(u.password, "mpw");
  EXPECT_EQ(u.database, 1);
  EXPECT_EQ(u.prefix, "c:");
}

TEST(RedisUrl, Unix) {
  Url u;
  ASSERT_TRUE(ParseUrl("unix:///run/redis.sock?database=4", &u).ok());
  EXPECT_EQ(u.kind, Url::Kind::kUnix);
  EXPECT_EQ(u.socket_path, "/run/redis.sock");
  EXPECT_EQ(u.database, 4);
}

TEST(RedisUrl, ErrorsAreUsageAndHideThePassword) {
  const char* bad[] = {"redis-cache:6379",       "http://h:1",          "tcp://h:notaport",
                       "tcp://h:70000",          "redis://:pw@h:1/abc", "sentinel://h:26379",
                       "redis://:hunter2@h:x/0", "tcp://h?database=x",  "unix://relative",
                       "redis://:a%zz@h/0"};
  for (const char* text : bad) {
    Url u;
    Status st = ParseUrl(text, &u);
    EXPECT_EQ(st.kind(), Status::Kind::kUsage) << text;
    EXPECT_EQ(st.message().find("hunter2"), std::string::npos) << st.message();
  }
}

TEST(RedisUrl, MatchPatternEscapesGlobs) {
  EXPECT_EQ(redis::MatchPatternForPrefix("shop:cache:"), "shop:cache:*");
  EXPECT_EQ(redis::MatchPatternForPrefix("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\*");
}

TEST(Identifier, AcceptsPlainNames) {
  std::string q;
  ASSERT_TRUE(db::QuoteIdentifier("registry", "--registry-table", &q).ok());
  EXPECT_EQ(q, "`registry`");
  EXPECT_TRUE(db::QuoteIdentifier("_x9", "t", &q).ok());
  EXPECT_TRUE(db::QuoteIdentifier(std::string(64, 'a'), "t", &q).ok());
}

TEST(Identifier, RejectsAnythingElse) {
  std::string q;
  for (std::string bad : {std::string(""), std::string("1abc"), std::string("a b"),
                          std::string("reg`istry"), std::string("registry; DROP TABLE x"),
                          std::string("db.table"), std::string(65, 'a'), std::string("ä")}) {
    Status st = db::QuoteIdentifier(bad, "--registry-table", &q);
    EXPECT_EQ(st.kind(), Status::Kind::kUsage) << bad;
    EXPECT_NE(st.message().find("--registry-table"), std::string::npos);
  }
}

TEST(ErrorClass, TransientVersusPermanent) {
  EXPECT_TRUE(db::IsTransientError(2002));  // connection refused
  EXPECT_TRUE(db::IsTransientError(2003));
  EXPECT_TRUE(db::IsTransientError(2006));   // server gone
  EXPECT_TRUE(db::IsTransientError(2013));   // lost during query
  EXPECT_TRUE(db::IsTransientError(1040));   // too many connections
  EXPECT_TRUE(db::IsTransientError(1205));   // lock wait timeout
  EXPECT_TRUE(db::IsTransientError(1213));   // deadlock
  EXPECT_FALSE(db::IsTransientError(1045));  // access denied
  EXPECT_FALSE(db::IsTransientError(1049));  // unknown database
  EXPECT_FALSE(db::IsTransientError(1064));  // syntax
  EXPECT_FALSE(db::IsTransientError(1146));  // no such table
}

TEST(LockName, DefaultFitsAndDiffers) {
  EXPECT_EQ(migrate::DefaultLockName("shop"), "initkit-migrate:shop");
  std::string a = migrate::DefaultLockName(std::string(60, 'a'));
  std::string b = migrate::DefaultLockName(std::string(60, 'a') + "b");
  EXPECT_LE(a.size(), 64u);
  EXPECT_LE(b.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("initkit-migrate:", 0), 0u);
  // Pods of two releases must take the same lock: the name never changes.
  EXPECT_EQ(a, "initkit-migrate:11ee391211c6256460b6ed375957fadd8061cafbb31daf96");
}

Status Parse(const std::vector<std::string>& args, migrate::Options* o,
             const Environment& env = {}) {
  std::vector<std::string> full = {"initkit-migrate"};
  full.insert(full.end(), args.begin(), args.end());
  Config c;
  std::string early;
  INITKIT_RETURN_IF_ERROR(ParseConfig(migrate::Spec(), full, env, &c, &early));
  return migrate::OptionsFromConfig(c, o);
}

TEST(MigrateOptions, DefaultsFollowTheContract) {
  migrate::Options o;
  ASSERT_TRUE(
      Parse({"--migrate-cmd", "php bin/migrator.php migrate", "--db-name", "shop"}, &o).ok());
  EXPECT_EQ(o.migrate_cmd, (std::vector<std::string>{"php", "bin/migrator.php", "migrate"}));
  EXPECT_EQ(o.db.port, 3306);
  EXPECT_EQ(o.wait_timeout, std::chrono::seconds(60));
  EXPECT_EQ(o.lock_timeout, std::chrono::minutes(10));
  EXPECT_EQ(o.lock_name, "initkit-migrate:shop");
  EXPECT_EQ(o.registry.table, "registry");
  EXPECT_EQ(o.registry.key, "SEEDER.INITIAL_SEED_RAN");
  EXPECT_TRUE(o.mark_seeded);
  EXPECT_TRUE(o.seed_cmd.empty());
}

TEST(MigrateOptions, EnvironmentAndQuotedCommands) {
  migrate::Options o;
  ASSERT_TRUE(Parse({}, &o,
                    {{"INITKIT_DB_NAME", "shop"},
                     {"INITKIT_MIGRATE_CMD", "php artisan migrate --force"},
                     {"INITKIT_SEED_CMD", "php 'bin/migrator.php' seed:run -s \"Initial Seed\""},
                     {"INITKIT_MARK_SEEDED", "no"}})
                  .ok());
  EXPECT_EQ(o.seed_cmd.back(), "Initial Seed");
  EXPECT_FALSE(o.mark_seeded);
}

TEST(MigrateOptions, UsageErrors) {
  migrate::Options o;
  // Each case has --db-name, so it fails for the reason it tests.
  auto parse = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--db-name", "shop"});
    return Parse(args, &o).kind();
  };
  EXPECT_EQ(parse({}), Status::Kind::kUsage);  // no --migrate-cmd
  EXPECT_EQ(parse({"--migrate-cmd", "php 'unterminated"}), Status::Kind::kUsage);
  EXPECT_EQ(parse({"--migrate-cmd", "true", "--registry-table", "x;drop table y"}),
            Status::Kind::kUsage);
  EXPECT_EQ(parse({"--migrate-cmd", "true", "--registry-key-column", "a`b"}), Status::Kind::kUsage);
  EXPECT_EQ(parse({"--migrate-cmd", "true", "--lock-name", std::string(65, 'x')}),
            Status::Kind::kUsage);
  EXPECT_EQ(parse({"--migrate-cmd", "true", "--redis-flush-prefix", "c:"}), Status::Kind::kUsage);
  EXPECT_EQ(
      parse({"--migrate-cmd", "true", "--redis-url", "tcp://h:1", "--redis-flush-prefix", ""}),
      Status::Kind::kUsage);
  EXPECT_EQ(parse({"--migrate-cmd", "true", "--redis-url", "ftp://h"}), Status::Kind::kUsage);
  EXPECT_EQ(parse({"--migrate-cmd", "true", "--mark-seeded", "maybe"}), Status::Kind::kUsage);
  // --status needs no command.
  EXPECT_EQ(parse({"--status"}), Status::Kind::kOk);
}

// GET_LOCK names are server-wide: a lock named after no database would make
// every app on a shared server wait for the others.
TEST(MigrateOptions, TheLockNeedsADatabaseNameOrAnExplicitName) {
  migrate::Options o;
  Status st = Parse({"--migrate-cmd", "true"}, &o);
  EXPECT_EQ(st.kind(), Status::Kind::kUsage);
  EXPECT_NE(st.message().find("--db-name"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("--lock-name"), std::string::npos) << st.message();
  EXPECT_EQ(Parse({"--status"}, &o).kind(), Status::Kind::kUsage);
  ASSERT_TRUE(Parse({"--migrate-cmd", "true", "--lock-name", "app-migrations"}, &o).ok());
  EXPECT_EQ(o.lock_name, "app-migrations");
  ASSERT_TRUE(Parse({"--migrate-cmd", "true"}, &o, {{"INITKIT_DB_NAME", "billing"}}).ok());
  EXPECT_EQ(o.lock_name, "initkit-migrate:billing");
}

TEST(MigrateOptions, ParsedOnceIntoTypedValues) {
  migrate::Options o;
  ASSERT_TRUE(Parse({"--migrate-cmd", "true", "--db-name", "shop", "--registry-table", "reg_2",
                     "--redis-url", "tcp://cache:6380?prefix=shop:&database=2",
                     "--redis-flush-prefix", "views:"},
                    &o)
                  .ok());
  EXPECT_EQ(o.registry.table, "reg_2");
  EXPECT_EQ(o.registry.quoted_table, "`reg_2`");
  EXPECT_EQ(o.registry.quoted_key_column, "`name`");
  ASSERT_TRUE(o.redis.has_value());
  EXPECT_EQ(o.redis->host, "cache");
  EXPECT_EQ(o.redis->port, 6380);
  EXPECT_EQ(o.redis->database, 2);
  EXPECT_EQ(o.redis->prefix, "shop:");
  ASSERT_TRUE(Parse({"--migrate-cmd", "true", "--db-name", "shop"}, &o).ok());
  EXPECT_FALSE(o.redis.has_value());
}

TEST(MigrateOptions, DryRunPlanHasNoPassword) {
  migrate::Options o;
  ASSERT_TRUE(Parse({"--migrate-cmd", "true", "--db-name", "shop", "--seed-cmd", "php seed",
                     "--db-password", "Plan-Secret-42", "--redis-url",
                     "redis://:Redis-Secret-7@h:1/0?prefix=a:", "--redis-flush-prefix", "b:"},
                    &o)
                  .ok());
  std::string plan = migrate::DryRunPlan(o);
  EXPECT_NE(plan.find("\"php\",\"seed\""), std::string::npos) << plan;
  EXPECT_NE(plan.find("'a:b:'"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("Plan-Secret-42"), std::string::npos);
  EXPECT_EQ(plan.find("Redis-Secret-7"), std::string::npos);
  log::ClearSecretsForTest();
}

}  // namespace
}  // namespace initkit
