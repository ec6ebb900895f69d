// initkit-secrets: options, and the sync/teardown/plan runs over a store.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/config.h"
#include "common/retry.h"
#include "common/status.h"
#include "tools/secrets/spec.h"

namespace initkit::secrets {

/// Everything a run needs, resolved from flags, environment and spec.
struct Options {
  std::string command;         // sync | teardown | plan
  Spec spec;                   // spec.secret is set
  std::string target = "k8s";  // k8s | dir:PATH | env-file:PATH
  std::string ns;              // "" = the connection's default namespace
  std::string kubeconfig;
  std::string context;
  std::string serviceaccount_dir;  // "" = INITKIT_SERVICEACCOUNT_DIR or the standard path
  Environment env;
  bool dry_run = false;
  Millis timeout{60000};          // whole run: retries stop here
  Millis request_timeout{10000};  // one HTTP request
  int conflict_attempts = 10;
  std::optional<KeycloakSpec> keycloak;  // set when Keycloak sync is enabled
  std::string keycloak_admin_client_secret;
};

/// The flag table of initkit-secrets.
ToolSpec SecretsToolSpec();

/// CurrentEnvironment() (INITKIT_*) plus the outside variables this tool
/// reads: KUBERNETES_SERVICE_HOST/PORT, KUBECONFIG, APP_ADMIN_SSO_ENABLED.
Environment SecretsEnvironment();

/// Resolves flags, environment (APP_ADMIN_SSO_ENABLED) and the spec file
/// into Options. Usage errors name the flag, file or spec path.
Status OptionsFromConfig(const Config& config, const Environment& env, Options* out);

/// Runs the command. *summary is the JSON summary for stdout (key names and
/// actions only, never values), filled as far as the run got.
Status Run(const Options& options, nlohmann::json* summary);

}  // namespace initkit::secrets
