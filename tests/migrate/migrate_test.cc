// initkit-migrate against a real MariaDB: waiting, locking, seeding once,
// failures, signals.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <sstream>
#include <thread>

#include "common/db.h"
#include "tests/fakes/mariadb_server.h"
#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

bool WaitForFile(const std::string& path, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (access(path.c_str(), F_OK) == 0) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    server_ = MariaDbServer::Shared(&err);
    ASSERT_NE(server_, nullptr) << err;
    db_ = std::string("t_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_TRUE(server_->CreateDatabase(db_, &err)) << err;
  }

  // A shell script in the temp dir, run as `sh PATH`.
  std::string Script(const std::string& name, const std::string& body) {
    std::string path = tmp_.Sub(name);
    WriteFile(path, "set -e\nSQL=\"" + server_->ClientCommand(db_) + "\"\n" + body + "\n");
    return "sh " + path;
  }
  std::string CreateRegistry() {
    return Script("migrate.sh",
                  "$SQL -e 'CREATE TABLE IF NOT EXISTS registry (name VARCHAR(191) PRIMARY KEY, "
                  "value TEXT); CREATE TABLE IF NOT EXISTS seeds (id INT AUTO_INCREMENT PRIMARY "
                  "KEY)'");
  }
  std::string Seed(int exit_code = 0) {
    return Script("seed" + std::to_string(exit_code) + ".sh",
                  "$SQL -e 'INSERT INTO seeds () VALUES ()'\nexit " + std::to_string(exit_code));
  }
  std::vector<std::string> Flags(std::vector<std::string> extra) {
    std::vector<std::string> f = server_->MigrateFlags(db_);
    f.insert(f.end(), {"--log-format", "json", "--wait-timeout", "60s"});
    f.insert(f.end(), extra.begin(), extra.end());
    return f;
  }
  // Flags(extra) connecting as `user` with `password` instead of the server's.
  std::vector<std::string> FlagsAs(const std::string& user, const std::string& password,
                                   std::vector<std::string> extra) {
    std::vector<std::string> f = Flags(std::move(extra));
    for (size_t i = 0; i + 1 < f.size(); ++i) {
      if (f[i] == "--db-user" && !user.empty()) f[i + 1] = user;
      if (f[i] == "--db-password") f[i + 1] = password;
    }
    return f;
  }
  std::string Count(const std::string& table) {
    return server_->QueryValue("SELECT COUNT(*) FROM `" + db_ + "`." + table).value_or("?");
  }
  std::string RegistryValue() {
    return server_
        ->QueryValue("SELECT value FROM `" + db_ +
                     "`.registry WHERE name = 'SEEDER.INITIAL_SEED_RAN'")
        .value_or("absent");
  }

  MariaDbServer* server_ = nullptr;
  std::string db_;
  TempDir tmp_;
};

TEST_F(MigrateTest, MigratesSeedsOnceAndSkipsTheSeedLater) {
  auto r = RunBinary("initkit-migrate",
                     Flags({"--migrate-cmd", CreateRegistry(), "--seed-cmd", Seed()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(RegistryValue(), "1");
  EXPECT_EQ(Count("seeds"), "1");
  r = RunBinary("initkit-migrate",
                Flags({"--migrate-cmd", CreateRegistry(), "--seed-cmd", Seed()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Count("seeds"), "1");
  EXPECT_NE(r.err.find("already seeded"), std::string::npos) << r.err;
}

TEST_F(MigrateTest, ConcurrentRunsDoNotOverlapAndSeedOnce) {
  ASSERT_TRUE(server_->Exec("CREATE TABLE `" + db_ +
                            "`.events (id INT AUTO_INCREMENT PRIMARY KEY, ev VARCHAR(8))"));
  std::string migrate = Script("migrate.sh",
                               "$SQL -e 'INSERT INTO events (ev) VALUES (\"start\")'\n"
                               "$SQL -e 'CREATE TABLE IF NOT EXISTS registry (name VARCHAR(191) "
                               "PRIMARY KEY, value TEXT); CREATE TABLE IF NOT EXISTS seeds (id "
                               "INT AUTO_INCREMENT PRIMARY KEY)'\n"
                               "sleep 0.2\n"
                               "$SQL -e 'INSERT INTO events (ev) VALUES (\"end\")'");
  std::string seed = Seed();
  std::vector<std::unique_ptr<RunningBinary>> runs;
  for (int i = 0; i < 8; ++i) {
    runs.push_back(std::make_unique<RunningBinary>(
        BinPath("initkit-migrate"), Flags({"--migrate-cmd", migrate, "--seed-cmd", seed})));
  }
  for (auto& run : runs) {
    RunOutput out = run->Wait(seconds(240));
    EXPECT_EQ(out.exit_code, 0) << out.err;
  }
  auto rows = server_->Query("SELECT ev FROM `" + db_ + "`.events ORDER BY id");
  ASSERT_EQ(rows.size(), 16u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][0], i % 2 == 0 ? "start" : "end") << "event " << i << ": runs overlapped";
  }
  EXPECT_EQ(Count("seeds"), "1");
  EXPECT_EQ(RegistryValue(), "1");
}

TEST_F(MigrateTest, FailedSeedLeavesNoRowAndTheNextRunSeeds) {
  auto r = RunBinary("initkit-migrate",
                     Flags({"--migrate-cmd", CreateRegistry(), "--seed-cmd", Seed(3)}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("seed command"), std::string::npos) << r.err;
  EXPECT_EQ(RegistryValue(), "absent");
  r = RunBinary("initkit-migrate",
                Flags({"--migrate-cmd", CreateRegistry(), "--seed-cmd", Seed()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(RegistryValue(), "1");
  EXPECT_EQ(Count("seeds"), "2");  // the failed attempt and the good one
}

TEST_F(MigrateTest, MarkSeededNoLeavesTheRowToTheSeed) {
  auto r = RunBinary("initkit-migrate", Flags({"--migrate-cmd", CreateRegistry(), "--seed-cmd",
                                               Seed(), "--mark-seeded", "no"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Count("seeds"), "1");
  EXPECT_EQ(RegistryValue(), "absent");
}

TEST_F(MigrateTest, FailedMigrationSkipsTheSeed) {
  ASSERT_TRUE(
      server_->Exec("CREATE TABLE `" + db_ + "`.seeds (id INT AUTO_INCREMENT PRIMARY KEY)"));
  auto r = RunBinary("initkit-migrate",
                     Flags({"--migrate-cmd", Script("bad.sh", "exit 5"), "--seed-cmd", Seed()}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("migrate command"), std::string::npos) << r.err;
  EXPECT_EQ(Count("seeds"), "0");
}

TEST_F(MigrateTest, MissingCommandIs127) {
  auto r = RunBinary("initkit-migrate", Flags({"--migrate-cmd", "/nonexistent/migrator"}));
  EXPECT_EQ(r.exit_code, 127) << r.err;
}

TEST_F(MigrateTest, MissingRegistryTableFailsWithAMessage) {
  auto r = RunBinary("initkit-migrate", Flags({"--migrate-cmd", "true", "--seed-cmd", "true"}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("registry table 'registry' does not exist"), std::string::npos) << r.err;
}

// Access denied is retried while --wait-timeout lasts (a rotated password
// reaches the database user a moment after the Secret), then it is exit 1
// with the explanation; the wrong password never shows.
TEST_F(MigrateTest, WrongPasswordFailsAfterTheWaitTimeoutWithoutLeakingIt) {
  const std::string bad = "Wrong-Pw-5d2c-a81f";
  RegisterCredential(bad, "wrong password");
  auto flags = FlagsAs("", bad, {"--migrate-cmd", "true", "--wait-timeout", "1500ms"});
  auto r = RunBinary("initkit-migrate", flags);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("the password may not have propagated to the database user yet"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("refused user '" + std::string(MariaDbServer::kUser) +
                       "' (access denied) for the whole --wait-timeout 1.5s: the password is "
                       "wrong, or a new password never reached the database user"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Access denied"), std::string::npos) << r.err;
  EXPECT_EQ((r.out + r.err).find(bad), std::string::npos);
}

// A migrate Job started before the database operator applied the rotated
// password: it waits, and succeeds once ALTER USER applies it.
TEST_F(MigrateTest, RunStartedBeforeThePasswordIsAppliedWaitsAndSucceeds) {
  const std::string user = "rot_" + std::to_string(::getpid());
  const std::string old_pw = "Old-Rotated-Pw-31a9c", new_pw = "New-Rotated-Pw-8e27d";
  RegisterCredential(old_pw, "old password");
  RegisterCredential(new_pw, "new password");
  std::string err;
  for (const std::string& sql : {"DROP USER IF EXISTS '" + user + "'@'%'",
                                 "CREATE USER '" + user + "'@'%' IDENTIFIED BY '" + old_pw + "'",
                                 "GRANT ALL ON `" + db_ + "`.* TO '" + user + "'@'%'"}) {
    ASSERT_TRUE(server_->Exec(sql, &err)) << err;
  }
  std::string marker = tmp_.Sub("migrated");
  auto flags =
      FlagsAs(user, new_pw, {"--migrate-cmd", "touch " + marker, "--wait-timeout", "120s"});
  RunningBinary run(BinPath("initkit-migrate"), flags);
  ASSERT_TRUE(run.WaitForStderr("may not have propagated", seconds(60)));
  EXPECT_NE(access(marker.c_str(), F_OK), 0);
  ASSERT_TRUE(server_->Exec("ALTER USER '" + user + "'@'%' IDENTIFIED BY '" + new_pw + "'", &err))
      << err;
  RunOutput out = run.Wait(seconds(120));
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(access(marker.c_str(), F_OK), 0);
  EXPECT_EQ((out.out + out.err).find(new_pw), std::string::npos);
  (void)server_->Exec("DROP USER IF EXISTS '" + user + "'@'%'");
}

// The examples create the app's users with mariadb-operator User and Grant
// resources, reconciled separately: a Job connecting after the User and
// before the Grant gets 1044 for the database. It waits for the GRANT.
TEST_F(MigrateTest, RunStartedBeforeTheGrantIsAppliedWaitsAndSucceeds) {
  const std::string user = "grant_" + std::to_string(::getpid());
  const std::string pw = "Grant-Pw-7c1e-b204";
  RegisterCredential(pw, "password");
  std::string err;
  for (const std::string& sql : {"DROP USER IF EXISTS '" + user + "'@'%'",
                                 "CREATE USER '" + user + "'@'%' IDENTIFIED BY '" + pw + "'"}) {
    ASSERT_TRUE(server_->Exec(sql, &err)) << err;
  }
  std::string marker = tmp_.Sub("migrated");
  auto flags = FlagsAs(user, pw, {"--migrate-cmd", "touch " + marker, "--wait-timeout", "120s"});
  RunningBinary run(BinPath("initkit-migrate"), flags);
  ASSERT_TRUE(run.WaitForStderr("its grant may not have been applied yet", seconds(60)));
  EXPECT_NE(access(marker.c_str(), F_OK), 0);
  ASSERT_TRUE(server_->Exec("GRANT ALL ON `" + db_ + "`.* TO '" + user + "'@'%'", &err)) << err;
  RunOutput out = run.Wait(seconds(120));
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(access(marker.c_str(), F_OK), 0);
  EXPECT_NE(out.err.find("(error 1044)"), std::string::npos) << out.err;
  EXPECT_EQ((out.out + out.err).find(pw), std::string::npos);
  (void)server_->Exec("DROP USER IF EXISTS '" + user + "'@'%'");
}

TEST_F(MigrateTest, PasswordFromFileAndNeverPrinted) {
  std::string pwfile = tmp_.Sub("pw");
  WriteFile(pwfile, std::string(MariaDbServer::kPassword) + "\n", 0600);
  auto flags = Flags({"--migrate-cmd", "true", "--log-level", "debug"});
  for (size_t i = 0; i + 1 < flags.size(); ++i) {
    if (flags[i] == "--db-password") {
      flags.erase(flags.begin() + i, flags.begin() + i + 2);
      break;
    }
  }
  auto r = RunBinary("initkit-migrate", flags, {{"INITKIT_DB_PASSWORD_FILE", pwfile}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ((r.out + r.err).find(MariaDbServer::kPassword), std::string::npos);
}

TEST_F(MigrateTest, LockHeldElsewhereTimesOutWith124) {
  db::ConnectOptions o;
  o.socket = server_->socket();
  o.user = "root";
  std::unique_ptr<db::Connection> holder;
  ASSERT_TRUE(db::Connection::Open(o, &holder).ok());
  std::vector<db::Row> rows;
  ASSERT_TRUE(
      holder->Query("SELECT GET_LOCK('initkit-migrate:" + db_ + "', 0)", "lock", &rows).ok());
  ASSERT_EQ(rows.at(0).at(0).value_or(""), "1");

  auto st = RunBinary("initkit-migrate", Flags({"--status"}));
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.out.find("\"lock_held\":true"), std::string::npos) << st.out;

  auto r = RunBinary("initkit-migrate", Flags({"--migrate-cmd", "true", "--lock-timeout", "1s"}));
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find("still held"), std::string::npos) << r.err;
  holder.reset();  // closing the connection frees the lock
  r = RunBinary("initkit-migrate", Flags({"--migrate-cmd", "true", "--lock-timeout", "60s"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// The lock wait names the holder by the host:port it connects from (the
// processlist) and how long it has held the lock, in the first record, in
// every progress record and in the final error.
TEST_F(MigrateTest, LockWaitNamesTheHoldersHostAndPort) {
  db::ConnectOptions o;
  o.host = "127.0.0.1";
  o.port = server_->port();
  o.user = MariaDbServer::kUser;
  o.password = MariaDbServer::kPassword;
  std::unique_ptr<db::Connection> holder;
  ASSERT_TRUE(db::Connection::Open(o, &holder).ok());
  std::vector<db::Row> rows;
  ASSERT_TRUE(holder
                  ->Query("SELECT GET_LOCK('initkit-migrate:" + db_ +
                              "', 0), (SELECT HOST FROM information_schema.PROCESSLIST WHERE ID "
                              "= CONNECTION_ID())",
                          "lock", &rows)
                  .ok());
  ASSERT_EQ(rows.at(0).at(0).value_or(""), "1");
  const std::string where = rows.at(0).at(1).value_or("");
  ASSERT_EQ(where.rfind("127.0.0.1:", 0), 0u) << where;  // host:port of a TCP client

  auto st = RunBinary("initkit-migrate", Flags({"--status"}));
  EXPECT_NE(st.out.find("\"lock_holder_host\":\"" + where + "\""), std::string::npos) << st.out;

  auto r = RunBinary("initkit-migrate", Flags({"--migrate-cmd", "true", "--lock-timeout", "3500ms",
                                               "--progress-interval", "500ms"}));
  EXPECT_EQ(r.exit_code, 124) << r.err;
  int first = 0, progress = 0;
  std::string last;
  std::istringstream lines(r.err);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    if (j.value("msg", "") == "waiting for the lock") {
      ++first;
      EXPECT_EQ(j.value("held_by", ""), where) << line;
    }
    if (j.value("msg", "") == "waiting for lock 'initkit-migrate:" + db_ + "'") {
      ++progress;
      EXPECT_NE(j.value("last_error", "").find("held by " + where + " (connection "),
                std::string::npos)
          << line;
      EXPECT_NE(j.value("last_error", "").find(") for at least "), std::string::npos) << line;
      EXPECT_TRUE(j.contains("elapsed") && j.contains("left") && j.contains("attempt")) << line;
    }
    last = line;
  }
  EXPECT_EQ(first, 1) << r.err;
  EXPECT_GE(progress, 2) << r.err;  // one per GET_LOCK poll (1 s) at most
  EXPECT_NE(last.find("still held by another run after 3.5s (--lock-timeout): held by " + where),
            std::string::npos)
      << last;
}

TEST_F(MigrateTest, StatusAndDryRunChangeNothing) {
  auto r = RunBinary("initkit-migrate", Flags({"--status"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"database_reachable\":true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"seeded\":false"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"registry_table_exists\":false"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"lock_held\":false"), std::string::npos) << r.out;

  r = RunBinary("initkit-migrate",
                Flags({"--dry-run", "--migrate-cmd", CreateRegistry(), "--seed-cmd", Seed()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("migrate.sh"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(MariaDbServer::kPassword), std::string::npos);
  EXPECT_EQ(server_->QueryValue("SELECT COUNT(*) FROM information_schema.tables WHERE "
                                "table_schema = '" +
                                db_ + "'"),
            "0");

  r = RunBinary("initkit-migrate",
                Flags({"--migrate-cmd", CreateRegistry(), "--seed-cmd", Seed()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunBinary("initkit-migrate", Flags({"--status"}));
  EXPECT_NE(r.out.find("\"seeded\":true"), std::string::npos) << r.out;
}

TEST_F(MigrateTest, StatusOfAnUnreachableDatabase) {
  auto r = RunBinary("initkit-migrate", {"--status", "--db-port", std::to_string(FreePort()),
                                         "--db-user", "x", "--db-name", "y"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.out.find("\"database_reachable\":false"), std::string::npos) << r.out;
}

TEST_F(MigrateTest, BadIdentifierIsAUsageError) {
  auto r = RunBinary("initkit-migrate",
                     Flags({"--migrate-cmd", "true", "--registry-table", "registry`; DROP"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--registry-table"), std::string::npos) << r.err;
}

TEST_F(MigrateTest, SigtermReachesTheCommandAndFreesTheLock) {
  std::string started = tmp_.Sub("started"), got = tmp_.Sub("got-term");
  std::string migrate = Script("trap.sh", "trap 'echo term > " + got + "; exit 143' TERM\ntouch " +
                                              started + "\nwhile :; do sleep 0.1; done");
  RunningBinary run(BinPath("initkit-migrate"), Flags({"--migrate-cmd", migrate}));
  ASSERT_TRUE(WaitForFile(started, seconds(60)));
  run.Signal(SIGTERM);
  RunOutput out = run.Wait(seconds(60));
  EXPECT_EQ(out.exit_code, 143) << out.err;
  EXPECT_TRUE(WaitForFile(got, seconds(10)));
  auto r = RunBinary("initkit-migrate", Flags({"--migrate-cmd", "true", "--lock-timeout", "30s"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("waiting for the lock"), std::string::npos) << r.err;
}

TEST_F(MigrateTest, KilledLockConnectionStopsTheCommand) {
  std::string started = tmp_.Sub("started");
  std::string migrate = Script("slow.sh", "touch " + started + "\nexec sleep 120");
  RunningBinary run(BinPath("initkit-migrate"), Flags({"--migrate-cmd", migrate}));
  ASSERT_TRUE(WaitForFile(started, seconds(60)));
  auto holder = server_->QueryValue("SELECT IS_USED_LOCK('initkit-migrate:" + db_ + "')");
  ASSERT_TRUE(holder.has_value());
  ASSERT_NE(*holder, "NULL");
  ASSERT_TRUE(server_->Exec("KILL " + *holder));
  RunOutput out = run.Wait(seconds(120));
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("lost the connection holding lock"), std::string::npos) << out.err;
}

TEST_F(MigrateTest, WaiterWhoseConnectionIsKilledReconnectsAndGoesOn) {
  db::ConnectOptions o;
  o.socket = server_->socket();
  o.user = "root";
  std::unique_ptr<db::Connection> holder;
  ASSERT_TRUE(db::Connection::Open(o, &holder).ok());
  ASSERT_TRUE(holder->Execute("SELECT GET_LOCK('waiter-test', 0)", "lock").ok());
  RunningBinary run(BinPath("initkit-migrate"),
                    Flags({"--migrate-cmd", "true", "--lock-name", "waiter-test"}));
  ASSERT_TRUE(run.WaitForStderr("waiting for the lock", seconds(60)));
  // The waiter's connection: the one of our user (the holder is root).
  auto id = server_->QueryValue(std::string("SELECT id FROM information_schema.processlist ") +
                                "WHERE user = '" + MariaDbServer::kUser + "' AND db = '" + db_ +
                                "' LIMIT 1");
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(server_->Exec("KILL " + *id));
  ASSERT_TRUE(run.WaitForStderr("reconnecting", seconds(60)));
  holder.reset();
  RunOutput out = run.Wait(seconds(120));
  EXPECT_EQ(out.exit_code, 0) << out.err;
}

TEST_F(MigrateTest, SigtermWhileWaitingForTheLock) {
  db::ConnectOptions o;
  o.socket = server_->socket();
  o.user = "root";
  std::unique_ptr<db::Connection> holder;
  ASSERT_TRUE(db::Connection::Open(o, &holder).ok());
  ASSERT_TRUE(holder->Execute("SELECT GET_LOCK('initkit-migrate:" + db_ + "', 0)", "lock").ok());
  RunningBinary run(BinPath("initkit-migrate"), Flags({"--migrate-cmd", "true"}));
  ASSERT_TRUE(run.WaitForStderr("waiting for the lock", seconds(60)));
  run.Signal(SIGTERM);
  RunOutput out = run.Wait(seconds(60));
  EXPECT_EQ(out.exit_code, 143) << out.err;
}

TEST_F(MigrateTest, TlsWithTheRightCaConnectsAndAWrongCaFails) {
  auto r = RunBinary("initkit-migrate",
                     Flags({"--migrate-cmd", "true", "--db-tls-ca", server_->CaFile()}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunBinary("initkit-migrate", Flags({"--migrate-cmd", "true", "--db-tls-ca",
                                          server_->OtherCaFile(), "--wait-timeout", "120s"}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(r.elapsed, seconds(60));  // a certificate error is permanent
  r = RunBinary("initkit-migrate",
                Flags({"--migrate-cmd", "true", "--db-tls-ca", tmp_.Sub("missing.pem")}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST(MigrateSignals, SigtermDuringAConnectionAttemptEndsIt) {
  // A "server" whose kernel accepts connections that nobody ever greets.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  RunningBinary run(BinPath("initkit-migrate"),
                    {"--db-port", std::to_string(ntohs(addr.sin_port)), "--db-user", "x",
                     "--db-name", "x", "--db-connect-timeout", "600s", "--wait-timeout", "600s",
                     "--migrate-cmd", "true", "--log-format", "json"});
  pollfd pending{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&pending, 1, 60000), 1);  // its connection is in our backlog
  run.Signal(SIGTERM);
  RunOutput out = run.Wait(seconds(120));
  EXPECT_EQ(out.exit_code, 143) << out.err;
  ::close(fd);
}

// --progress-interval reaches the database wait of the real binary: a
// refused port is retried and reported on the interval until --wait-timeout.
TEST(MigrateProgress, DatabaseWaitLogsProgressOnTheInterval) {
  auto r =
      RunBinary("initkit-migrate", {"--db-port", std::to_string(FreePort()), "--db-user", "x",
                                    "--db-name", "x", "--wait-timeout", "2s", "--progress-interval",
                                    "250ms", "--migrate-cmd", "true", "--log-format", "json"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  int progress = 0;
  std::istringstream lines(r.err);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("msg", "").rfind("waiting for MariaDB at x@127.0.0.1:", 0) == 0 &&
        j.contains("elapsed")) {
      ++progress;
      EXPECT_EQ(j["level"], "info");
      EXPECT_NE(j.value("last_error", "").find("(error 2002)"), std::string::npos) << line;
    }
  }
  // Seven ticks fit in 2 s; a loaded machine may merge a few.
  EXPECT_GE(progress, 4) << r.err;
}

// Dedicated servers: these stop and start MariaDB.
TEST(MigrateDedicated, WaitsForADatabaseThatComesUpLater) {
  TempDir tmp;
  int port = FreePort();
  std::string marker = tmp.Sub("migrated");
  RunningBinary run(
      BinPath("initkit-migrate"),
      {"--db-port", std::to_string(port), "--db-user", MariaDbServer::kUser, "--db-password",
       MariaDbServer::kPassword, "--lock-name", "late-test", "--wait-timeout", "180s",
       "--log-format", "json", "--migrate-cmd", "touch " + marker});
  ASSERT_TRUE(run.WaitForStderr("waiting for database", seconds(60)));
  MariaDbServer late;
  std::string err;
  ASSERT_TRUE(late.Start(&err, port)) << err;
  RunOutput out = run.Wait(seconds(180));
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(access(marker.c_str(), F_OK), 0);
}

TEST(MigrateDedicated, DatabaseKilledMidMigrateFailsAndALaterRunRecovers) {
  TempDir tmp;
  MariaDbServer server;
  std::string err;
  ASSERT_TRUE(server.Start(&err)) << err;
  ASSERT_TRUE(server.CreateDatabase("app", &err)) << err;
  std::string sql = server.ClientCommand("app");
  std::string started = tmp.Sub("started");
  WriteFile(tmp.Sub("slow.sh"),
            sql +
                " -e 'CREATE TABLE IF NOT EXISTS registry (name VARCHAR(191) PRIMARY KEY, "
                "value TEXT)'\ntouch " +
                started + "\nexec sleep 120\n");
  WriteFile(tmp.Sub("fast.sh"),
            sql +
                " -e 'CREATE TABLE IF NOT EXISTS registry (name VARCHAR(191) PRIMARY KEY, "
                "value TEXT)'\n");
  auto flags = server.MigrateFlags("app");
  flags.insert(flags.end(), {"--log-format", "json", "--seed-cmd", "true"});
  auto slow = flags;
  slow.insert(slow.end(), {"--migrate-cmd", "sh " + tmp.Sub("slow.sh")});
  RunningBinary run(BinPath("initkit-migrate"), slow);
  ASSERT_TRUE(WaitForFile(started, seconds(60)));
  server.Kill();
  RunOutput out = run.Wait(seconds(120));
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("lost the connection holding lock"), std::string::npos) << out.err;

  ASSERT_TRUE(server.Restart(&err)) << err;
  EXPECT_EQ(server.QueryValue("SELECT COUNT(*) FROM app.registry"), "0");
  auto fast = flags;
  fast.insert(fast.end(), {"--migrate-cmd", "sh " + tmp.Sub("fast.sh")});
  RunOutput again = RunBinary("initkit-migrate", fast);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(server.QueryValue("SELECT value FROM app.registry"), "1");
}

}  // namespace
}  // namespace initkit::testing
