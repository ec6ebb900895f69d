// A slow, silent or broken network between initkit-migrate and MariaDB,
// through tests/fakes/tcp_proxy (the commands talk to the server directly).
#include "tests/fakes/tcp_proxy.h"
#include "tests/migrate-faults/fault_fixture.h"

namespace initkit::testing {
namespace {

class NetworkTest : public MigrateFaultTest {
 protected:
  void SetUp() override {
    MigrateFaultTest::SetUp();
    std::string err;
    ASSERT_TRUE(proxy_.Start(server_->port(), &err)) << err;
  }
  TcpProxy proxy_;
};

TEST_F(NetworkTest, SlowNetworkWithinTheDeadlinesSucceeds) {
  // Every chunk in each direction arrives 300 ms late: the handshake alone
  // takes over a second.
  proxy_.SetLatency(milliseconds(300));
  auto r = RunBinary("initkit-migrate",
                     Flags({"--migrate-cmd", Migration(), "--seed-cmd", Seed()}, proxy_.port()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(proxy_.accepted(), 2);  // lock and work connection went through the proxy
  ExpectNoOverlap(1);
  EXPECT_EQ(SeedsDone(), 1u);
  EXPECT_EQ(RegistryRows(), "1");
}

TEST_F(NetworkTest, ServerThatAcceptsButNeverAnswersIs124AtTheWaitTimeout) {
  proxy_.SetStalled(true);
  auto r = RunBinary(
      "initkit-migrate",
      Flags({"--migrate-cmd", Migration(), "--wait-timeout", "3s", "--db-connect-timeout", "600s"},
            proxy_.port()),
      {}, seconds(120));  // the safety net: far above the 3 s deadline
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_GE(proxy_.accepted(), 1);
  EXPECT_FALSE(Exists(Path("events")));
}

TEST_F(NetworkTest, ConnectionCutMidMigrationFailsAndALaterRunRecovers) {
  std::string fifo = Fifo("hold"), pidfile = Path("a.pid");
  RunningBinary a(BinPath("initkit-migrate"),
                  Flags({"--migrate-cmd", BlockingMigration(fifo, pidfile), "--seed-cmd", Seed()},
                        proxy_.port()));
  ASSERT_TRUE(
      WaitUntil([&] { return ReadFile(pidfile).find('\n') != std::string::npos; }, seconds(60)))
      << a.Wait(seconds(5)).err;
  pid_t cmd = static_cast<pid_t>(std::stol(ReadFile(pidfile)));
  proxy_.CutAll();
  RunOutput out = a.Wait(seconds(120));
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("lost the connection holding lock"), std::string::npos) << out.err;
  EXPECT_TRUE(WaitForPidGone(cmd, seconds(30)));  // stopped, not left running
  EXPECT_EQ(SeedsDone(), 0u);
  EXPECT_EQ(RegistryRows(), "0");
  EXPECT_TRUE(LockFree());

  auto r = RunBinary("initkit-migrate",
                     Flags({"--migrate-cmd", Migration(), "--seed-cmd", Seed()}, proxy_.port()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(SeedsDone(), 1u);
  EXPECT_EQ(RegistryRows(), "1");
}

TEST_F(NetworkTest, PartitionMidMigrationStopsTheCommandAtTheIoTimeout) {
  // Packets vanish but no connection is reset: only a timeout notices.
  std::string fifo = Fifo("hold"), pidfile = Path("a.pid");
  RunningBinary a(
      BinPath("initkit-migrate"),
      Flags({"--migrate-cmd", BlockingMigration(fifo, pidfile), "--db-io-timeout", "2s"},
            proxy_.port()));
  ASSERT_TRUE(
      WaitUntil([&] { return ReadFile(pidfile).find('\n') != std::string::npos; }, seconds(60)))
      << a.Wait(seconds(5)).err;
  pid_t cmd = static_cast<pid_t>(std::stol(ReadFile(pidfile)));
  proxy_.SetStalled(true);
  RunOutput out = a.Wait(seconds(120));
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("lost the connection holding lock"), std::string::npos) << out.err;
  EXPECT_TRUE(WaitForPidGone(cmd, seconds(30)));
  proxy_.CutAll();  // the server learns the session is gone and frees the lock
  EXPECT_TRUE(LockFree());
}

}  // namespace
}  // namespace initkit::testing
