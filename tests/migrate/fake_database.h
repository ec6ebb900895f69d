// A stand-in for MariaDB behind db::Connector that understands exactly the
// statements initkit-migrate sends (GET_LOCK, IS_USED_LOCK, the processlist
// lookup, the registry SELECT/INSERT/UPDATE, RELEASE_LOCK) and appends what
// happened to an events file, where the commands of a run append too: the
// order of lock, commands and seed record is then one file to compare.
// Named locks follow MariaDB: one holder, freed when its connection closes.
#pragma once

#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/db.h"
#include "tests/fakes/fake_clock.h"

namespace initkit::testing {

class FakeDatabase : public db::Connector {
 public:
  FakeDatabase(std::string events_path, const FakeClock* clock)
      : events_path_(std::move(events_path)), clock_(clock) {}

  // --- Scripting (set before the run) ---
  int deny_opens = 0;       // the next N opens fail: access denied (1045)
  int ungranted_opens = 0;  // then the next N: no grant on the database (1044)
  int refuse_opens = 0;     // the next N opens fail: connection refused (2002)
  std::string holder;       // connection id holding the lock ("" = free)
  std::string holder_host = "10.0.0.5:41234";
  int release_after_polls = -1;  // the holder lets go after N refused GET_LOCKs
  int drop_waiter_at_poll = -1;  // that GET_LOCK fails: the server dropped us (2013)
  bool registry_exists = true;
  std::map<std::string, std::string> registry;
  // When this file exists, the lock connection is dead (pings fail, 2013).
  std::string lock_dies_when;

  int opens() const { return opens_; }
  int polls() const { return polls_; }

  void Event(const std::string& text) {
    std::ofstream(events_path_, std::ios::app) << "db: " << text << "\n";
  }

  Status Open(const db::ConnectOptions& options, std::unique_ptr<db::Connection>* out,
              unsigned* error) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++opens_;
    auto fail = [&](unsigned err, const std::string& text, bool transient) {
      if (error != nullptr) *error = err;
      std::string msg = "connecting to MariaDB on " + options.Describe() + ": " + text +
                        " (error " + std::to_string(err) + ")";
      return transient ? Status::NotReady(msg) : Status::Failed(msg);
    };
    if (deny_opens > 0) {
      --deny_opens;
      return fail(db::kErrAccessDenied,
                  "Access denied for user '" + options.user + "'@'10.0.0.9' (using password: YES)",
                  false);
    }
    if (ungranted_opens > 0) {
      --ungranted_opens;
      // The server's ER_DBACCESS_DENIED_ERROR text.
      return fail(db::kErrDbAccessDenied,
                  "Access denied for user '" + options.user + "'@'%' to database '" +
                      options.database + "'",
                  false);
    }
    if (refuse_opens > 0) {
      --refuse_opens;
      return fail(2002, "Can't connect to server", true);
    }
    if (error != nullptr) *error = 0;
    *out = std::make_unique<Conn>(this, std::to_string(100 + opens_));
    return Status::Ok();
  }

 private:
  class Conn : public db::Connection {
   public:
    Conn(FakeDatabase* db, std::string id) : db_(db), id_(std::move(id)) {}
    ~Conn() override {
      std::lock_guard<std::mutex> lock(db_->mu_);
      if (db_->holder == id_) db_->holder.clear();  // closing frees the lock
    }
    Status Query(const std::string& sql, const std::string& what,
                 std::vector<db::Row>* rows) override {
      rows->clear();
      if (sql == "SELECT 1") return Ok({{"1"}}, rows);
      return Fail(what, 1064, "unexpected statement: " + sql);
    }
    Status Prepared(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                    const std::string& what, std::vector<db::Row>* rows,
                    uint64_t* affected) override {
      std::vector<db::Row> scratch;
      if (rows == nullptr) rows = &scratch;
      rows->clear();
      std::lock_guard<std::mutex> lock(db_->mu_);
      auto starts = [&](const char* prefix) { return sql.rfind(prefix, 0) == 0; };
      if (starts("SELECT GET_LOCK(")) {
        ++db_->polls_;
        if (db_->polls_ == db_->drop_waiter_at_poll) {
          return Fail(what, 2013, "Lost connection to server during query");
        }
        if (!db_->holder.empty() && db_->holder != id_ && db_->release_after_polls >= 0 &&
            db_->polls_ > db_->release_after_polls) {
          db_->holder.clear();
        }
        if (db_->holder.empty() || db_->holder == id_) {
          db_->holder = id_;
          db_->Event("GET_LOCK " + params[0].value_or("") + " = 1");
          return Ok({{"1"}}, rows);
        }
        // The server waits the whole timeout for a lock it cannot grant.
        db_->clock_->Advance(
            Millis(static_cast<int64_t>(std::stod(params[1].value_or("0")) * 1000)));
        return Ok({{"0"}}, rows);
      }
      if (starts("SELECT IS_USED_LOCK(")) {
        if (db_->holder.empty()) return Ok({{std::nullopt}}, rows);
        return Ok({{db_->holder}}, rows);
      }
      if (starts("SELECT HOST, USER FROM information_schema.PROCESSLIST WHERE ID = ?")) {
        if (params[0] == db_->holder) return Ok({{db_->holder_host, "app"}}, rows);
        return Ok({}, rows);
      }
      if (starts("SELECT RELEASE_LOCK(")) {
        bool mine = db_->holder == id_;
        if (mine) db_->holder.clear();
        db_->Event("RELEASE_LOCK");
        return Ok({{mine ? "1" : "0"}}, rows);
      }
      if (starts("SELECT `value` FROM `registry` WHERE `name` = ?")) {
        if (!db_->registry_exists) return Fail(what, db::kErrNoSuchTable, "no such table");
        auto it = db_->registry.find(*params[0]);
        db_->Event(std::string("read registry: ") +
                   (it == db_->registry.end() ? "absent" : it->second));
        if (it == db_->registry.end()) return Ok({}, rows);
        return Ok({{it->second}}, rows);
      }
      if (starts("INSERT INTO `registry`")) {
        bool absent = db_->registry.emplace(*params[0], "1").second;
        if (affected != nullptr) *affected = absent ? 1 : 0;
        db_->Event("insert registry row");
        return Ok({}, rows);
      }
      if (starts("UPDATE `registry`")) {
        db_->registry[*params[0]] = "1";
        if (affected != nullptr) *affected = 1;
        db_->Event("update registry row");
        return Ok({}, rows);
      }
      return Fail(what, 1064, "unexpected statement: " + sql);
    }
    Status Ping() override {
      std::lock_guard<std::mutex> lock(db_->mu_);
      if (db_->holder == id_ && !db_->lock_dies_when.empty() &&
          ::access(db_->lock_dies_when.c_str(), F_OK) == 0) {
        db_->holder.clear();
        dead_ = true;
      }
      if (dead_) return Fail("pinging", 2013, "Lost connection to server during query");
      return Ok({}, nullptr);
    }
    unsigned last_error() const override { return last_error_; }
    unsigned long thread_id() const override { return std::stoul(id_); }

   private:
    Status Ok(std::vector<db::Row> result, std::vector<db::Row>* rows) {
      last_error_ = 0;
      if (rows != nullptr) *rows = std::move(result);
      return Status::Ok();
    }
    Status Fail(const std::string& what, unsigned err, const std::string& text) {
      last_error_ = err;
      std::string msg = what + ": " + text + " (error " + std::to_string(err) + ")";
      return db::IsTransientError(err) ? Status::NotReady(msg) : Status::Failed(msg);
    }
    FakeDatabase* db_;
    std::string id_;
    unsigned last_error_ = 0;
    bool dead_ = false;
  };

  std::mutex mu_;
  std::string events_path_;
  const FakeClock* clock_;
  int opens_ = 0;
  int polls_ = 0;
};

}  // namespace initkit::testing
