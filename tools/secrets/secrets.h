// initkit-secrets: the sync/teardown/plan runs over a store.
#pragma once

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "tools/secrets/options.h"

namespace initkit::secrets {

/// Runs the command. *summary is the JSON summary for stdout (key names and
/// actions only, never values), filled as far as the run got.
Status Run(const Options& options, nlohmann::json* summary);

/// The tool's work for ToolMain: OptionsFromConfig (with SecretsEnvironment),
/// Run, then the summary on stdout, with "error" and "exit_code" on failure.
Status RunFromConfig(const Config& config);

}  // namespace initkit::secrets
