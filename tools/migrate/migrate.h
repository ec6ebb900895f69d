// initkit-migrate: wait for MariaDB, serialise runs with a named lock,
// migrate, seed exactly once, flush Redis prefixes.
#pragma once

#include <string>

#include "common/db.h"
#include "common/retry.h"
#include "common/status.h"
#include "tools/migrate/options.h"

namespace initkit::migrate {

/// What a run talks to besides processes; tests substitute fakes.
struct Dependencies {
  db::Connector* connector = &db::Connector::MariaDb();
  const Clock* clock = &Clock::Real();  // deadlines and waits between attempts
};

/// The whole run: wait for the database (NotReady on timeout; an access
/// denied is retried as not-ready until --wait-timeout, then Failed), take
/// the lock (NotReady after --lock-timeout), migrate, seed once, flush Redis.
/// A lost lock connection stops the running command and fails.
Status Run(const Options& options, const Dependencies& deps = {});

/// --status: one JSON object (database reachable, seeded, lock held) in
/// *json, whatever the outcome; changes nothing. The status is Ok when the
/// database was reachable, else the connection error.
Status StatusReport(const Options& options, std::string* json, const Dependencies& deps = {});

/// The tool's work from its parsed flags (what main hands to ToolMain):
/// OptionsFromConfig, then --dry-run prints the plan, --status the JSON
/// report, else Run.
Status RunFromConfig(const Config& config);

/// --dry-run: the plan as text (credentials redacted); connects to nothing.
std::string DryRunPlan(const Options& options);

}  // namespace initkit::migrate
