#include "tools/migrate/migrate.h"

#include <openssl/evp.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/json_util.h"
#include "common/log.h"
#include "common/process.h"
#include "common/redis.h"
#include "common/retry.h"
#include "common/signals.h"

namespace initkit::migrate {
namespace {

using std::chrono::milliseconds;

constexpr size_t kMaxLockName = 64;  // MariaDB refuses longer user-level lock names
constexpr const char* kLockPrefix = "initkit-migrate:";
// GET_LOCK polls this long per call so a stop signal or the deadline is
// noticed within a quarter second.
constexpr const char* kLockPoll = "0.25";
constexpr milliseconds kChildStopGrace{10000};

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

std::string JoinArgv(const std::vector<std::string>& argv) {
  return log::Redact(DumpJson(nlohmann::json(argv)));
}

Status CheckStop() {
  if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
  return Status::Ok();
}

// The lock connection's read timeout bounds how long a ping can hang on a
// dead network path, so it is kept short.
db::ConnectOptions LockConnectionOptions(const db::ConnectOptions& base) {
  db::ConnectOptions o = base;
  o.read_timeout = std::min(o.read_timeout, milliseconds(10000));
  o.write_timeout = std::min(o.write_timeout, milliseconds(10000));
  return o;
}

// Connects and runs SELECT 1, retrying transient errors until `deadline`.
Status WaitForDatabase(const db::ConnectOptions& options, const Deadline& deadline,
                       std::unique_ptr<db::Connection>* out) {
  bool logged = false;
  return Retry("waiting for MariaDB at " + options.Describe(), BackoffPolicy{}, deadline,
               [&](int attempt) -> Status {
                 db::ConnectOptions o = options;
                 o.cancel_fd = signals::StopFd();
                 o.connect_timeout = std::max(milliseconds(1000),
                                              std::min(o.connect_timeout, deadline.Remaining()));
                 std::unique_ptr<db::Connection> conn;
                 Status st = db::Connection::Open(o, &conn);
                 if (st.ok()) st = conn->Execute("SELECT 1", "checking the database");
                 if (st.ok()) {
                   *out = std::move(conn);
                   if (attempt > 1) log::Info("database is reachable", {{"attempts", attempt}});
                   return st;
                 }
                 if (st.kind() == Status::Kind::kNotReady && !logged) {
                   log::Info("waiting for database",
                             {{"database", options.Describe()}, {"error", st.message()}});
                   logged = true;
                 }
                 return st;
               });
}

// Takes the named lock on `lock`, polling so stop signals and the deadline
// are honoured; a holder is named in the log once.
Status AcquireLock(std::unique_ptr<db::Connection>* lock_conn, const Options& o) {
  Deadline deadline = Deadline::After(o.lock_timeout);
  bool announced = false;
  auto start = Clock::now();
  while (true) {
    INITKIT_RETURN_IF_ERROR(CheckStop());
    db::Connection* lock = lock_conn->get();
    std::vector<db::Row> rows;
    Status st = lock->Prepared(std::string("SELECT GET_LOCK(?, ") + kLockPoll + ")", {o.lock_name},
                               "taking lock '" + o.lock_name + "'", &rows);
    if (st.kind() == Status::Kind::kNotReady) {
      // The server restarted or dropped us while we queued: we held
      // nothing yet, so reconnect and queue again within the lock deadline.
      log::Warn("lost the connection while waiting for the lock; reconnecting",
                {{"error", st.message()}});
      INITKIT_RETURN_IF_ERROR(WaitForDatabase(LockConnectionOptions(o.db), deadline, lock_conn));
      continue;
    }
    INITKIT_RETURN_IF_ERROR(st);
    if (rows.size() != 1 || rows[0].empty() || !rows[0][0]) {
      return Status::Failed("taking lock '" + o.lock_name + "': GET_LOCK returned NULL");
    }
    if (*rows[0][0] == "1") {
      auto waited = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
      log::Info("lock taken", {{"lock", o.lock_name}, {"waited", FormatDuration(waited)}});
      return Status::Ok();
    }
    if (!announced) {
      std::vector<db::Row> holder;
      std::string who = "another session";
      if (lock->Prepared("SELECT IS_USED_LOCK(?)", {o.lock_name}, "asking who holds the lock",
                         &holder)
              .ok() &&
          !holder.empty() && holder[0][0]) {
        who = "connection " + *holder[0][0];
      }
      log::Info(
          "waiting for the lock",
          {{"lock", o.lock_name}, {"held_by", who}, {"timeout", FormatDuration(o.lock_timeout)}});
      announced = true;
    }
    if (deadline.Expired()) {
      return Status::NotReady("lock '" + o.lock_name + "' is still held by another run after " +
                              FormatDuration(o.lock_timeout) + " (--lock-timeout)");
    }
  }
}

// Runs argv while checking that the lock connection lives; if it dies the
// command is stopped (TERM, then KILL after a grace period) and the run fails.
Status RunUnderLock(const std::vector<std::string>& argv, const std::string& what,
                    db::Connection* lock, const Options& o) {
  INITKIT_RETURN_IF_ERROR(CheckStop());
  log::Info("running " + what, {{"command", JoinArgv(argv)}});
  auto start = Clock::now();
  Child child;
  INITKIT_RETURN_IF_ERROR(child.Start(argv).Annotate(what));
  while (!child.Wait(o.lock_check_interval)) {
    if (signals::StopRequested()) continue;  // the signal was forwarded; wait for its end
    Status ping = lock->Ping();
    if (ping.ok()) continue;
    log::Error("lost the connection holding the lock; stopping " + what,
               {{"lock", o.lock_name}, {"error", ping.message()}});
    child.Kill(SIGTERM);
    if (!child.Wait(kChildStopGrace)) {
      child.Kill(SIGKILL);
      child.Wait();
    }
    return Status::Failed("lost the connection holding lock '" + o.lock_name + "' while " + what +
                          " ran, so it was stopped: " + ping.message());
  }
  Status st = child.Result();
  if (st.ok()) st = CheckStop();
  auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  if (st.ok()) log::Info(what + " succeeded", {{"seconds", took.count() / 1000.0}});
  return st.ok() || st.kind() == Status::Kind::kInterrupted ? st : st.Annotate(what);
}

struct Registry {
  std::string table, key_col, value_col;  // quoted
};

Status QuoteRegistry(const Options& o, Registry* r) {
  INITKIT_RETURN_IF_ERROR(db::QuoteIdentifier(o.registry_table, "--registry-table", &r->table));
  INITKIT_RETURN_IF_ERROR(
      db::QuoteIdentifier(o.registry_key_column, "--registry-key-column", &r->key_col));
  INITKIT_RETURN_IF_ERROR(
      db::QuoteIdentifier(o.registry_value_column, "--registry-value-column", &r->value_col));
  return Status::Ok();
}

std::string SelectSql(const Registry& r) {
  return "SELECT " + r.value_col + " FROM " + r.table + " WHERE " + r.key_col + " = ? LIMIT 1";
}

bool Truthy(const std::optional<std::string>& v) {
  return v && !v->empty() && *v != "0" && *v != "false";
}

// Whether the registry row says "seeded"; a missing table or column is a
// clear Failed naming the flag to check.
Status ReadSeeded(db::Connection* conn, const Options& o, const Registry& r, bool* seeded,
                  bool* row_exists) {
  std::vector<db::Row> rows;
  Status st = conn->Prepared(SelectSql(r), {o.registry_key},
                             "reading registry key '" + o.registry_key + "'", &rows);
  if (!st.ok()) {
    if (conn->last_error() == 1146) {  // ER_NO_SUCH_TABLE
      return Status::Failed("registry table '" + o.registry_table +
                            "' does not exist in database '" + o.db.database +
                            "' after migrating: did the migration create it? (--registry-table)");
    }
    if (conn->last_error() == 1054) {  // ER_BAD_FIELD_ERROR
      return Status::Failed("registry table '" + o.registry_table + "' has no column '" +
                            o.registry_key_column + "' or '" + o.registry_value_column +
                            "' (--registry-key-column / --registry-value-column): " + st.message());
    }
    return st;
  }
  *row_exists = !rows.empty();
  *seeded = !rows.empty() && Truthy(rows[0][0]);
  return Status::Ok();
}

// Records the seed in one statement that inserts only if no row exists, so a
// concurrent writer (an app pod, another tool) cannot make a duplicate.
Status MarkSeeded(db::Connection* conn, const Options& o, const Registry& r) {
  const std::string insert = "INSERT INTO " + r.table + " (" + r.key_col + ", " + r.value_col +
                             ") SELECT ?, '1' FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM " +
                             r.table + " WHERE " + r.key_col + " = ?)";
  const std::string update =
      "UPDATE " + r.table + " SET " + r.value_col + " = '1' WHERE " + r.key_col + " = ?";
  Status st;
  for (int attempt = 1; attempt <= 5; ++attempt) {
    uint64_t affected = 0;
    st = conn->Prepared(insert, {o.registry_key, o.registry_key},
                        "recording the seed in '" + o.registry_table + "'", nullptr, &affected);
    // A row that exists but says "not seeded" (e.g. '0') is set to '1'.
    if (st.ok() && affected == 0) {
      st = conn->Prepared(update, {o.registry_key}, "recording the seed", nullptr, &affected);
    }
    if (st.ok()) {
      log::Info("registry row written", {{"key", o.registry_key}, {"table", o.registry_table}});
      return st;
    }
    // Deadlock / lock wait with a concurrent writer: try again.
    if (conn->last_error() != 1213 && conn->last_error() != 1205) return st;
  }
  return st;
}

Status FlushRedis(const Options& o) {
  if (o.flush_prefixes.empty()) return Status::Ok();
  redis::Url url;
  INITKIT_RETURN_IF_ERROR(redis::ParseUrl(o.redis_url, &url));
  std::unique_ptr<redis::Client> client;
  Deadline deadline = Deadline::After(o.wait_timeout);
  INITKIT_RETURN_IF_ERROR(
      Retry("connecting to redis " + url.Redacted(), BackoffPolicy{}, deadline,
            [&](int) { return redis::Client::Connect(url, o.redis_timeout, &client); }));
  for (const auto& p : o.flush_prefixes) {
    INITKIT_RETURN_IF_ERROR(CheckStop());
    const std::string full = url.prefix + p;
    uint64_t deleted = 0;
    auto start = Clock::now();
    INITKIT_RETURN_IF_ERROR(client->DeleteByPrefix(full, 1000, &deleted));
    auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    log::Info("redis keys deleted", {{"prefix", full},
                                     {"keys", static_cast<unsigned long long>(deleted)},
                                     {"seconds", took.count() / 1000.0}});
  }
  return Status::Ok();
}

}  // namespace

std::string DefaultLockName(const std::string& database) {
  std::string name = std::string(kLockPrefix) + database;
  if (name.size() <= kMaxLockName) return name;
  return std::string(kLockPrefix) +
         Sha256Hex(database).substr(0, kMaxLockName - std::string(kLockPrefix).size());
}

ToolSpec Spec() {
  ToolSpec s;
  s.name = "initkit-migrate";
  s.summary =
      "Waits for MariaDB, serialises concurrent runs with a named lock, runs the migration, "
      "seeds exactly once, and flushes Redis key prefixes.";
  auto flag = [&](std::string name, FlagType type, std::string def, std::string help,
                  std::string value_name = "VALUE") {
    return &AddFlag(&s, std::move(name), type, std::move(def), std::move(help),
                    std::move(value_name));
  };

  flag("db-host", FlagType::kString, "127.0.0.1", "MariaDB host (TCP)", "HOST");
  flag("db-port", FlagType::kInt, "3306", "MariaDB port", "PORT");
  flag("db-socket", FlagType::kString, "", "MariaDB Unix socket (instead of host/port)", "PATH");
  flag("db-user", FlagType::kString, "", "MariaDB user", "USER");
  flag("db-password", FlagType::kString, "", "MariaDB password", "PASSWORD")->credential = true;
  flag("db-name", FlagType::kString, "", "database to migrate", "NAME");
  flag("db-tls-ca", FlagType::kString, "", "CA file: require TLS and verify the server", "FILE");
  flag("db-connect-timeout", FlagType::kDuration, "5s", "timeout of one connection attempt",
       "DURATION");
  flag("db-io-timeout", FlagType::kDuration, "30s", "read/write timeout of one query", "DURATION");
  flag("wait-timeout", FlagType::kDuration, "60s",
       "how long to wait for the database (and Redis) to accept connections", "DURATION");
  flag("lock-name", FlagType::kString, "",
       "named lock (GET_LOCK) serialising runs [default: initkit-migrate:<db-name>]", "NAME");
  flag("lock-timeout", FlagType::kDuration, "10m", "how long to wait for the lock", "DURATION");
  flag("migrate-cmd", FlagType::kString, "", "migration command (split like a shell, no shell)",
       "CMD");
  flag("seed-cmd", FlagType::kString, "",
       "seed command, run once (while the registry row is absent)", "CMD");
  flag("registry-table", FlagType::kString, "registry", "table recording the seed", "TABLE");
  flag("registry-key-column", FlagType::kString, "name", "key column of the registry", "COLUMN");
  flag("registry-value-column", FlagType::kString, "value", "value column of the registry",
       "COLUMN");
  flag("registry-key", FlagType::kString, "SEEDER.INITIAL_SEED_RAN", "registry key of the seed",
       "KEY");
  flag("mark-seeded", FlagType::kString, "yes",
       "insert the registry row after a successful seed (no: the seed writes it itself)", "yes|no")
      ->choices = {"yes", "no"};
  flag("redis-url", FlagType::kString, "",
       "Redis: tcp://h:p?prefix=&database=, redis://[:pw@]h:p/db, sentinel://h:26379/master, "
       "unix:///path",
       "URL");
  flag("redis-flush-prefix", FlagType::kList, "",
       "delete the keys under the URL's prefix + PREFIX after a successful run", "PREFIX");
  flag("redis-timeout", FlagType::kDuration, "5s", "timeout of one Redis connect/command",
       "DURATION");
  flag("status", FlagType::kBool, "false", "print the state as JSON and change nothing");
  flag("dry-run", FlagType::kBool, "false", "print what would be run and change nothing");
  return s;
}

Status OptionsFromConfig(const Config& c, Options* out) {
  Options o;
  o.status = c.GetBool("status");
  o.dry_run = c.GetBool("dry-run");
  o.db.host = c.Get("db-host");
  int64_t port = c.GetInt("db-port");
  if (port < 1 || port > 65535) {
    return Status::Usage("--db-port " + std::to_string(port) + ": not a port");
  }
  o.db.port = static_cast<int>(port);
  o.db.socket = c.Get("db-socket");
  o.db.user = c.Get("db-user");
  o.db.password = c.Get("db-password");
  log::AddSecret(o.db.password);
  o.db.database = c.Get("db-name");
  o.db.tls_ca = c.Get("db-tls-ca");
  o.db.connect_timeout = c.GetDuration("db-connect-timeout");
  o.db.read_timeout = o.db.write_timeout = c.GetDuration("db-io-timeout");
  if (!o.db.tls_ca.empty() && access(o.db.tls_ca.c_str(), R_OK) != 0) {
    return Status::Usage("--db-tls-ca " + o.db.tls_ca + ": not a readable file");
  }
  o.wait_timeout = c.GetDuration("wait-timeout");
  o.lock_timeout = c.GetDuration("lock-timeout");
  o.lock_name = c.IsSet("lock-name") ? c.Get("lock-name") : DefaultLockName(o.db.database);
  if (o.lock_name.empty() || o.lock_name.size() > kMaxLockName) {
    return Status::Usage("--lock-name must be 1 to 64 characters, got " +
                         std::to_string(o.lock_name.size()));
  }
  if (c.IsSet("migrate-cmd")) {
    INITKIT_RETURN_IF_ERROR(
        SplitWords(c.Get("migrate-cmd"), &o.migrate_cmd).Annotate("--migrate-cmd"));
    if (o.migrate_cmd.empty()) return Status::Usage("--migrate-cmd is empty");
  } else if (!o.status) {
    return Status::Usage("missing required --migrate-cmd (or INITKIT_MIGRATE_CMD)");
  }
  if (c.IsSet("seed-cmd")) {
    INITKIT_RETURN_IF_ERROR(SplitWords(c.Get("seed-cmd"), &o.seed_cmd).Annotate("--seed-cmd"));
    if (o.seed_cmd.empty()) return Status::Usage("--seed-cmd is empty");
  }
  o.registry_table = c.Get("registry-table");
  o.registry_key_column = c.Get("registry-key-column");
  o.registry_value_column = c.Get("registry-value-column");
  o.registry_key = c.Get("registry-key");
  Registry r;
  INITKIT_RETURN_IF_ERROR(QuoteRegistry(o, &r));
  if (o.registry_key.empty()) return Status::Usage("--registry-key is empty");
  o.mark_seeded = c.Get("mark-seeded") == "yes";
  o.redis_url = c.Get("redis-url");
  o.flush_prefixes = c.GetList("redis-flush-prefix");
  o.redis_timeout = c.GetDuration("redis-timeout");
  if (!o.flush_prefixes.empty()) {
    if (o.redis_url.empty()) return Status::Usage("--redis-flush-prefix needs --redis-url");
  }
  if (!o.redis_url.empty()) {
    redis::Url url;
    INITKIT_RETURN_IF_ERROR(redis::ParseUrl(o.redis_url, &url).Annotate("--redis-url"));
    for (const auto& p : o.flush_prefixes) {
      if (url.prefix + p == "") {
        return Status::Usage(
            "--redis-flush-prefix '' with a --redis-url without prefix would delete every key; "
            "refusing");
      }
    }
  }
  *out = std::move(o);
  return Status::Ok();
}

Status Run(const Options& o) {
  const Deadline wait_deadline = Deadline::After(o.wait_timeout);
  // The first connection becomes the lock connection: it lives for the
  // whole run, and closing it (on any exit) releases the lock.
  std::unique_ptr<db::Connection> lock;
  INITKIT_RETURN_IF_ERROR(WaitForDatabase(LockConnectionOptions(o.db), wait_deadline, &lock));
  INITKIT_RETURN_IF_ERROR(AcquireLock(&lock, o));

  INITKIT_RETURN_IF_ERROR(RunUnderLock(o.migrate_cmd, "migrate command", lock.get(), o));

  if (!o.seed_cmd.empty()) {
    Registry r;
    INITKIT_RETURN_IF_ERROR(QuoteRegistry(o, &r));
    // A fresh connection: the migration may have run for minutes, and the
    // lock connection stays dedicated to the lock.
    std::unique_ptr<db::Connection> work;
    INITKIT_RETURN_IF_ERROR(
        WaitForDatabase(o.db, Deadline::After(o.wait_timeout), &work).Annotate("after migrating"));
    bool seeded = false, row_exists = false;
    INITKIT_RETURN_IF_ERROR(ReadSeeded(work.get(), o, r, &seeded, &row_exists));
    if (seeded) {
      log::Info("already seeded; skipping the seed command", {{"key", o.registry_key}});
    } else {
      INITKIT_RETURN_IF_ERROR(RunUnderLock(o.seed_cmd, "seed command", lock.get(), o));
      if (o.mark_seeded) {
        // The seed may have taken long enough for the server to drop an idle
        // connection; reconnect rather than fail on a stale one.
        if (!work->Ping().ok()) {
          INITKIT_RETURN_IF_ERROR(WaitForDatabase(o.db, Deadline::After(o.wait_timeout), &work));
        }
        // Still holding the lock? A lost lock means another run may be
        // seeding too; better no row than a row for a seed that raced.
        INITKIT_RETURN_IF_ERROR(
            lock->Ping().Annotate("checking the lock before recording the seed"));
        INITKIT_RETURN_IF_ERROR(MarkSeeded(work.get(), o, r));
      }
    }
  }

  INITKIT_RETURN_IF_ERROR(CheckStop());
  INITKIT_RETURN_IF_ERROR(FlushRedis(o));

  std::vector<db::Row> rows;
  Status st = lock->Prepared("SELECT RELEASE_LOCK(?)", {o.lock_name}, "releasing the lock", &rows);
  if (!st.ok()) {
    log::Warn("could not release the lock; it goes with the connection", {{"error", st.message()}});
  }
  log::Info("migrate done", {{"lock", o.lock_name}});
  return Status::Ok();
}

Status StatusReport(const Options& o, std::string* json) {
  nlohmann::json j;
  j["database"] = o.db.Describe();
  j["database_reachable"] = false;
  j["lock_name"] = o.lock_name;
  j["lock_held"] = nullptr;
  j["lock_holder_connection"] = nullptr;
  j["registry_key"] = o.registry_key;
  j["registry_table_exists"] = nullptr;
  j["seeded"] = nullptr;
  j["error"] = nullptr;
  auto finish = [&](const Status& st) {
    if (!st.ok()) j["error"] = log::Redact(st.message());
    *json = log::Redact(DumpJson(j));
    return st;
  };
  std::unique_ptr<db::Connection> conn;
  db::ConnectOptions copts = o.db;
  copts.connect_timeout =
      std::min(copts.connect_timeout, std::max(o.wait_timeout, milliseconds(1000)));
  Status st = db::Connection::Open(copts, &conn);
  if (st.ok()) st = conn->Execute("SELECT 1", "checking the database");
  if (!st.ok()) return finish(st);
  j["database_reachable"] = true;
  std::vector<db::Row> rows;
  st = conn->Prepared("SELECT IS_USED_LOCK(?)", {o.lock_name}, "checking the lock", &rows);
  if (!st.ok()) return finish(st);
  bool held = !rows.empty() && rows[0][0].has_value();
  j["lock_held"] = held;
  if (held) j["lock_holder_connection"] = std::stoull(*rows[0][0]);
  Registry r;
  INITKIT_RETURN_IF_ERROR(QuoteRegistry(o, &r));
  bool seeded = false, row_exists = false;
  st = ReadSeeded(conn.get(), o, r, &seeded, &row_exists);
  if (st.ok()) {
    j["registry_table_exists"] = true;
    j["seeded"] = seeded;
  } else if (conn->last_error() == 1146) {
    j["registry_table_exists"] = false;
    j["seeded"] = false;
  } else {
    return finish(st);
  }
  return finish(Status::Ok());
}

std::string DryRunPlan(const Options& o) {
  std::string plan = "initkit-migrate dry run (nothing is changed)\n";
  int n = 0;
  auto step = [&](const std::string& text) { plan += std::to_string(++n) + ". " + text + "\n"; };
  step("wait up to " + FormatDuration(o.wait_timeout) + " for MariaDB at " + o.db.Describe() +
       (o.db.tls_ca.empty() ? "" : " (TLS, CA " + o.db.tls_ca + ")") + " (connect + SELECT 1)");
  step("take lock '" + o.lock_name + "' with GET_LOCK on its own connection, waiting up to " +
       FormatDuration(o.lock_timeout));
  step("run migrate command " + JoinArgv(o.migrate_cmd));
  if (!o.seed_cmd.empty()) {
    step("read registry: SELECT `" + o.registry_value_column + "` FROM `" + o.registry_table +
         "` WHERE `" + o.registry_key_column + "` = '" + o.registry_key + "'");
    step("if not seeded: run seed command " + JoinArgv(o.seed_cmd) +
         (o.mark_seeded ? ", then insert the registry row (value 1)"
                        : " (no registry row: --mark-seeded no)"));
  }
  if (!o.flush_prefixes.empty()) {
    redis::Url url;
    std::string where = o.redis_url;
    if (redis::ParseUrl(o.redis_url, &url).ok()) where = url.Redacted();
    for (const auto& p : o.flush_prefixes) {
      step("delete redis keys under prefix '" + url.prefix + p + "' on " + where +
           " (SCAN + UNLINK)");
    }
  }
  step("release the lock");
  return log::Redact(plan);
}

}  // namespace initkit::migrate
