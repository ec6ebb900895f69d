// initkit-migrate's flag table and the typed options parsed from it once.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/db.h"
#include "common/redis.h"
#include "common/status.h"

namespace initkit::migrate {

/// The registry identifiers, each validated and quoted once
/// (db::QuoteIdentifier), ready to paste into SQL, plus the raw names for
/// messages.
struct Registry {
  std::string table = "registry";
  std::string key_column = "name";
  std::string value_column = "value";
  std::string quoted_table = "`registry`";
  std::string quoted_key_column = "`name`";
  std::string quoted_value_column = "`value`";
  std::string key = "SEEDER.INITIAL_SEED_RAN";
};

/// Everything one run needs, validated.
struct Options {
  db::ConnectOptions db;
  std::chrono::milliseconds wait_timeout{60000};
  std::chrono::milliseconds lock_timeout{600000};
  std::string lock_name;                 // never empty after OptionsFromConfig
  std::vector<std::string> migrate_cmd;  // argv; empty only in --status mode
  std::vector<std::string> seed_cmd;     // argv; empty = no seeding
  Registry registry;
  bool mark_seeded = true;
  std::optional<redis::Url> redis;          // parsed --redis-url; nullopt = no Redis
  std::vector<std::string> flush_prefixes;  // relative to the URL's prefix
  std::chrono::milliseconds redis_timeout{5000};
  // How often the lock connection is checked while a command runs.
  std::chrono::milliseconds lock_check_interval{1000};
  bool status = false;
  bool dry_run = false;
};

/// The tool's flag table.
ToolSpec Spec();

/// Builds Options from parsed flags: splits the commands, validates and
/// quotes the registry identifiers, the lock name and parses the Redis URL.
/// Without --lock-name, --db-name is required: GET_LOCK names are
/// server-wide, so a lock named after no database would serialise every app
/// on a shared server. Bad input is a Usage status naming the flag.
Status OptionsFromConfig(const Config& config, Options* out);

/// "initkit-migrate:<database>", or the same with a SHA-256 prefix of the
/// database name when that would exceed MariaDB's 64-character lock names.
/// `database` must not be empty.
std::string DefaultLockName(const std::string& database);

}  // namespace initkit::migrate
