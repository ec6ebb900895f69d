// SIGTERM at the steps tests/migrate does not cover: between connection
// attempts, during the seed, while the seed is being recorded. Each is exit
// 143 (128+15) with the lock freed, and a re-run completes.
#include <signal.h>

#include "tests/migrate-faults/fault_fixture.h"

namespace initkit::testing {
namespace {

using SigtermTest = MigrateFaultTest;

TEST_F(SigtermTest, WhileWaitingForTheDatabaseIs143) {
  RunningBinary a(BinPath("initkit-migrate"),
                  Flags({"--migrate-cmd", Migration(), "--wait-timeout", "600s"}, FreePort()));
  ASSERT_TRUE(a.WaitForStderr("waiting for database", seconds(60)));
  a.Signal(SIGTERM);
  RunOutput out = a.Wait(seconds(60));
  EXPECT_EQ(out.exit_code, 128 + SIGTERM) << out.err;
  EXPECT_FALSE(Exists(Path("events")));
}

TEST_F(SigtermTest, DuringTheSeedIs143ReachesTheSeedAndLeavesNoRow) {
  std::string fifo = Fifo("seed"), pidfile = Path("seed.pid");
  RunningBinary a(BinPath("initkit-migrate"),
                  Flags({"--migrate-cmd", Migration(), "--seed-cmd", BlockingSeed(fifo, pidfile)}));
  ASSERT_TRUE(
      WaitUntil([&] { return ReadFile(pidfile).find('\n') != std::string::npos; }, seconds(60)))
      << a.Wait(seconds(5)).err;
  pid_t seed = static_cast<pid_t>(std::stol(ReadFile(pidfile)));
  a.Signal(SIGTERM);
  RunOutput out = a.Wait(seconds(60));
  EXPECT_EQ(out.exit_code, 128 + SIGTERM) << out.err;
  EXPECT_TRUE(WaitForPidGone(seed, seconds(30)));  // the seed got the signal
  EXPECT_EQ(RegistryRows(), "0");
  EXPECT_TRUE(LockFree());
  auto r =
      RunBinary("initkit-migrate", Flags({"--migrate-cmd", Migration(), "--seed-cmd", Seed()}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(SeedsDone(), 1u);
  EXPECT_EQ(RegistryRows(), "1");
}

TEST_F(SigtermTest, WhileRecordingTheSeedIs143) {
  std::string fifo = Fifo("seed"), pidfile = Path("seed.pid");
  // A generous io timeout: SIGTERM must not wait for it.
  RunningBinary a(BinPath("initkit-migrate"),
                  Flags({"--migrate-cmd", Migration(), "--seed-cmd", BlockingSeed(fifo, pidfile),
                         "--db-io-timeout", "600s"}));
  ASSERT_TRUE(
      WaitUntil([&] { return ReadFile(pidfile).find('\n') != std::string::npos; }, seconds(60)))
      << a.Wait(seconds(5)).err;
  auto locker = HoldTheSeedRecord(fifo);
  ASSERT_NE(locker, nullptr) << a.Wait(seconds(5)).err;
  a.Signal(SIGTERM);
  // The safety net is far below the io timeout: a SIGTERM that waited for
  // the statement would be killed here and fail the exit-code check.
  RunOutput out = a.Wait(seconds(60));
  EXPECT_EQ(out.exit_code, 128 + SIGTERM) << out.err;
  locker.reset();
  EXPECT_TRUE(LockFree());
}

}  // namespace
}  // namespace initkit::testing
