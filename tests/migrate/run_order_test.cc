// The order of a run — lock, migrate, read the registry, seed, record the
// seed, release — and its waits, against tests/migrate/fake_database.h and a
// fake clock: no mariadbd, no waiting. The same behaviour against a real
// MariaDB is in migrate_test.cc and tests/migrate-faults.
#include <stdio.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "common/config.h"
#include "common/log.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/log_capture.h"
#include "tests/fakes/test_util.h"
#include "tests/migrate/fake_database.h"
#include "tools/migrate/migrate.h"

namespace initkit::testing {
namespace {

// Polls `cond` every 20 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

class RunOrderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::Init("initkit-migrate", log::Format::kJson, log::Level::kInfo);
    SetProgressInterval(Millis(5000));
    o_.db.user = "app";
    o_.db.host = "mariadb";
    o_.db.database = "shop";
    o_.lock_name = migrate::DefaultLockName("shop");
    o_.migrate_cmd = Command("migrate");
    o_.seed_cmd = Command("seed");
  }
  void TearDown() override { SetProgressInterval(Millis(5000)); }

  // A command that appends "cmd: NAME" to the events file, then exits `code`.
  std::vector<std::string> Command(const std::string& name, int code = 0,
                                   const std::string& extra = "") {
    return {"sh", "-c",
            "echo 'cmd: " + name + "' >> " + events_ + extra + "; exit " + std::to_string(code)};
  }
  Status Run() {
    migrate::Dependencies deps;
    deps.connector = &db_;
    deps.clock = &clock_;
    return migrate::Run(o_, deps);
  }
  std::string Events() { return ReadFile(events_); }

  TempDir tmp_;
  std::string events_ = tmp_.Sub("events");
  FakeClock clock_;
  FakeDatabase db_{events_, &clock_};
  migrate::Options o_;
};

TEST_F(RunOrderTest, LockThenMigrateThenSeedThenRecordThenRelease) {
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(Events(),
            "db: GET_LOCK initkit-migrate:shop = 1\n"
            "cmd: migrate\n"
            "db: read registry: absent\n"
            "cmd: seed\n"
            "db: insert registry row\n"
            "db: RELEASE_LOCK\n");
  EXPECT_EQ(db_.registry["SEEDER.INITIAL_SEED_RAN"], "1");
}

TEST_F(RunOrderTest, AlreadySeededSkipsTheSeed) {
  db_.registry["SEEDER.INITIAL_SEED_RAN"] = "1";
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(Events(),
            "db: GET_LOCK initkit-migrate:shop = 1\n"
            "cmd: migrate\n"
            "db: read registry: 1\n"
            "db: RELEASE_LOCK\n");
}

TEST_F(RunOrderTest, ARowSayingNotSeededIsSeededAndSetToOne) {
  db_.registry["SEEDER.INITIAL_SEED_RAN"] = "0";
  ASSERT_TRUE(Run().ok());
  EXPECT_NE(Events().find("cmd: seed\ndb: insert registry row\ndb: update registry row\n"),
            std::string::npos)
      << Events();
  EXPECT_EQ(db_.registry["SEEDER.INITIAL_SEED_RAN"], "1");
}

TEST_F(RunOrderTest, AFailedSeedIsNeverRecorded) {
  o_.seed_cmd = Command("seed", 3);
  Status st = Run();
  EXPECT_EQ(st.ExitCode(), 1);
  EXPECT_NE(st.message().find("seed command"), std::string::npos) << st.message();
  EXPECT_EQ(Events(),
            "db: GET_LOCK initkit-migrate:shop = 1\n"
            "cmd: migrate\n"
            "db: read registry: absent\n"
            "cmd: seed\n");
  EXPECT_TRUE(db_.registry.empty());
}

TEST_F(RunOrderTest, AFailedMigrationSkipsRegistryAndSeed) {
  o_.migrate_cmd = Command("migrate", 5);
  EXPECT_EQ(Run().ExitCode(), 1);
  EXPECT_EQ(Events(), "db: GET_LOCK initkit-migrate:shop = 1\ncmd: migrate\n");
}

// Another run may be seeding once our lock is gone: no row is better than
// a row for a seed that raced.
TEST_F(RunOrderTest, ALockLostDuringTheSeedMeansNoRecord) {
  db_.lock_dies_when = tmp_.Sub("lock-killed");
  o_.seed_cmd = Command("seed", 0, "; touch " + db_.lock_dies_when);
  Status st = Run();
  EXPECT_EQ(st.ExitCode(), 1) << st.message();
  EXPECT_NE(st.message().find("lost the connection holding lock 'initkit-migrate:shop'"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(Events().find("insert registry row"), std::string::npos) << Events();
  EXPECT_TRUE(db_.registry.empty());
}

TEST_F(RunOrderTest, AMissingRegistryTableNamesTheFlag) {
  db_.registry_exists = false;
  Status st = Run();
  EXPECT_EQ(st.ExitCode(), 1);
  EXPECT_NE(st.message().find("registry table 'registry' does not exist"), std::string::npos)
      << st.message();
  EXPECT_EQ(Events().find("cmd: seed"), std::string::npos);
}

// Issue acceptance: a 12 s lock wait with --progress-interval 2s logs at
// least five progress records, each naming the holder by host:port and how
// long it has held the lock; the final error names it too.
TEST_F(RunOrderTest, LockWaitLogsProgressNamingTheHoldersHostAndPort) {
  SetProgressInterval(Millis(2000));
  db_.holder = "77";
  o_.lock_timeout = Millis(12000);
  Status st;
  std::string out = CaptureStderr([&] { st = Run(); });
  EXPECT_EQ(st.ExitCode(), 124);
  EXPECT_EQ(st.message(),
            "lock 'initkit-migrate:shop' is still held by another run after 12s (--lock-timeout): "
            "held by 10.0.0.5:41234 (connection 77) for at least 12s");
  auto first = RecordsWithMsg(out, "waiting for the lock");
  ASSERT_EQ(first.size(), 1u) << out;
  EXPECT_EQ(first[0]["held_by"], "10.0.0.5:41234");
  EXPECT_EQ(first[0]["holder_connection"], "77");
  auto progress = RecordsWithMsg(out, "waiting for lock 'initkit-migrate:shop'");
  ASSERT_GE(progress.size(), 5u) << out;
  for (const auto& r : progress) {
    std::string err = r.value("last_error", "");
    EXPECT_EQ(err.rfind("lock 'initkit-migrate:shop' is held by 10.0.0.5:41234 (connection 77) "
                        "for at least ",
                        0),
              0u)
        << r.dump();
    EXPECT_EQ(r["elapsed"].get<std::string>().back(), 's') << r.dump();
  }
  EXPECT_EQ(Events(), "");  // nothing ran
}

TEST_F(RunOrderTest, TheLockIsTakenOnceItsHolderLetsGo) {
  db_.holder = "77";
  db_.release_after_polls = 3;
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(db_.polls(), 4);
  EXPECT_EQ(Events().rfind("db: GET_LOCK initkit-migrate:shop = 1\ncmd: migrate\n", 0), 0u)
      << Events();
}

TEST_F(RunOrderTest, AWaiterDroppedByTheServerReconnectsAndQueuesAgain) {
  db_.holder = "77";
  db_.drop_waiter_at_poll = 2;
  db_.release_after_polls = 4;
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(db_.opens(), 3);  // lock connection, its replacement, the seed's connection
  EXPECT_EQ(Events().rfind("db: GET_LOCK initkit-migrate:shop = 1\ncmd: migrate\n", 0), 0u)
      << Events();
}

// Issue 17: a rotated password reaches the database user a moment after the
// Secret; access denied is not-ready while --wait-timeout lasts.
TEST_F(RunOrderTest, AccessDeniedIsRetriedUntilThePasswordArrives) {
  db_.deny_opens = 4;
  Status st;
  std::string out = CaptureStderr([&] { st = Run(); });
  ASSERT_TRUE(st.ok()) << st.message();
  auto warn = RecordsWithMsg(out,
                             "MariaDB refused user 'app' (access denied): the password may not "
                             "have propagated to the database user yet; retrying until "
                             "--wait-timeout");
  ASSERT_EQ(warn.size(), 1u) << out;
  EXPECT_EQ(warn[0]["user"], "app");
  EXPECT_EQ(warn[0]["level"], "warn");
  EXPECT_EQ(db_.opens(), 6);  // 4 refused, the lock connection, the seed's
}

TEST_F(RunOrderTest, AccessDeniedForTheWholeWaitIsExit1WithTheReason) {
  db_.deny_opens = 1 << 30;
  o_.wait_timeout = Millis(60000);
  Status st = Run();
  EXPECT_EQ(st.ExitCode(), 1);
  EXPECT_EQ(st.message().rfind("MariaDB at app@mariadb:3306/shop refused user 'app' (access "
                               "denied) for the whole --wait-timeout 1m: the password is wrong, "
                               "or a new password never reached the database user; last: ",
                               0),
            0u)
      << st.message();
  EXPECT_NE(st.message().find("(error 1045)"), std::string::npos);
  EXPECT_EQ(clock_.Total(), Millis(60000));  // retried until the deadline, not beyond
  EXPECT_GT(db_.opens(), 10);
  EXPECT_EQ(Events(), "");
}

// mariadb-operator reconciles a User and its Grant separately: a Job that
// connects between the two gets 1044 for the database, which is waited out
// like 1045, and is exit 1 naming the missing grant when it lasts.
TEST_F(RunOrderTest, NoGrantOnTheDatabaseIsRetriedUntilTheGrantArrives) {
  db_.deny_opens = 2;
  db_.ungranted_opens = 3;
  Status st;
  std::string out = CaptureStderr([&] { st = Run(); });
  ASSERT_TRUE(st.ok()) << st.message();
  // Each refusal is named once, in the order they came.
  EXPECT_EQ(RecordsWithMsg(out,
                           "MariaDB refused user 'app' (access denied): the password may not "
                           "have propagated to the database user yet; retrying until "
                           "--wait-timeout")
                .size(),
            1u)
      << out;
  EXPECT_EQ(RecordsWithMsg(out,
                           "MariaDB refused user 'app' access to database 'shop': its grant may "
                           "not have been applied yet; retrying until --wait-timeout")
                .size(),
            1u)
      << out;
  EXPECT_EQ(db_.opens(), 7);  // 2 + 3 refused, the lock connection, the seed's
  EXPECT_EQ(Events().rfind("db: GET_LOCK initkit-migrate:shop = 1\ncmd: migrate\n", 0), 0u)
      << Events();
}

TEST_F(RunOrderTest, NoGrantForTheWholeWaitIsExit1NamingTheDatabase) {
  db_.ungranted_opens = 1 << 30;
  o_.wait_timeout = Millis(60000);
  Status st;
  std::string out = CaptureStderr([&] { st = Run(); });
  EXPECT_EQ(st.ExitCode(), 1);
  EXPECT_EQ(st.message().rfind("MariaDB at app@mariadb:3306/shop refused user 'app' access to "
                               "database 'shop' for the whole --wait-timeout 1m: the user has no "
                               "grant on it (a missing or unapplied Grant), or --db-name is "
                               "misspelt (MariaDB answers 1044, not 1049, for a database the user "
                               "may not use, whether or not it exists); last: ",
                               0),
            0u)
      << st.message();
  EXPECT_NE(st.message().find("(error 1044)"), std::string::npos);
  auto warn = RecordsWithMsg(out,
                             "MariaDB refused user 'app' access to database 'shop': its grant "
                             "may not have been applied yet; retrying until --wait-timeout");
  ASSERT_EQ(warn.size(), 1u) << out;
  EXPECT_EQ(clock_.Total(), Millis(60000));
  EXPECT_EQ(Events(), "");
}

TEST_F(RunOrderTest, AnUnreachableDatabaseIs124AtTheWaitTimeout) {
  db_.refuse_opens = 1 << 30;
  o_.wait_timeout = Millis(30000);
  Status st = Run();
  EXPECT_EQ(st.ExitCode(), 124);
  EXPECT_NE(st.message().find("not ready before the deadline"), std::string::npos);
  EXPECT_EQ(clock_.Total(), Millis(30000));
}

// A long command shows it is alive every --progress-interval: the command
// runs until the test has seen two "still running" records in the log.
TEST_F(RunOrderTest, ALongCommandLogsThatItIsStillRunning) {
  SetProgressInterval(Millis(100));
  const std::string go = tmp_.Sub("go"), log_path = tmp_.Sub("stderr");
  o_.migrate_cmd = {"sh", "-c", "while [ ! -e " + go + " ]; do sleep 0.05; done"};
  o_.seed_cmd.clear();
  (void)fflush(stderr);
  int saved = dup(2);
  FILE* f = fopen(log_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  dup2(fileno(f), 2);
  Status st;
  std::thread run([&] { st = Run(); });
  bool seen = WaitFor(
      [&] {
        return RecordsWithMsg(ReadFile(log_path), "migrate command still running").size() >= 2;
      },
      std::chrono::seconds(60));
  WriteFile(go, "");
  run.join();
  (void)fflush(stderr);
  dup2(saved, 2);
  close(saved);
  (void)fclose(f);
  EXPECT_TRUE(seen) << ReadFile(log_path);
  EXPECT_TRUE(st.ok()) << st.message();
  auto records = RecordsWithMsg(ReadFile(log_path), "migrate command still running");
  ASSERT_GE(records.size(), 2u);
  EXPECT_EQ(records[0]["lock"], "initkit-migrate:shop");
  EXPECT_TRUE(records[0].contains("elapsed"));
}

}  // namespace
}  // namespace initkit::testing
