// --redis-flush-prefix when Redis never answers or goes away mid-run: the
// flush comes after migrating and seeding, so those stay done and recorded;
// the run ends with 124 (a dependency not ready) and a re-run flushes.
#include "common/redis.h"
#include "tests/fakes/redis_server.h"
#include "tests/fakes/tcp_proxy.h"
#include "tests/migrate-faults/fault_fixture.h"

namespace initkit::testing {
namespace {

using RedisFaultTest = MigrateFaultTest;

std::string TcpUrl(int port) { return "tcp://127.0.0.1:" + std::to_string(port) + "?prefix=app:"; }

TEST_F(RedisFaultTest, RedisThatNeverAnswersIs124AfterTheMigration) {
  RedisServer redis;
  TcpProxy proxy;
  std::string err;
  ASSERT_TRUE(redis.Start(&err)) << err;
  ASSERT_TRUE(proxy.Start(redis.port(), &err)) << err;
  proxy.SetStalled(true);
  auto r = RunBinary("initkit-migrate",
                     Flags({"--migrate-cmd", Migration(), "--seed-cmd", Seed(), "--redis-url",
                            TcpUrl(proxy.port()), "--redis-flush-prefix",
                            "cache:", "--wait-timeout", "3s", "--redis-timeout", "1s"}),
                     {}, seconds(120));
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find("redis"), std::string::npos) << r.err;
  EXPECT_GE(proxy.accepted(), 1);
  ExpectNoOverlap(1);
  EXPECT_EQ(RegistryRows(), "1");
  EXPECT_TRUE(LockFree());
}

TEST_F(RedisFaultTest, RedisGoneMidRunIs124AndARerunFlushes) {
  RedisServer redis;
  std::string err;
  ASSERT_TRUE(redis.Start(&err)) << err;
  const int port = redis.port();
  std::string fifo = Fifo("hold"), pidfile = Path("a.pid");
  RunningBinary a(
      BinPath("initkit-migrate"),
      Flags({"--migrate-cmd", BlockingMigration(fifo, pidfile), "--seed-cmd", Seed(), "--redis-url",
             TcpUrl(port), "--redis-flush-prefix", "cache:", "--wait-timeout", "2s"}));
  ASSERT_TRUE(
      WaitUntil([&] { return ReadFile(pidfile).find('\n') != std::string::npos; }, seconds(60)))
      << a.Wait(seconds(5)).err;
  redis.Stop();
  ASSERT_TRUE(ReleaseFifo(fifo, seconds(60)));
  RunOutput out = a.Wait(seconds(120));
  EXPECT_EQ(out.exit_code, 124) << out.err;
  EXPECT_NE(out.err.find("redis"), std::string::npos) << out.err;
  EXPECT_EQ(SeedsDone(), 1u);
  EXPECT_EQ(RegistryRows(), "1");
  EXPECT_TRUE(LockFree());

  // Redis is back: the re-run skips the seed and flushes.
  RedisServer back;
  ASSERT_TRUE(back.Start(&err)) << err;
  redis::Url url;
  url.port = back.port();
  std::unique_ptr<redis::Client> c;
  ASSERT_TRUE(redis::Client::Connect(url, seconds(10), &c).ok());
  redis::Reply reply;
  ASSERT_TRUE(c->Command({"MSET", "app:cache:1", "v", "app:keep:1", "v"}, &reply).ok());
  auto r = RunBinary("initkit-migrate",
                     Flags({"--migrate-cmd", Migration(), "--seed-cmd", Seed(), "--redis-url",
                            TcpUrl(back.port()), "--redis-flush-prefix", "cache:"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(SeedsDone(), 1u);
  ASSERT_TRUE(c->Command({"DBSIZE"}, &reply).ok());
  EXPECT_EQ(reply.integer, 1);
}

}  // namespace
}  // namespace initkit::testing
