#include "tools/secrets/options.h"

#include <cstdlib>

#include "common/file_util.h"
#include "common/k8s_client.h"
#include "common/k8s_rollout.h"
#include "common/log.h"
#include "common/strings.h"

namespace initkit::secrets {

Status ParseTarget(const std::string& text, Target* out) {
  if (text == "k8s") {
    *out = K8sTarget{};
    return Status::Ok();
  }
  for (const char* prefix : {"dir:", "env-file:"}) {
    std::string p = prefix;
    if (text.rfind(p, 0) != 0) continue;
    std::string path = text.substr(p.size());
    if (path.empty()) return Status::Usage("--target " + text + " needs a PATH");
    if (p == "dir:") {
      *out = DirTarget{path};
    } else {
      *out = EnvFileTarget{path};
    }
    return Status::Ok();
  }
  return Status::Usage("--target: \"" + text + "\" is not k8s, dir:PATH or env-file:PATH");
}

std::string TargetKind(const Target& target) {
  if (std::holds_alternative<DirTarget>(target)) return "dir";
  if (std::holds_alternative<EnvFileTarget>(target)) return "env-file";
  return "k8s";
}

ToolSpec SecretsToolSpec() {
  ToolSpec t;
  t.name = "initkit-secrets";
  t.summary =
      "Generates once / rotates app secrets in a Kubernetes Secret (or a directory / env file "
      "for docker compose) and syncs the Keycloak admin-SSO client.";
  t.positionals = {{"command", "sync | teardown | plan", {"sync", "teardown", "plan"}, true}};
  using T = FlagType;
  AddFlag(&t, "spec", T::kString, "",
          "JSON spec file (default: the built-in spec, what prepare_infrastructure.php did)",
          "PATH");
  AddFlag(&t, "namespace", T::kString, "",
          "namespace of the Secrets (default: the service account's / context's)", "NAMESPACE");
  AddFlag(&t, "secret", T::kString, "", "name of the app Secret (overrides the spec's \"secret\")",
          "NAME");
  AddK8sConnectionFlags(&t);
  AddFlag(&t, "target", T::kString, "k8s",
          "where the secrets live: k8s, dir:PATH (one file per key) or env-file:PATH", "TARGET");
  AddFlag(&t, "dry-run", T::kBool, "false",
          "print the planned actions (key names only) and change nothing");
  AddFlag(&t, "timeout", T::kDuration, "60s",
          "give up on unreachable APIs after this long (exit 124)", "DURATION");
  AddFlag(&t, "request-timeout", T::kDuration, "10s", "time limit of one HTTP request", "DURATION");
  AddFlag(&t, "conflict-attempts", T::kInt, "10",
          "writes tried when the Secret keeps changing under us (HTTP 409)", "N");
  AddFlag(&t, "restart", T::kList, "",
          "after a rotation, restart this Deployment the way kubectl rollout restart does "
          "(repeatable); with alternating users, a sync whose previous switch has not rolled "
          "out on them yet keeps both passwords",
          "deployment/NAME");
  AddFlag(&t, "keycloak-url", T::kString, "", "Keycloak base URL (include /auth for Keycloak < 17)",
          "URL");
  AddFlag(&t, "keycloak-admin-realm", T::kString, "master", "realm of the admin client", "REALM");
  AddFlag(&t, "keycloak-admin-client-id", T::kString, "",
          "admin client, authenticated by client credentials", "ID");
  AddFlag(&t, "keycloak-realm", T::kString, "", "realm of the app's OIDC client", "REALM");
  AddFlag(&t, "keycloak-client-id", T::kString, "", "the app's OIDC client id", "ID");
  AddFlag(&t, "keycloak-redirect-uri", T::kList, "", "redirect URI of the client (repeatable)",
          "URI");
  AddFlag(&t, "keycloak-web-origin", T::kList, "",
          "web origin of the client (repeatable; default +)", "ORIGIN");
  AddFlag(&t, "keycloak-root-url", T::kString, "", "root URL of the client", "URL");
  AddFlag(&t, "keycloak-secret", T::kString, "",
          "the dedicated Secret of the client (default <secret>-keycloak)", "NAME");
  AddFlag(&t, "keycloak-ca-file", T::kString, "", "CA file to verify Keycloak's certificate",
          "PATH");
  AddFlag(&t, "keycloak-admin-client-secret", T::kString, "", "secret of the admin client",
          "SECRET")
      .credential = true;
  return t;
}

Environment SecretsEnvironment() {
  Environment env = CurrentEnvironment();
  for (const char* name : {"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBECONFIG",
                           "APP_ADMIN_SSO_ENABLED"}) {
    if (const char* v = std::getenv(name)) env[name] = v;
  }
  return env;
}

namespace {

bool EnvTrue(const Environment& env, const char* name) {
  auto it = env.find(name);
  if (it == env.end()) return false;
  std::string v = ToLower(it->second);
  return v == "true" || v == "1" || v == "yes" || v == "on";
}

}  // namespace

Status OptionsFromConfig(const Config& config, const Environment& env, Options* out) {
  Options o;
  o.command = config.Positional("command");
  o.env = env;
  if (config.IsSet("spec")) {
    std::string path = config.Get("spec"), text;
    Status st = ReadFileToString(path, &text, 4UL * 1024 * 1024);
    if (!st.ok()) return Status::Usage("--spec: " + st.message());
    INITKIT_RETURN_IF_ERROR(ParseSpec(text, path, &o.spec));
  } else {
    o.spec = BuiltinSpec();
  }
  if (config.IsSet("secret")) o.spec.secret = config.Get("secret");
  INITKIT_RETURN_IF_ERROR(ParseTarget(config.Get("target"), &o.target));
  bool k8s = std::holds_alternative<K8sTarget>(o.target);
  if (o.spec.secret.empty() && !k8s) {
    // A file target has no Secret to name; the name only prefixes the
    // Keycloak one ("app-keycloak").
    o.spec.secret = "app";
  }
  if (o.spec.secret.empty()) {
    return Status::Usage("no Secret name: pass --secret NAME (or \"secret\" in the --spec file)");
  }
  o.ns = config.Get("namespace");
  o.k8s = K8sConnectionFlagsFromConfig(config);
  o.dry_run = config.GetBool("dry-run");
  o.timeout = config.GetDuration("timeout");
  o.request_timeout = config.GetDuration("request-timeout");
  o.conflict_attempts = static_cast<int>(config.GetInt("conflict-attempts"));
  if (o.conflict_attempts < 1) return Status::Usage("--conflict-attempts must be at least 1");
  for (const std::string& r : config.GetList("restart")) {
    std::string name;
    INITKIT_RETURN_IF_ERROR(ParseDeploymentRef("--restart", r, &name));
    if (!k8s) {
      return Status::Usage("--restart " + r + ": needs --target k8s (a " + TargetKind(o.target) +
                           " target has no Deployments)");
    }
    o.restart.push_back(name);
  }

  // Keycloak: flags win over the spec's block; enabled by the spec or by the
  // app's own switch APP_ADMIN_SSO_ENABLED=true.
  KeycloakSpec k = o.spec.keycloak.value_or(KeycloakSpec());
  bool enabled =
      (o.spec.keycloak && o.spec.keycloak->enabled) || EnvTrue(env, "APP_ADMIN_SSO_ENABLED");
  auto pick = [&](const char* flag, std::string* field) {
    if (config.IsSet(flag) || field->empty()) {
      std::string v = config.Get(flag);
      if (config.IsSet(flag) || !v.empty()) *field = v;
    }
  };
  pick("keycloak-url", &k.url);
  pick("keycloak-admin-realm", &k.admin_realm);
  pick("keycloak-admin-client-id", &k.admin_client_id);
  pick("keycloak-realm", &k.realm);
  pick("keycloak-client-id", &k.client_id);
  pick("keycloak-root-url", &k.root_url);
  pick("keycloak-secret", &k.secret);
  pick("keycloak-ca-file", &k.ca_file);
  if (config.IsSet("keycloak-redirect-uri")) {
    k.redirect_uris = config.GetList("keycloak-redirect-uri");
  }
  if (config.IsSet("keycloak-web-origin")) k.web_origins = config.GetList("keycloak-web-origin");
  if (k.secret.empty()) k.secret = o.spec.secret + "-keycloak";
  // The names become API paths (k8s) and file names (dir: keeps the
  // Keycloak Secret in a subdirectory): "../x" would reach another object or
  // directory, so only what Kubernetes itself accepts gets through.
  const std::pair<const char*, const std::string*> names[] = {{"--secret", &o.spec.secret},
                                                              {"--keycloak-secret", &k.secret}};
  for (const auto& [flag, name] : names) {
    if (!IsDns1123Subdomain(*name)) {
      return Status::Usage(std::string(flag) + ": \"" + *name +
                           "\" is not a Kubernetes object name (lowercase letters, digits, '-' "
                           "and '.', at most 253)");
    }
  }
  if (!o.ns.empty() && !IsDns1123Label(o.ns)) {
    return Status::Usage("--namespace: \"" + o.ns +
                         "\" is not a Kubernetes namespace name (lowercase letters, digits and "
                         "'-', at most 63)");
  }
  if (enabled) {
    if (config.IsSet("keycloak-admin-client-secret")) {
      o.keycloak_admin_client_secret = config.Get("keycloak-admin-client-secret");
    } else if (!k.admin_client_secret_file.empty()) {
      Status st = ReadFileToString(k.admin_client_secret_file, &o.keycloak_admin_client_secret,
                                   64UL * 1024);
      if (!st.ok()) return Status::Usage("spec keycloak admin-client-secret-file: " + st.message());
      if (!o.keycloak_admin_client_secret.empty() &&
          o.keycloak_admin_client_secret.back() == '\n') {
        o.keycloak_admin_client_secret.pop_back();
      }
    }
    log::AddSecret(o.keycloak_admin_client_secret);
    const std::pair<const char*, const std::string*> required[] = {
        {"keycloak-url", &k.url},
        {"keycloak-admin-client-id", &k.admin_client_id},
        {"keycloak-admin-client-secret", &o.keycloak_admin_client_secret},
        {"keycloak-realm", &k.realm},
        {"keycloak-client-id", &k.client_id},
    };
    for (const auto& [name, value] : required) {
      if (value->empty() && (o.command != "plan" || std::string(name) == "keycloak-client-id")) {
        return Status::Usage("Keycloak sync is enabled (APP_ADMIN_SSO_ENABLED or the spec) but --" +
                             std::string(name) + " is not set (env " + EnvNameFor(name) + ")");
      }
    }
    k.enabled = true;
    o.keycloak = k;
  } else {
    for (const FlagSpec& f : SecretsToolSpec().flags) {
      if (f.name.rfind("keycloak-", 0) == 0 && config.IsSet(f.name)) {
        std::string where = config.Source(f.name) == "env" ? EnvNameFor(f.name) : "--" + f.name;
        o.warnings.push_back(where +
                             " is set but Keycloak sync is disabled (APP_ADMIN_SSO_ENABLED=true "
                             "or a \"keycloak\" block in the spec enables it); it has no effect");
      }
    }
  }
  *out = std::move(o);
  return Status::Ok();
}

}  // namespace initkit::secrets
