#include "tools/secrets/secrets.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <set>
#include <variant>

#include "common/file_util.h"
#include "common/json_util.h"
#include "common/k8s_client.h"
#include "common/log.h"
#include "tools/secrets/keycloak.h"
#include "tools/secrets/plan.h"
#include "tools/secrets/restart.h"
#include "tools/secrets/store.h"

namespace initkit::secrets {

using nlohmann::json;

namespace {

json List(const std::vector<std::string>& v) { return json(v); }

// UTC now as RFC 3339 with milliseconds: the switch time in the Secret and
// the restartedAt of the Deployments (kubectl writes whole seconds; two
// syncs within one second must still write different values, or the second
// restart would change nothing and start no rollout).
std::string NowRfc3339() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];  // the format needs 25; int fields could in theory need more
  (void)std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      static_cast<int>(ms.count()));
  return buf;
}

Status MakeStore(const Options& o, const Deadline& deadline, std::unique_ptr<K8sClient>* client,
                 std::unique_ptr<SecretStore>* store, std::string* ns_out, json* summary) {
  (*summary)["target"] = TargetKind(o.target);
  if (const auto* dir = std::get_if<DirTarget>(&o.target)) {
    *store = NewDirStore(dir->path, o.spec.secret);
    return Status::Ok();
  }
  if (const auto* env_file = std::get_if<EnvFileTarget>(&o.target)) {
    *store = NewEnvFileStore(env_file->path, o.spec.secret);
    return Status::Ok();
  }
  K8sConnection conn;
  INITKIT_RETURN_IF_ERROR(LoadK8sConnection(o.k8s, o.env, &conn));
  std::string ns = !o.ns.empty() ? o.ns : conn.default_namespace;
  if (ns.empty()) ns = "default";
  K8sOptions ko;
  ko.request_timeout = o.request_timeout;
  ko.conflict_attempts = o.conflict_attempts;
  *client = std::make_unique<K8sClient>(std::move(conn), ko);
  *store = NewK8sStore(client->get(), ns, deadline);
  (*summary)["namespace"] = ns;
  *ns_out = ns;
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
  for (const std::string& w : o.warnings) log::Warn(w);
  Deadline deadline = Deadline::After(o.timeout);
  std::unique_ptr<K8sClient> client;
  std::unique_ptr<SecretStore> store;
  std::string ns;
  INITKIT_RETURN_IF_ERROR(MakeStore(o, deadline, &client, &store, &ns, summary));
  std::set<std::string> user_keys;  // user names are not secret: logs and summary name them
  for (const AlternatingUsersSpec& a : o.spec.alternating_users) user_keys.insert(a.user_key);
  store->set_public_keys(user_keys);
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
  PlanOptions plan_options;
  // Never rotate the user running pods still hold: with --restart, a switch
  // made by an earlier sync must have rolled out on every named Deployment
  // (restartedAt not older than the switch, rollout complete) before the
  // next one. Judged again on every re-plan: the Secret re-read after a 409
  // may carry a newer switch.
  bool check_rollout = !o.restart.empty() && !o.spec.alternating_users.empty() && client != nullptr;
  std::vector<std::string> pending, not_restarted;
  bool first_sync = false;
  if (!o.restart.empty() && client != nullptr) {
    // On the first sync the Secret does not exist yet, and neither, in an
    // Argo CD PreSync hook of a new app, does the Deployment (applied in the
    // Sync phase after the hook): no pod holds anything and nothing is
    // switched or restarted, so a missing Deployment is no error then.
    SecretData current;
    INITKIT_RETURN_IF_ERROR(store->Read(o.spec.secret, &current));
    first_sync = !current.exists;
  }
  if (!o.restart.empty() && client != nullptr && !first_sync) {
    // Fail before rotating anything when a --restart Deployment is missing.
    for (const std::string& name : o.restart) {
      SwitchRollout r;
      INITKIT_RETURN_IF_ERROR(CheckSwitchRollout(*client, ns, name, "", deadline, &r));
    }
  }
  auto make_plan = [&](const SecretData& current) -> Status {
    plan_options.now = NowRfc3339();
    plan_options.hold = false;
    pending.clear();
    not_restarted.clear();
    auto at = current.annotations.find(kSwitchedAtAnnotation);
    if (check_rollout && at != current.annotations.end()) {
      for (const std::string& name : o.restart) {
        SwitchRollout r;
        INITKIT_RETURN_IF_ERROR(CheckSwitchRollout(*client, ns, name, at->second, deadline, &r));
        if (r.rolled_out) continue;
        pending.push_back(r.detail);
        if (r.restart_missing) not_restarted.push_back(name);
      }
      plan_options.hold = !pending.empty();
    }
    return PlanSync(o.spec, current, &values, plan_options, &plan);
  };
  if (dry) {
    SecretData current;
    INITKIT_RETURN_IF_ERROR(store->Read(o.spec.secret, &current));
    INITKIT_RETURN_IF_ERROR(make_plan(current));
  } else {
    INITKIT_RETURN_IF_ERROR(store->Modify(
        o.spec.secret,
        [&](const SecretData& current, SecretData* desired, bool* write) -> Status {
          INITKIT_RETURN_IF_ERROR(make_plan(current));
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
  if (!plan.alternations.empty()) {
    json alts = json::array();
    for (const Alternation& a : plan.alternations) {
      json j = {{"name", a.name}, {"action", a.action}, {"active", a.active}};
      if (!a.previous.empty()) j["previous"] = a.previous;
      if (!a.rotated_key.empty()) j["rotated"] = a.rotated_key;
      alts.push_back(j);
      log::Info(a.action == "switched" ? (dry ? "would switch the app to the other database user"
                                              : "switched the app to the other database user")
                : a.action == "held"   ? "kept both database passwords"
                                       : "set up the alternating database users",
                {{"entry", a.name},
                 {"active", a.active},
                 {"previous", a.previous},
                 {"rotated", a.rotated_key}});
    }
    (*summary)["alternating_users"] = alts;
  }
  log::Info(dry ? "planned the app Secret" : "synced the app Secret",
            {{"secret", store->Describe(o.spec.secret)},
             {"created", static_cast<int>(plan.created.size())},
             {"kept", static_cast<int>(plan.kept.size())},
             {"rotated", static_cast<int>(plan.rotated.size())},
             {"conflicts", conflicts}});

  if (!pending.empty()) {
    (*summary)["held_because"] = pending;
    log::Warn(
        "kept both database passwords: the previous switch of users has not rolled out "
        "on every --restart Deployment, so pods may still hold the other user",
        {{"pending", json(pending).dump()}});
  }
  // Restart after a rotation; and again where the restart of the previous
  // switch never landed (a run killed between its write and its PATCH).
  std::vector<std::string> restart =
      plan.switched || !plan.rotated.empty() ? o.restart : not_restarted;
  if (!restart.empty()) {
    json names = json::array();
    for (const std::string& name : restart) names.push_back("deployment/" + name);
    (*summary)[dry ? "would_restart" : "restarted"] = names;
    if (!dry) {
      std::string at = plan.switched ? plan_options.now : NowRfc3339();
      for (const std::string& name : restart) {
        INITKIT_RETURN_IF_ERROR(RestartDeployment(*client, ns, name, at, deadline));
        log::Info("restarted the Deployment so its pods read the new Secret",
                  {{"deployment", name}, {"restarted_at", at}});
      }
    }
  }

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

Status RunFromConfig(const Config& config) {
  Options options;
  json summary;
  Status st = OptionsFromConfig(config, SecretsEnvironment(), &options);
  if (st.ok()) st = Run(options, &summary);
  if (!st.ok()) {
    summary["error"] = st.message();
    summary["exit_code"] = st.ExitCode();
  }
  // The summary holds key names and actions only; Redact guards the error text.
  std::printf("%s\n", log::Redact(DumpJson(summary)).c_str());
  return st;
}

}  // namespace initkit::secrets
