// 16 initkit-migrate runs started at once against one MariaDB (a rollout
// of 16 pods): every run exits 0, the migrations never overlap, the seed
// runs once and is recorded once. The figures are printed for
// docs/RELIABILITY.md; nothing here asserts on time.
#include <iostream>

#include "common/redis.h"
#include "tests/fakes/redis_server.h"
#include "tests/migrate-faults/fault_fixture.h"

namespace initkit::testing {
namespace {

constexpr int kRuns = 16;

// The "waited" field of the run's "lock taken" record, e.g. "1.2s".
std::string Waited(const std::string& err) {
  auto at = err.find("\"msg\":\"lock taken\"");
  if (at == std::string::npos) return "?";
  auto line_end = err.find('\n', at);
  auto line_start = err.rfind('\n', at);
  std::string line = err.substr(line_start == std::string::npos ? 0 : line_start,
                                line_end == std::string::npos ? std::string::npos : line_end);
  auto w = line.find("\"waited\":\"");
  if (w == std::string::npos) return "?";
  w += 10;
  return line.substr(w, line.find('"', w) - w);
}

class LoadTest : public MigrateFaultTest {
 protected:
  // Starts kRuns runs with `extra` flags, waits for all, checks each exit
  // code and prints the figures.
  void RunConcurrently(const std::vector<std::string>& extra, const std::string& label) {
    std::vector<std::string> args =
        Flags({"--migrate-cmd", Migration(), "--seed-cmd", Seed(), "--lock-timeout", "600s"});
    args.insert(args.end(), extra.begin(), extra.end());
    auto start = std::chrono::steady_clock::now();
    std::vector<std::unique_ptr<RunningBinary>> runs;
    for (int i = 0; i < kRuns; ++i) {
      runs.push_back(std::make_unique<RunningBinary>(BinPath("initkit-migrate"), args));
    }
    int failures = 0;
    std::string waits;
    for (auto& run : runs) {
      RunOutput out = run->Wait(seconds(600));
      EXPECT_EQ(out.exit_code, 0) << out.err;
      if (out.exit_code != 0) ++failures;
      waits += " " + Waited(out.err);
    }
    auto wall = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    std::cout << "[ figures  ] " << label << ": " << kRuns << " runs, wall " << wall.count()
              << " ms, non-zero exits " << failures << ", lock waits:" << waits << std::endl;
  }
};

TEST_F(LoadTest, SixteenConcurrentRunsSerialiseAndSeedOnce) {
  RunConcurrently({}, "migrate+seed");
  ExpectNoOverlap(kRuns);
  EXPECT_EQ(SeedsDone(), 1u);
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM `" + db_ + "`.seeds"), "1");
  EXPECT_EQ(RegistryRows(), "1");
  EXPECT_TRUE(LockFree());
}

TEST_F(LoadTest, SixteenConcurrentRunsWithRedisFlush) {
  RedisServer redis;
  std::string err;
  ASSERT_TRUE(redis.Start(&err)) << err;
  redis::Url url;
  url.port = redis.port();
  std::unique_ptr<redis::Client> c;
  ASSERT_TRUE(redis::Client::Connect(url, seconds(10), &c).ok());
  std::vector<std::string> mset = {"MSET"};
  for (int i = 0; i < 2000; ++i) mset.insert(mset.end(), {"app:cache:" + std::to_string(i), "v"});
  for (int i = 0; i < 100; ++i) mset.insert(mset.end(), {"app:keep:" + std::to_string(i), "v"});
  redis::Reply reply;
  ASSERT_TRUE(c->Command(mset, &reply).ok());

  RunConcurrently(
      {"--redis-url", "tcp://127.0.0.1:" + std::to_string(redis.port()) + "?prefix=app:",
       "--redis-flush-prefix", "cache:"},
      "migrate+seed+redis-flush");
  ExpectNoOverlap(kRuns);
  EXPECT_EQ(SeedsDone(), 1u);
  EXPECT_EQ(RegistryRows(), "1");
  ASSERT_TRUE(c->Command({"DBSIZE"}, &reply).ok());
  EXPECT_EQ(reply.integer, 100);
}

}  // namespace
}  // namespace initkit::testing
