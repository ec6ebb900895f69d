// Shared support of the initkit-migrate fault tests: a database per test on
// the shared MariaDB, scripts that block on a FIFO until the test releases
// them, and waits on conditions (files, pids, processlist rows).
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/db.h"
#include "tests/fakes/mariadb_server.h"
#include "tests/fakes/test_util.h"
#include "tools/migrate/migrate.h"

namespace initkit::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;

/// Polls `cond` every 20 ms until it holds or `timeout` passes.
inline bool WaitUntil(const std::function<bool()>& cond, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

inline bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

/// Waits until process `pid` (not necessarily our child) has ended.
inline bool WaitForPidGone(pid_t pid, milliseconds timeout) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;
  pollfd p{fd, POLLIN, 0};
  bool gone = ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
  ::close(fd);
  return gone;
}

/// Writes a line into FIFO `path` once a reader has it open (a blocked
/// script waiting for the test); false if nobody opens it in time.
inline bool ReleaseFifo(const std::string& path, milliseconds timeout) {
  int fd = -1;
  WaitUntil(
      [&] {
        fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        return fd >= 0;
      },
      timeout);
  if (fd < 0) return false;
  bool ok = ::write(fd, "go\n", 3) == 3;
  ::close(fd);
  return ok;
}

/// True when nobody has FIFO `path` open for reading (the blocked script is
/// gone): opening it for writing without blocking fails with ENXIO.
inline bool NobodyWaitsOn(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return false;
  }
  return errno == ENXIO;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

/// A fresh database on the shared MariaDB per test, and helpers to build
/// the commands initkit-migrate runs.
class MigrateFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    server_ = MariaDbServer::Shared(&err);
    ASSERT_NE(server_, nullptr) << err;
    db_ = "f_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    db_ = db_.substr(0, 60);
    ASSERT_TRUE(server_->CreateDatabase(db_, &err)) << err;
  }

  std::string Path(const std::string& rel) const { return tmp_.Sub(rel); }

  // `sh SCRIPT`, with $SQL a root client on this test's database.
  std::string Script(const std::string& name, const std::string& body) {
    std::string path = Path(name);
    WriteFile(path, "set -e\nSQL=\"" + server_->ClientCommand(db_) + "\"\n" + body + "\n");
    return "sh " + path;
  }
  std::string Fifo(const std::string& name) {
    std::string path = Path(name);
    EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0) << path;
    return path;
  }
  static std::string CreateTablesSql() {
    return "$SQL -e 'CREATE TABLE IF NOT EXISTS registry (name VARCHAR(191) PRIMARY KEY, value "
           "TEXT); CREATE TABLE IF NOT EXISTS seeds (id INT AUTO_INCREMENT PRIMARY KEY)'";
  }
  // The migration: creates the tables, logging start/end to `events`.
  std::string Migration() {
    return Script("migrate.sh", "echo \"start $$\" >> " + Path("events") + "\n" +
                                    CreateTablesSql() + "\necho \"end $$\" >> " + Path("events"));
  }
  // The migration, blocked after "start" until `fifo` is released; its pid
  // goes to `pidfile`.
  std::string BlockingMigration(const std::string& fifo, const std::string& pidfile) {
    return Script("blocking-migrate.sh", "echo $$ > " + pidfile + "\necho \"start $$\" >> " +
                                             Path("events") + "\n" + CreateTablesSql() +
                                             "\nread x < " + fifo + "\necho \"end $$\" >> " +
                                             Path("events"));
  }
  // The seed: a row in `seeds`; a line in `seeds-done` only at its end.
  std::string Seed() {
    return Script("seed.sh", "$SQL -e 'INSERT INTO seeds () VALUES ()'\necho \"done $$\" >> " +
                                 Path("seeds-done"));
  }
  std::string BlockingSeed(const std::string& fifo, const std::string& pidfile) {
    return Script("blocking-seed.sh", "echo $$ > " + pidfile +
                                          "\n$SQL -e 'INSERT INTO seeds () VALUES ()'\nread x < " +
                                          fifo + "\necho \"done $$\" >> " + Path("seeds-done"));
  }

  std::vector<std::string> Flags(std::vector<std::string> extra, int port = 0) {
    std::vector<std::string> f = server_->MigrateFlags(db_);
    if (port != 0) {
      for (size_t i = 0; i + 1 < f.size(); ++i) {
        if (f[i] == "--db-port") f[i + 1] = std::to_string(port);
      }
    }
    f.insert(f.end(), {"--log-format", "json", "--wait-timeout", "60s", "--lock-timeout", "120s"});
    f.insert(f.end(), extra.begin(), extra.end());
    return f;
  }

  std::string Sql(const std::string& query) {
    return server_->QueryValue(query).value_or("(error)");
  }
  // Completed seeds: lines in seeds-done.
  size_t SeedsDone() { return Lines(ReadFile(Path("seeds-done"))).size(); }
  // Registry rows of the seed key (0 or 1 is all that may ever be).
  std::string RegistryRows() {
    return Sql("SELECT COUNT(*) FROM `" + db_ +
               "`.registry WHERE name = 'SEEDER.INITIAL_SEED_RAN'");
  }
  std::string RegistryValue() {
    return server_
        ->QueryValue("SELECT value FROM `" + db_ +
                     "`.registry WHERE name = 'SEEDER.INITIAL_SEED_RAN'")
        .value_or("absent");
  }
  // The run's lock name (long database names get a hashed one).
  std::string LockName() const { return migrate::DefaultLockName(db_); }
  std::string LockHolder() {
    return server_->QueryValue("SELECT IS_USED_LOCK('" + LockName() + "')").value_or("(error)");
  }
  // Waits until the server has let go of the lock (after a client died, the
  // server notices the closed connection asynchronously).
  bool LockFree(milliseconds timeout = seconds(60)) {
    return WaitUntil([&] { return LockHolder() == "NULL"; }, timeout);
  }
  // A root connection to this test's database (to hold locks).
  std::unique_ptr<db::Connection> RootConnection() {
    db::ConnectOptions o;
    o.socket = server_->socket();
    o.user = "root";
    o.database = db_;
    std::unique_ptr<db::Connection> conn;
    Status st = db::Connection::Open(o, &conn);
    EXPECT_TRUE(st.ok()) << st.message();
    return conn;
  }

  // How many INSERTs into the registry wait on the server (as text).
  std::string QueuedSeedRecords() {
    return Sql("SELECT COUNT(*) FROM information_schema.processlist WHERE db = '" + db_ +
               "' AND info LIKE 'INSERT INTO `registry`%'");
  }

  // Holds the registry (LOCK TABLES on a root connection, returned: the
  // lock lasts as long as it), lets the blocked seed finish, and waits until
  // the run's INSERT of the seed row is queued behind the lock: the moment
  // between "seed done" and "seed recorded", made observable.
  std::unique_ptr<db::Connection> HoldTheSeedRecord(const std::string& fifo) {
    auto locker = RootConnection();
    if (locker == nullptr) return nullptr;
    Status st = locker->Execute("LOCK TABLES registry WRITE", "locking the registry");
    EXPECT_TRUE(st.ok()) << st.message();
    EXPECT_TRUE(ReleaseFifo(fifo, seconds(60)));
    bool queued = WaitUntil([&] { return QueuedSeedRecords() == "1"; }, seconds(60));
    EXPECT_TRUE(queued) << "the seed's registry INSERT never queued behind the lock";
    return st.ok() && queued ? std::move(locker) : nullptr;
  }

  // "start P"/"end P" lines must alternate with the same pid: no overlap.
  void ExpectNoOverlap(size_t runs) {
    auto events = Lines(ReadFile(Path("events")));
    ASSERT_EQ(events.size(), 2 * runs) << ReadFile(Path("events"));
    for (size_t i = 0; i + 1 < events.size(); i += 2) {
      ASSERT_EQ(events[i].rfind("start ", 0), 0u) << "event " << i << ": " << events[i];
      EXPECT_EQ(events[i + 1], "end " + events[i].substr(6)) << "event " << i + 1 << " overlaps";
    }
  }

  MariaDbServer* server_ = nullptr;
  std::string db_;
  TempDir tmp_;
};

}  // namespace initkit::testing
