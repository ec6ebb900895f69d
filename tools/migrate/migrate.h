// initkit-migrate: wait for MariaDB, serialise runs with a named lock,
// migrate, seed exactly once, flush Redis prefixes.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/db.h"
#include "common/status.h"

namespace initkit::migrate {

/// Everything one run needs, validated.
struct Options {
  db::ConnectOptions db;
  std::chrono::milliseconds wait_timeout{60000};
  std::chrono::milliseconds lock_timeout{600000};
  std::string lock_name;                 // never empty after OptionsFromConfig
  std::vector<std::string> migrate_cmd;  // argv; empty only in --status mode
  std::vector<std::string> seed_cmd;     // argv; empty = no seeding
  std::string registry_table = "registry";
  std::string registry_key_column = "name";
  std::string registry_value_column = "value";
  std::string registry_key = "SEEDER.INITIAL_SEED_RAN";
  bool mark_seeded = true;
  std::string redis_url;                    // "" = no Redis
  std::vector<std::string> flush_prefixes;  // relative to the URL's prefix
  std::chrono::milliseconds redis_timeout{5000};
  // How often the lock connection is checked while a command runs.
  std::chrono::milliseconds lock_check_interval{1000};
  bool status = false;
  bool dry_run = false;
};

/// The tool's flag table (contract's migrate section plus timeouts).
ToolSpec Spec();

/// Builds Options from parsed flags: splits the commands, validates the
/// registry identifiers, the lock name and the Redis URL. Bad input is a
/// Usage status naming the flag.
Status OptionsFromConfig(const Config& config, Options* out);

/// "initkit-migrate:<database>", or the same with a SHA-256 prefix of the
/// database name when that would exceed MariaDB's 64-character lock names.
std::string DefaultLockName(const std::string& database);

/// The whole run: wait for the database (NotReady on timeout), take the lock
/// (NotReady after --lock-timeout), migrate, seed once, flush Redis. A lost
/// lock connection stops the running command and fails.
Status Run(const Options& options);

/// --status: one JSON object (database reachable, seeded, lock held) in
/// *json, whatever the outcome; changes nothing. The status is Ok when the
/// database was reachable, else the connection error.
Status StatusReport(const Options& options, std::string* json);

/// --dry-run: the plan as text (credentials redacted); connects to nothing.
std::string DryRunPlan(const Options& options);

}  // namespace initkit::migrate
