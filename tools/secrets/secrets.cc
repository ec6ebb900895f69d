#include "tools/secrets/secrets.h"

#include <cstdlib>
#include <memory>

#include "common/file_util.h"
#include "common/k8s_client.h"
#include "common/log.h"
#include "tools/secrets/keycloak.h"
#include "tools/secrets/plan.h"
#include "tools/secrets/store.h"

namespace initkit::secrets {

using nlohmann::json;

ToolSpec SecretsToolSpec() {
  ToolSpec t;
  t.name = "initkit-secrets";
  t.summary =
      "Generates once / rotates app secrets in a Kubernetes Secret (or a directory / env file "
      "for docker compose) and syncs the Keycloak admin-SSO client.";
  t.positionals = {{"command", "sync | teardown | plan", {"sync", "teardown", "plan"}, true}};
  auto flag = [](std::string name, std::string help, std::string def = "",
                 FlagType type = FlagType::kString) {
    FlagSpec f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.default_value = std::move(def);
    f.type = type;
    return f;
  };
  t.flags = {
      flag("spec", "JSON spec file (default: the built-in spec of the seed)"),
      flag("namespace", "namespace of the Secrets (default: the service account's / context's)"),
      flag("secret", "name of the app Secret (overrides the spec's \"secret\")"),
      flag("kubeconfig", "kubeconfig file (default: in-cluster service account, else $KUBECONFIG)"),
      flag("context", "kubeconfig context (default: its current-context)"),
      flag("target", "k8s | dir:PATH | env-file:PATH", "k8s"),
      flag("dry-run", "print the planned actions (key names only) and change nothing", "false",
           FlagType::kBool),
      flag("timeout", "give up on unreachable APIs after this long (exit 124)", "60s",
           FlagType::kDuration),
      flag("request-timeout", "one HTTP request", "10s", FlagType::kDuration),
      flag("conflict-attempts", "writes tried when the Secret keeps changing (409)", "10",
           FlagType::kInt),
      flag("keycloak-url", "Keycloak base URL (include /auth for Keycloak < 17)"),
      flag("keycloak-admin-realm", "realm of the admin client", "master"),
      flag("keycloak-admin-client-id", "admin client (client credentials)"),
      flag("keycloak-realm", "realm of the app's OIDC client"),
      flag("keycloak-client-id", "the app's OIDC client id"),
      flag("keycloak-redirect-uri", "redirect URI of the client", "", FlagType::kList),
      flag("keycloak-web-origin", "web origin of the client (default +)", "", FlagType::kList),
      flag("keycloak-root-url", "root URL of the client"),
      flag("keycloak-secret", "the dedicated Secret (default <secret>-keycloak)"),
      flag("keycloak-ca-file", "CA file to verify Keycloak's certificate"),
  };
  FlagSpec cred = flag("keycloak-admin-client-secret", "secret of the admin client");
  cred.credential = true;
  t.flags.push_back(cred);
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
  std::string v = it->second;
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
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
  o.target = config.Get("target");
  if (o.spec.secret.empty() && o.target != "k8s") {
    // A file target has no Secret to name; the name only prefixes the
    // Keycloak one ("app-keycloak").
    o.spec.secret = "app";
  }
  if (o.spec.secret.empty()) {
    return Status::Usage("no Secret name: pass --secret NAME (or \"secret\" in the --spec file)");
  }
  if (o.target != "k8s" && o.target.rfind("dir:", 0) != 0 && o.target.rfind("env-file:", 0) != 0) {
    return Status::Usage("--target: \"" + o.target + "\" is not k8s, dir:PATH or env-file:PATH");
  }
  if ((o.target == "dir:" || o.target == "env-file:")) {
    return Status::Usage("--target " + o.target + " needs a PATH");
  }
  o.ns = config.Get("namespace");
  o.kubeconfig = config.Get("kubeconfig");
  o.context = config.Get("context");
  o.dry_run = config.GetBool("dry-run");
  o.timeout = config.GetDuration("timeout");
  o.request_timeout = config.GetDuration("request-timeout");
  o.conflict_attempts = static_cast<int>(config.GetInt("conflict-attempts"));
  if (o.conflict_attempts < 1) return Status::Usage("--conflict-attempts must be at least 1");

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
  }
  *out = std::move(o);
  return Status::Ok();
}

namespace {

json List(const std::vector<std::string>& v) { return json(v); }

Status MakeStore(const Options& o, const Deadline& deadline, std::unique_ptr<K8sClient>* client,
                 std::unique_ptr<SecretStore>* store, json* summary) {
  if (o.target.rfind("dir:", 0) == 0) {
    *store = NewDirStore(o.target.substr(4), o.spec.secret);
    (*summary)["target"] = "dir";
    return Status::Ok();
  }
  if (o.target.rfind("env-file:", 0) == 0) {
    *store = NewEnvFileStore(o.target.substr(9), o.spec.secret);
    (*summary)["target"] = "env-file";
    return Status::Ok();
  }
  (*summary)["target"] = "k8s";
  K8sConnection conn;
  std::string kubeconfig = o.kubeconfig;
  auto env = [&](const char* k) {
    auto it = o.env.find(k);
    return it == o.env.end() ? std::string() : it->second;
  };
  if (kubeconfig.empty() && env("KUBERNETES_SERVICE_HOST").empty() && !env("KUBECONFIG").empty()) {
    kubeconfig = env("KUBECONFIG");  // outside a cluster, like kubectl
  }
  if (!kubeconfig.empty()) {
    INITKIT_RETURN_IF_ERROR(LoadKubeconfig(kubeconfig, o.context, &conn));
  } else {
    INITKIT_RETURN_IF_ERROR(LoadInClusterConnection(o.serviceaccount_dir, o.env, &conn));
  }
  std::string ns = !o.ns.empty() ? o.ns : conn.default_namespace;
  if (ns.empty()) ns = "default";
  K8sOptions ko;
  ko.request_timeout = o.request_timeout;
  ko.conflict_attempts = o.conflict_attempts;
  *client = std::make_unique<K8sClient>(std::move(conn), ko);
  *store = NewK8sStore(client->get(), ns, deadline);
  (*summary)["namespace"] = ns;
  return Status::Ok();
}

KeycloakConnection KeycloakConn(const Options& o) {
  KeycloakConnection c;
  c.url = o.keycloak->url;
  if (!o.keycloak->admin_realm.empty()) c.admin_realm = o.keycloak->admin_realm;
  c.admin_client_id = o.keycloak->admin_client_id;
  c.admin_client_secret = o.keycloak_admin_client_secret;
  c.realm = o.keycloak->realm;
  c.ca_file = o.keycloak->ca_file;
  c.request_timeout = o.request_timeout;
  return c;
}

json KeycloakSummary(const KeycloakSpec& k, const KeycloakResult& r, SecretStore* store) {
  return {{"client_id", k.client_id},
          {"realm", k.realm},
          {"client", r.client},
          {"client_secret", r.secret},
          {"stored_in", store->Describe(k.secret)}};
}

}  // namespace

Status Run(const Options& o, json* summary) {
  bool dry = o.dry_run || o.command == "plan";
  *summary = {{"command", o.command}, {"dry_run", dry}};
  Deadline deadline = Deadline::After(o.timeout);
  std::unique_ptr<K8sClient> client;
  std::unique_ptr<SecretStore> store;
  INITKIT_RETURN_IF_ERROR(MakeStore(o, deadline, &client, &store, summary));
  (*summary)["secret"] = store->Describe(o.spec.secret);

  if (o.command == "teardown") {
    (*summary)["app_secret"] = "kept";
    if (!o.keycloak) {
      (*summary)["keycloak"] = "disabled";
      log::Info("teardown: Keycloak sync is not enabled; nothing to remove");
      return Status::Ok();
    }
    KeycloakClient kc(KeycloakConn(o), deadline);
    KeycloakResult r;
    INITKIT_RETURN_IF_ERROR(TeardownKeycloak(*o.keycloak, store.get(), &kc, dry, &r));
    (*summary)["keycloak"] = KeycloakSummary(*o.keycloak, r, store.get());
    return Status::Ok();
  }

  ValueCache values;
  Plan plan;
  int conflicts = 0;
  if (dry) {
    SecretData current;
    INITKIT_RETURN_IF_ERROR(store->Read(o.spec.secret, &current));
    INITKIT_RETURN_IF_ERROR(PlanSync(o.spec, current, &values, &plan));
  } else {
    INITKIT_RETURN_IF_ERROR(store->Modify(
        o.spec.secret,
        [&](const SecretData& current, SecretData* desired, bool* write) -> Status {
          INITKIT_RETURN_IF_ERROR(PlanSync(o.spec, current, &values, &plan));
          *desired = plan.result;
          *write = plan.changed;
          return Status::Ok();
        },
        &conflicts));
  }
  (*summary)["created"] = List(plan.created);
  (*summary)["kept"] = List(plan.kept);
  (*summary)["rotated"] = List(plan.rotated);
  if (!plan.completed.empty()) (*summary)["completed"] = List(plan.completed);
  (*summary)["annotated"] = plan.annotated;
  (*summary)["written"] = !dry && plan.changed;
  (*summary)["conflicts"] = conflicts;
  log::Info(dry ? "planned the app Secret" : "synced the app Secret",
            {{"secret", store->Describe(o.spec.secret)},
             {"created", static_cast<int>(plan.created.size())},
             {"kept", static_cast<int>(plan.kept.size())},
             {"rotated", static_cast<int>(plan.rotated.size())},
             {"conflicts", conflicts}});

  if (!o.keycloak) {
    (*summary)["keycloak"] = "disabled";
    return Status::Ok();
  }
  KeycloakClient kc(KeycloakConn(o), deadline);
  KeycloakResult r;
  INITKIT_RETURN_IF_ERROR(SyncKeycloak(*o.keycloak, store.get(), &kc, dry, &r));
  (*summary)["keycloak"] = KeycloakSummary(*o.keycloak, r, store.get());
  return Status::Ok();
}

}  // namespace initkit::secrets
