#include "tools/migrate/options.h"

#include <openssl/evp.h>
#include <unistd.h>

#include "common/log.h"
#include "common/process.h"
#include "common/random.h"

namespace initkit::migrate {
namespace {

constexpr size_t kMaxLockName = 64;  // MariaDB refuses longer user-level lock names
constexpr const char* kLockPrefix = "initkit-migrate:";

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(md), len));
}

Status ParseRegistry(const Config& c, Registry* r) {
  r->table = c.Get("registry-table");
  r->key_column = c.Get("registry-key-column");
  r->value_column = c.Get("registry-value-column");
  r->key = c.Get("registry-key");
  INITKIT_RETURN_IF_ERROR(db::QuoteIdentifier(r->table, "--registry-table", &r->quoted_table));
  INITKIT_RETURN_IF_ERROR(
      db::QuoteIdentifier(r->key_column, "--registry-key-column", &r->quoted_key_column));
  INITKIT_RETURN_IF_ERROR(
      db::QuoteIdentifier(r->value_column, "--registry-value-column", &r->quoted_value_column));
  if (r->key.empty()) return Status::Usage("--registry-key is empty");
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
                  std::string value_name) {
    return &AddFlag(&s, std::move(name), type, std::move(def), std::move(help),
                    std::move(value_name));
  };

  flag("db-host", FlagType::kString, "127.0.0.1", "MariaDB host (TCP)", "HOST");
  flag("db-port", FlagType::kInt, "3306", "MariaDB port", "PORT");
  flag("db-socket", FlagType::kString, "", "MariaDB Unix socket (instead of host/port)", "PATH");
  flag("db-user", FlagType::kString, "", "MariaDB user", "USER");
  flag("db-password", FlagType::kString, "", "MariaDB password", "PASSWORD")->credential = true;
  flag("db-name", FlagType::kString, "",
       "database to migrate (required unless --lock-name is given: it names the lock)", "NAME");
  flag("db-tls-ca", FlagType::kString, "", "CA file: require TLS and verify the server", "FILE");
  flag("db-connect-timeout", FlagType::kDuration, "5s", "timeout of one connection attempt",
       "DURATION");
  flag("db-io-timeout", FlagType::kDuration, "30s", "read/write timeout of one query", "DURATION");
  flag("wait-timeout", FlagType::kDuration, "60s",
       "how long to wait for the database (and Redis) to accept connections; access denied "
       "and no grant on the database are retried as long, since a new password or grant may "
       "take a moment to reach the database user",
       "DURATION");
  flag("lock-name", FlagType::kString, "",
       "named lock (GET_LOCK) serialising runs; lock names are server-wide "
       "[default: initkit-migrate:<db-name>]",
       "NAME");
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
  flag("status", FlagType::kBool, "false", "print the state as JSON and change nothing", "");
  flag("dry-run", FlagType::kBool, "false", "print what would be run and change nothing", "");
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
  if (c.IsSet("lock-name")) {
    o.lock_name = c.Get("lock-name");
  } else if (o.db.database.empty()) {
    return Status::Usage(
        "missing --db-name (or INITKIT_DB_NAME): the lock is named initkit-migrate:<db-name>, "
        "and GET_LOCK names are server-wide, so without it every app on this server would wait "
        "for the others; give --db-name, or --lock-name to name the lock yourself");
  } else {
    o.lock_name = DefaultLockName(o.db.database);
  }
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
  INITKIT_RETURN_IF_ERROR(ParseRegistry(c, &o.registry));
  o.mark_seeded = c.Get("mark-seeded") == "yes";
  o.flush_prefixes = c.GetList("redis-flush-prefix");
  o.redis_timeout = c.GetDuration("redis-timeout");
  const std::string redis_url = c.Get("redis-url");
  if (!o.flush_prefixes.empty() && redis_url.empty()) {
    return Status::Usage("--redis-flush-prefix needs --redis-url");
  }
  if (!redis_url.empty()) {
    redis::Url url;
    INITKIT_RETURN_IF_ERROR(redis::ParseUrl(redis_url, &url).Annotate("--redis-url"));
    for (const auto& p : o.flush_prefixes) {
      if (url.prefix + p == "") {
        return Status::Usage(
            "--redis-flush-prefix '' with a --redis-url without prefix would delete every key; "
            "refusing");
      }
    }
    o.redis = std::move(url);
  }
  *out = std::move(o);
  return Status::Ok();
}

}  // namespace initkit::migrate
