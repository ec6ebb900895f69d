// initkit-secrets' command line: the flag table and the typed options a run
// needs, parsed once from flags, environment and the spec file.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/config.h"
#include "common/k8s_connection.h"
#include "common/retry.h"
#include "common/status.h"
#include "tools/secrets/spec.h"

namespace initkit::secrets {

/// `--target k8s`: Secrets through the Kubernetes API.
struct K8sTarget {};
/// `--target dir:PATH`: one file per key under PATH.
struct DirTarget {
  std::string path;
};
/// `--target env-file:PATH`: KEY=value lines in PATH.
struct EnvFileTarget {
  std::string path;
};
using Target = std::variant<K8sTarget, DirTarget, EnvFileTarget>;

/// Parses a --target value. Usage error (naming the flag) on anything but
/// "k8s", "dir:PATH" or "env-file:PATH" with a non-empty PATH.
Status ParseTarget(const std::string& text, Target* out);
/// "k8s", "dir" or "env-file", for the summary.
std::string TargetKind(const Target& target);

/// Everything a run needs, resolved from flags, environment and spec.
struct Options {
  std::string command;  // sync | teardown | plan
  Spec spec;            // spec.secret is set
  Target target = K8sTarget{};
  std::string ns;          // "" = the connection's default namespace
  K8sConnectionFlags k8s;  // --kubeconfig, --context, --serviceaccount-dir
  Environment env;
  bool dry_run = false;
  Millis timeout{60000};          // whole run: retries stop here
  Millis request_timeout{10000};  // one HTTP request
  int conflict_attempts = 10;
  std::vector<std::string> restart;      // Deployment names (--restart deployment/NAME)
  std::optional<KeycloakSpec> keycloak;  // set when Keycloak sync is enabled
  std::string keycloak_admin_client_secret;
  std::vector<std::string> warnings;  // settings that have no effect, said once at start
};

/// The flag table of initkit-secrets.
ToolSpec SecretsToolSpec();

/// CurrentEnvironment() (INITKIT_*) plus the outside variables this tool
/// reads: KUBERNETES_SERVICE_HOST/PORT, KUBECONFIG, APP_ADMIN_SSO_ENABLED.
Environment SecretsEnvironment();

/// Resolves flags, environment (APP_ADMIN_SSO_ENABLED) and the spec file
/// into Options. Usage errors name the flag, file or spec path. Keycloak
/// settings given by flag or INITKIT_* while Keycloak is disabled are not an
/// error (a platform sets them for every app and enables SSO per app) but
/// each is listed in out->warnings.
Status OptionsFromConfig(const Config& config, const Environment& env, Options* out);

}  // namespace initkit::secrets
