#include "tools/migrate/migrate.h"

#include <signal.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "common/json_util.h"
#include "common/log.h"
#include "common/process.h"
#include "common/redis.h"
#include "common/signals.h"

namespace initkit::migrate {
namespace {

using std::chrono::milliseconds;

// How long one GET_LOCK waits on the server. The wait is cut short by a
// stop signal (the connection's cancel_fd), so it only bounds how often
// the holder is looked up and progress can be logged.
constexpr milliseconds kLockPoll{1000};
constexpr milliseconds kChildStopGrace{10000};

std::string JoinArgv(const std::vector<std::string>& argv) {
  return log::Redact(DumpJson(nlohmann::json(argv)));
}

Status CheckStop() {
  if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
  return Status::Ok();
}

// "0.25" style seconds for GET_LOCK's timeout argument.
std::string SecondsText(milliseconds d) {
  char buf[32];
  (void)std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

// Refusals a database operator clears a moment later: the user or its new
// password not applied yet (1045), or its Grant not yet (1044; mariadb-
// operator reconciles User and Grant as separate resources). Waited out for
// --wait-timeout like an unreachable server, then permanent.
bool IsNotYetGranted(unsigned err) {
  return err == db::kErrAccessDenied || err == db::kErrDbAccessDenied;
}

// The lock connection's read timeout bounds how long a ping can hang on a
// dead network path, so it is kept short.
db::ConnectOptions LockConnectionOptions(const db::ConnectOptions& base) {
  db::ConnectOptions o = base;
  o.read_timeout = std::min(o.read_timeout, milliseconds(10000));
  o.write_timeout = std::min(o.write_timeout, milliseconds(10000));
  return o;
}

// Who holds the lock, as far as the processlist tells.
struct Holder {
  std::string id;     // CONNECTION_ID() of the holder; "" = not known yet
  std::string where;  // "10.0.0.5:41234" (the processlist's HOST), or why unknown
  Clock::time_point since;
};

bool Truthy(const std::optional<std::string>& v) {
  return v && !v->empty() && *v != "0" && *v != "false";
}

// The processlist's HOST (host:port of a TCP client, "localhost" for a
// socket) and USER of connection `id`. False when the row is not visible:
// without the PROCESS privilege a user sees only its own connections.
bool LookUpConnection(db::Connection* conn, const std::string& id, std::string* host,
                      std::string* user) {
  std::vector<db::Row> rows;
  if (!conn->Prepared("SELECT HOST, USER FROM information_schema.PROCESSLIST WHERE ID = ?", {id},
                      "looking the lock holder up in the processlist", &rows)
           .ok() ||
      rows.empty() || rows[0].size() != 2 || !rows[0][0]) {
    return false;
  }
  *host = *rows[0][0];
  *user = rows[0][1].value_or("");
  return true;
}

// One run: the options and what it talks to.
class Migration {
 public:
  Migration(const Options& o, const Dependencies& d)
      : o_(o), connector_(*d.connector), clock_(*d.clock) {}

  Status Run();
  Status Report(std::string* json);

 private:
  Status Open(const db::ConnectOptions& options, const Deadline& deadline,
              std::unique_ptr<db::Connection>* out, unsigned* error);
  Status WaitForDatabase(const db::ConnectOptions& options, std::unique_ptr<db::Connection>* out);
  Status AcquireLock(std::unique_ptr<db::Connection>* lock);
  void IdentifyHolder(db::Connection* conn, Clock::time_point asked, Holder* holder);
  Status RunUnderLock(const std::vector<std::string>& argv, const std::string& what,
                      db::Connection* lock);
  Status ReadSeeded(db::Connection* conn, bool* seeded);
  Status MarkSeeded(db::Connection* conn);
  Status FlushRedis();

  const Options& o_;
  db::Connector& connector_;
  const Clock& clock_;
};

// One connection attempt, bounded by `deadline`, cancelled by a stop signal.
Status Migration::Open(const db::ConnectOptions& options, const Deadline& deadline,
                       std::unique_ptr<db::Connection>* out, unsigned* error) {
  db::ConnectOptions c = options;
  c.cancel_fd = signals::StopFd();
  c.connect_timeout =
      std::max(milliseconds(1000), std::min(c.connect_timeout, deadline.Remaining()));
  return connector_.Open(c, out, error);
}

// Connects and runs SELECT 1, retrying transient errors until
// --wait-timeout. Access denied counts as not ready as long: a rotated
// password reaches the database user a moment after the Secret (an
// operator applies it), and a run started in between must not fail.
Status Migration::WaitForDatabase(const db::ConnectOptions& options,
                                  std::unique_ptr<db::Connection>* out) {
  const Deadline deadline = Deadline::After(o_.wait_timeout, clock_);
  bool waiting_logged = false;
  // One warning per refusal: the operator's order is 1045 (User not applied
  // yet), then 1044 (its Grant not yet), and the log must say which it is.
  std::set<unsigned> denied_logged;
  unsigned last_error = 0;
  std::string last_message;
  Status st =
      Retry("waiting for MariaDB at " + options.Describe(), BackoffPolicy{}, deadline,
            [&](int attempt) -> Status {
              std::unique_ptr<db::Connection> conn;
              unsigned err = 0;
              Status st = Open(options, deadline, &conn, &err);
              if (st.ok()) {
                st = conn->Execute("SELECT 1", "checking the database");
                err = conn->last_error();
              }
              if (st.ok()) {
                *out = std::move(conn);
                if (attempt > 1) log::Info("database is reachable", {{"attempts", attempt}});
                return st;
              }
              last_error = err;
              last_message = st.message();
              if (IsNotYetGranted(err)) {
                if (denied_logged.insert(err).second) {
                  log::Warn(err == db::kErrAccessDenied
                                ? "MariaDB refused user '" + options.user +
                                      "' (access denied): the password may not have propagated "
                                      "to the database user yet; retrying until --wait-timeout"
                                : "MariaDB refused user '" + options.user +
                                      "' access to database '" + options.database +
                                      "': its grant may not have been applied yet; retrying "
                                      "until --wait-timeout",
                            {{"user", options.user},
                             {"database", options.Describe()},
                             {"wait_timeout", FormatDuration(o_.wait_timeout)},
                             {"error", st.message()}});
                }
                return Status::NotReady(st.message());
              }
              if (st.kind() == Status::Kind::kNotReady && !waiting_logged) {
                log::Info("waiting for database",
                          {{"database", options.Describe()}, {"error", st.message()}});
                waiting_logged = true;
              }
              return st;
            });
  if (st.kind() == Status::Kind::kNotReady && last_error == db::kErrAccessDenied) {
    return Status::Failed(
        "MariaDB at " + options.Describe() + " refused user '" + options.user +
        "' (access denied) for the whole --wait-timeout " + FormatDuration(o_.wait_timeout) +
        ": the password is wrong, or a new password never reached the database user; last: " +
        last_message);
  }
  if (st.kind() == Status::Kind::kNotReady && last_error == db::kErrDbAccessDenied) {
    return Status::Failed(
        "MariaDB at " + options.Describe() + " refused user '" + options.user +
        "' access to database '" + options.database + "' for the whole --wait-timeout " +
        FormatDuration(o_.wait_timeout) +
        ": the user has no grant on it (a missing or unapplied Grant), or --db-name is misspelt "
        "(MariaDB answers 1044, not 1049, for a database the user may not use, whether or not it "
        "exists); last: " +
        last_message);
  }
  return st;
}

// Looks the lock's holder up (IS_USED_LOCK, then its processlist row) when
// it is a different connection than last time, and names it in the log.
// `asked` is when the GET_LOCK that found it held began: the holder has
// held the lock at least since then.
void Migration::IdentifyHolder(db::Connection* conn, Clock::time_point asked, Holder* holder) {
  std::vector<db::Row> rows;
  if (!conn->Prepared("SELECT IS_USED_LOCK(?)", {o_.lock_name}, "asking who holds the lock", &rows)
           .ok() ||
      rows.empty() || rows[0].empty() || !rows[0][0]) {
    return;  // released in the meantime, or we cannot tell
  }
  if (*rows[0][0] == holder->id) return;
  holder->id = *rows[0][0];
  holder->since = asked;
  holder->where = "an unknown host (the processlist does not show connection " + holder->id +
                  " to user '" + o_.db.user + "')";
  std::string host, user;
  if (LookUpConnection(conn, holder->id, &host, &user)) holder->where = host;
  log::Info("waiting for the lock", {{"lock", o_.lock_name},
                                     {"held_by", holder->where},
                                     {"holder_connection", holder->id},
                                     {"holder_user", user},
                                     {"timeout", FormatDuration(o_.lock_timeout)}});
}

// Takes the named lock on *lock (connecting first if it is null), waiting up
// to --lock-timeout. The wait is GET_LOCK on the server in kLockPoll steps;
// a connection lost while queueing (we held nothing yet) is reopened.
Status Migration::AcquireLock(std::unique_ptr<db::Connection>* lock) {
  const Deadline deadline = Deadline::After(o_.lock_timeout, clock_);
  const Clock::time_point start = clock_.Now();
  Holder holder;
  auto held_text = [&] {
    if (holder.id.empty()) return std::string("held by another session");
    return "held by " + holder.where + " (connection " + holder.id + ") for at least " +
           FormatDuration(std::chrono::floor<std::chrono::seconds>(clock_.Now() - holder.since));
  };
  // A short pause between the server-side waits, jittered so that many
  // waiters do not ask in lockstep.
  const BackoffPolicy between{
      .initial = milliseconds(50), .max = milliseconds(50), .multiplier = 1.0, .jitter = 0.5};
  Status st =
      Retry("waiting for lock '" + o_.lock_name + "'", between, deadline, [&](int) -> Status {
        if (*lock == nullptr) {
          unsigned err = 0;
          Status st = Open(LockConnectionOptions(o_.db), deadline, lock, &err);
          if (!st.ok()) {
            return IsNotYetGranted(err) ? Status::NotReady(st.message()) : st;
          }
        }
        std::vector<db::Row> rows;
        const Clock::time_point asked = clock_.Now();
        Status st = (*lock)->Prepared(
            "SELECT GET_LOCK(?, ?)",
            {o_.lock_name, SecondsText(std::min(kLockPoll, deadline.Remaining()))},
            "taking lock '" + o_.lock_name + "'", &rows);
        if (st.kind() == Status::Kind::kNotReady) {
          // The server restarted or dropped us while we queued: we held
          // nothing yet, so connect again and queue again.
          log::Warn("lost the connection while waiting for the lock; reconnecting",
                    {{"lock", o_.lock_name}, {"error", st.message()}});
          lock->reset();
          return st;
        }
        INITKIT_RETURN_IF_ERROR(st);
        if (rows.size() != 1 || rows[0].empty() || !rows[0][0]) {
          return Status::Failed("taking lock '" + o_.lock_name + "': GET_LOCK returned NULL");
        }
        if (*rows[0][0] == "1") return Status::Ok();
        IdentifyHolder(lock->get(), asked, &holder);
        return Status::NotReady("lock '" + o_.lock_name + "' is " + held_text());
      });
  if (st.ok()) {
    log::Info("lock taken",
              {{"lock", o_.lock_name},
               {"waited",
                FormatDuration(std::chrono::duration_cast<milliseconds>(clock_.Now() - start))}});
    return st;
  }
  if (st.kind() == Status::Kind::kNotReady && *lock != nullptr) {
    return Status::NotReady("lock '" + o_.lock_name + "' is still held by another run after " +
                            FormatDuration(o_.lock_timeout) + " (--lock-timeout): " + held_text());
  }
  return st;
}

// Runs argv while checking that the lock connection lives; if it dies the
// command is stopped (TERM, then KILL after a grace period) and the run fails.
Status Migration::RunUnderLock(const std::vector<std::string>& argv, const std::string& what,
                               db::Connection* lock) {
  INITKIT_RETURN_IF_ERROR(CheckStop());
  log::Info("running " + what, {{"command", JoinArgv(argv)}});
  auto start = Clock::now();
  // A long migration shows it is alive, like every wait does.
  auto next_progress = start + ProgressInterval();
  Child child;
  INITKIT_RETURN_IF_ERROR(child.Start(argv).Annotate(what));
  while (!child.Wait(std::min(o_.lock_check_interval, ProgressInterval()))) {
    if (signals::StopRequested()) continue;  // the signal was forwarded; wait for its end
    if (Clock::now() >= next_progress) {
      log::Info(what + " still running",
                {{"elapsed",
                  FormatDuration(std::chrono::duration_cast<milliseconds>(Clock::now() - start))},
                 {"lock", o_.lock_name}});
      while (next_progress <= Clock::now()) next_progress += ProgressInterval();
    }
    Status ping = lock->Ping();
    if (ping.ok()) continue;
    log::Error("lost the connection holding the lock; stopping " + what,
               {{"lock", o_.lock_name}, {"error", ping.message()}});
    child.Kill(SIGTERM);
    if (!child.Wait(kChildStopGrace)) {
      child.Kill(SIGKILL);
      child.Wait();
    }
    return Status::Failed("lost the connection holding lock '" + o_.lock_name + "' while " + what +
                          " ran, so it was stopped: " + ping.message());
  }
  Status st = child.Result();
  if (st.ok()) st = CheckStop();
  auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  if (st.ok()) log::Info(what + " succeeded", {{"seconds", took.count() / 1000.0}});
  return st.ok() || st.kind() == Status::Kind::kInterrupted ? st : st.Annotate(what);
}

// Whether the registry row says "seeded"; a missing table or column is a
// clear Failed naming the flag to check.
Status Migration::ReadSeeded(db::Connection* conn, bool* seeded) {
  const Registry& r = o_.registry;
  std::vector<db::Row> rows;
  Status st = conn->Prepared("SELECT " + r.quoted_value_column + " FROM " + r.quoted_table +
                                 " WHERE " + r.quoted_key_column + " = ? LIMIT 1",
                             {r.key}, "reading registry key '" + r.key + "'", &rows);
  if (!st.ok()) {
    if (conn->last_error() == db::kErrNoSuchTable) {
      return Status::Failed("registry table '" + r.table + "' does not exist in database '" +
                            o_.db.database +
                            "' after migrating: did the migration create it? "
                            "(--registry-table)");
    }
    if (conn->last_error() == db::kErrBadField) {
      return Status::Failed("registry table '" + r.table + "' has no column '" + r.key_column +
                            "' or '" + r.value_column +
                            "' (--registry-key-column / --registry-value-column): " + st.message());
    }
    return st;
  }
  *seeded = !rows.empty() && Truthy(rows[0][0]);
  return Status::Ok();
}

// Records the seed in one statement that inserts only if no row exists, so a
// concurrent writer (an app pod, another tool) cannot make a duplicate.
Status Migration::MarkSeeded(db::Connection* conn) {
  const Registry& r = o_.registry;
  const std::string insert = "INSERT INTO " + r.quoted_table + " (" + r.quoted_key_column + ", " +
                             r.quoted_value_column +
                             ") SELECT ?, '1' FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM " +
                             r.quoted_table + " WHERE " + r.quoted_key_column + " = ?)";
  const std::string update = "UPDATE " + r.quoted_table + " SET " + r.quoted_value_column +
                             " = '1' WHERE " + r.quoted_key_column + " = ?";
  Status st;
  for (int attempt = 1; attempt <= 5; ++attempt) {
    uint64_t affected = 0;
    st = conn->Prepared(insert, {r.key, r.key}, "recording the seed in '" + r.table + "'", nullptr,
                        &affected);
    // A row that exists but says "not seeded" (e.g. '0') is set to '1'.
    if (st.ok() && affected == 0) {
      st = conn->Prepared(update, {r.key}, "recording the seed", nullptr, &affected);
    }
    if (st.ok()) {
      log::Info("registry row written", {{"key", r.key}, {"table", r.table}});
      return st;
    }
    // Deadlock / lock wait with a concurrent writer: try again.
    if (conn->last_error() != db::kErrLockDeadlock &&
        conn->last_error() != db::kErrLockWaitTimeout) {
      return st;
    }
  }
  return st;
}

Status Migration::FlushRedis() {
  if (o_.flush_prefixes.empty() || !o_.redis) return Status::Ok();
  const redis::Url& url = *o_.redis;
  std::unique_ptr<redis::Client> client;
  INITKIT_RETURN_IF_ERROR(Retry("connecting to redis " + url.Redacted(), BackoffPolicy{},
                                Deadline::After(o_.wait_timeout, clock_), [&](int) {
                                  return redis::Client::Connect(url, o_.redis_timeout, &client);
                                }));
  for (const auto& p : o_.flush_prefixes) {
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

Status Migration::Run() {
  // The first connection becomes the lock connection: it lives for the
  // whole run, and closing it (on any exit) releases the lock.
  std::unique_ptr<db::Connection> lock;
  INITKIT_RETURN_IF_ERROR(WaitForDatabase(LockConnectionOptions(o_.db), &lock));
  INITKIT_RETURN_IF_ERROR(AcquireLock(&lock));

  INITKIT_RETURN_IF_ERROR(RunUnderLock(o_.migrate_cmd, "migrate command", lock.get()));

  if (!o_.seed_cmd.empty()) {
    // A fresh connection: the migration may have run for minutes, and the
    // lock connection stays dedicated to the lock.
    std::unique_ptr<db::Connection> work;
    INITKIT_RETURN_IF_ERROR(WaitForDatabase(o_.db, &work).Annotate("after migrating"));
    bool seeded = false;
    INITKIT_RETURN_IF_ERROR(ReadSeeded(work.get(), &seeded));
    if (seeded) {
      log::Info("already seeded; skipping the seed command", {{"key", o_.registry.key}});
    } else {
      INITKIT_RETURN_IF_ERROR(RunUnderLock(o_.seed_cmd, "seed command", lock.get()));
      if (o_.mark_seeded) {
        // The seed may have taken long enough for the server to drop an idle
        // connection; reconnect rather than fail on a stale one.
        if (!work->Ping().ok()) INITKIT_RETURN_IF_ERROR(WaitForDatabase(o_.db, &work));
        // Still holding the lock? A lost lock means another run may be
        // seeding too; better no row than a row for a seed that raced.
        Status alive = lock->Ping();
        if (!alive.ok()) {
          return Status::Failed("lost the connection holding lock '" + o_.lock_name +
                                "' before recording the seed, so it is not recorded and the next "
                                "run seeds again: " +
                                alive.message());
        }
        INITKIT_RETURN_IF_ERROR(MarkSeeded(work.get()));
      }
    }
  }

  INITKIT_RETURN_IF_ERROR(CheckStop());
  INITKIT_RETURN_IF_ERROR(FlushRedis());

  std::vector<db::Row> rows;
  Status st = lock->Prepared("SELECT RELEASE_LOCK(?)", {o_.lock_name}, "releasing the lock", &rows);
  if (!st.ok()) {
    log::Warn("could not release the lock; it goes with the connection", {{"error", st.message()}});
  }
  log::Info("migrate done", {{"lock", o_.lock_name}});
  return Status::Ok();
}

Status Migration::Report(std::string* json) {
  nlohmann::json j;
  j["database"] = o_.db.Describe();
  j["database_reachable"] = false;
  j["lock_name"] = o_.lock_name;
  j["lock_held"] = nullptr;
  j["lock_holder_connection"] = nullptr;
  j["lock_holder_host"] = nullptr;
  j["registry_key"] = o_.registry.key;
  j["registry_table_exists"] = nullptr;
  j["seeded"] = nullptr;
  j["error"] = nullptr;
  auto finish = [&](const Status& st) {
    if (!st.ok()) j["error"] = log::Redact(st.message());
    *json = log::Redact(DumpJson(j));
    return st;
  };
  std::unique_ptr<db::Connection> conn;
  db::ConnectOptions copts = o_.db;
  copts.connect_timeout =
      std::min(copts.connect_timeout, std::max(o_.wait_timeout, milliseconds(1000)));
  unsigned err = 0;
  Status st = connector_.Open(copts, &conn, &err);
  if (st.ok()) st = conn->Execute("SELECT 1", "checking the database");
  if (!st.ok()) return finish(st);
  j["database_reachable"] = true;
  std::vector<db::Row> rows;
  st = conn->Prepared("SELECT IS_USED_LOCK(?)", {o_.lock_name}, "checking the lock", &rows);
  if (!st.ok()) return finish(st);
  bool held = !rows.empty() && !rows[0].empty() && rows[0][0].has_value();
  j["lock_held"] = held;
  if (held) {
    j["lock_holder_connection"] = std::stoull(*rows[0][0]);
    std::string host, user;
    if (LookUpConnection(conn.get(), *rows[0][0], &host, &user)) j["lock_holder_host"] = host;
  }
  bool seeded = false;
  st = ReadSeeded(conn.get(), &seeded);
  if (st.ok()) {
    j["registry_table_exists"] = true;
    j["seeded"] = seeded;
  } else if (conn->last_error() == db::kErrNoSuchTable) {
    j["registry_table_exists"] = false;
    j["seeded"] = false;
  } else {
    return finish(st);
  }
  return finish(Status::Ok());
}

}  // namespace

Status Run(const Options& options, const Dependencies& deps) {
  return Migration(options, deps).Run();
}

Status StatusReport(const Options& options, std::string* json, const Dependencies& deps) {
  return Migration(options, deps).Report(json);
}

Status RunFromConfig(const Config& config) {
  Options options;
  INITKIT_RETURN_IF_ERROR(OptionsFromConfig(config, &options));
  if (options.dry_run) {
    (void)std::fputs(DryRunPlan(options).c_str(), stdout);
    (void)std::fflush(stdout);
    return Status::Ok();
  }
  if (options.status) {
    std::string json;
    Status st = StatusReport(options, &json);
    (void)std::printf("%s\n", json.c_str());
    (void)std::fflush(stdout);
    return st;
  }
  return Run(options);
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
    const Registry& r = o.registry;
    step("read registry: SELECT " + r.quoted_value_column + " FROM " + r.quoted_table + " WHERE " +
         r.quoted_key_column + " = '" + r.key + "'");
    step("if not seeded: run seed command " + JoinArgv(o.seed_cmd) +
         (o.mark_seeded ? ", then insert the registry row (value 1)"
                        : " (no registry row: --mark-seeded no)"));
  }
  if (o.redis) {
    for (const auto& p : o.flush_prefixes) {
      step("delete redis keys under prefix '" + o.redis->prefix + p + "' on " +
           o.redis->Redacted() + " (SCAN + UNLINK)");
    }
  }
  step("release the lock");
  return log::Redact(plan);
}

}  // namespace initkit::migrate
