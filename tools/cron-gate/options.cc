#include "tools/cron-gate/options.h"

#include <unistd.h>

#include "common/http.h"
#include "common/json_util.h"
#include "common/k8s_client.h"
#include "common/k8s_rollout.h"

namespace initkit::crongate {

ToolSpec GateToolSpec() {
  ToolSpec spec;
  spec.name = "initkit-cron-gate";
  spec.summary =
      "Opens (exit 0, or execs CMD) only when the running web version, read from a health "
      "endpoint, matches this pod's version. Exit 3 when they differ, 124 when the endpoint "
      "never answered usably.";
  spec.accepts_command = true;
  spec.flags = {
      {.name = "url",
       .help = "Health endpoint to GET (http:// or https://)",
       .required = true,
       .value_name = "URL"},
      {.name = "version-file",
       .help = "File holding this pod's version: PHP define()/return array/$config form, or "
               "just the version",
       .value_name = "FILE"},
      {.name = "expected-version",
       .help = "This pod's version, given directly",
       .value_name = "VERSION"},
      {.name = "version-key",
       .help = "Name in the version file (default: APP_VERSION for define, 'version' for arrays)",
       .value_name = "NAME"},
      {.name = "json-pointer",
       .default_value = "/version",
       .help = "Where the running version is in the JSON body (RFC 6901)",
       .value_name = "POINTER"},
      {.name = "compare",
       .default_value = "exact",
       .help = "exact: open on equal; at-least: open when the running version is the same or newer",
       .choices = {"exact", "at-least"},
       .value_name = "MODE"},
      {.name = "retries",
       .type = FlagType::kInt,
       .default_value = "5",
       .help = "Retries after the first failed attempt",
       .value_name = "N"},
      {.name = "interval",
       .type = FlagType::kDuration,
       .default_value = "1s",
       .help = "Wait between attempts",
       .value_name = "DURATION"},
      {.name = "timeout",
       .type = FlagType::kDuration,
       .default_value = "2s",
       .help = "Per-request timeout",
       .value_name = "DURATION"},
      {.name = "deadline",
       .type = FlagType::kDuration,
       .default_value = "60s",
       .help = "Give up after this long in all",
       .value_name = "DURATION"},
      {.name = "consecutive",
       .type = FlagType::kInt,
       .default_value = "1",
       .help = "Matching answers needed in a row (a mismatch resets the count)",
       .value_name = "N"},
      {.name = "reuse-connection",
       .type = FlagType::kBool,
       .default_value = "false",
       .help = "Reuse one connection for all requests (default: a new one each time, so a "
               "Service spreads them over its pods)"},
      {.name = "header",
       .type = FlagType::kList,
       .help = "Extra request header 'Name: value'",
       .value_name = "HEADER"},
      {.name = "ca-file",
       .help = "CA bundle to verify an https:// endpoint against",
       .value_name = "FILE"},
      {.name = "rollout",
       .help = "First wait until this Deployment's rollout is complete, as `kubectl rollout "
               "status` judges it (ProgressDeadlineExceeded: exit 1)",
       .value_name = "deployment/NAME"},
      {.name = "namespace",
       .help = "Namespace of --rollout (default: the kubeconfig context's or the service "
               "account's)",
       .value_name = "NAME"},
      {.name = "on-mismatch",
       .default_value = "fail",
       .help = "What a version mismatch that outlasts --retries does: fail (exit 3) or skip "
               "(exit 0 without running CMD, e.g. while a rollout is under way)",
       .choices = {"fail", "skip"},
       .value_name = "MODE"},
  };
  // Connection for --rollout: the same flags and precedence as every tool.
  AddK8sConnectionFlags(&spec);
  return spec;
}

Status OptionsFromConfig(const Config& c, const Environment& env, Options* o) {
  o->url = c.Get("url");
  if (o->url.rfind("http://", 0) != 0 && o->url.rfind("https://", 0) != 0) {
    return Status::Usage("--url: '" + UrlForDisplay(o->url) +
                         "' is not an http:// or https:// URL");
  }
  bool has_file = c.IsSet("version-file");
  bool has_value = c.IsSet("expected-version");
  if (has_file == has_value) {
    return Status::Usage(has_file ? "give either --version-file or --expected-version, not both"
                                  : "missing --version-file or --expected-version");
  }
  std::string text = c.Get("expected-version");
  if (has_file) {
    INITKIT_RETURN_IF_ERROR(ReadVersionFile(c.Get("version-file"), c.Get("version-key"), &text));
  }
  Status st = ParseVersion(text, &o->expected);
  if (!st.ok()) {
    return st.Annotate(has_file ? "--version-file " + c.Get("version-file") : "--expected-version");
  }
  st = ParseJsonPointer(c.Get("json-pointer"), &o->json_pointer);
  if (!st.ok()) return st.Annotate("--json-pointer");
  o->compare = c.Get("compare") == "at-least" ? Compare::kAtLeast : Compare::kExact;
  o->on_mismatch = c.Get("on-mismatch") == "skip" ? OnMismatch::kSkip : OnMismatch::kFail;
  int64_t retries = c.GetInt("retries");
  if (retries < 0 || retries > 100000) return Status::Usage("--retries: must be 0 or more");
  o->retries = static_cast<int>(retries);
  int64_t consecutive = c.GetInt("consecutive");
  if (consecutive < 1 || consecutive > 1000) {
    return Status::Usage("--consecutive: must be 1 or more");
  }
  o->consecutive = static_cast<int>(consecutive);
  o->interval = c.GetDuration("interval");
  o->timeout = c.GetDuration("timeout");
  o->deadline = c.GetDuration("deadline");
  if (o->timeout.count() <= 0) return Status::Usage("--timeout: must be more than 0");
  o->reuse_connection = c.GetBool("reuse-connection");
  for (const std::string& h : c.GetList("header")) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0 || h.find_first_of("\r\n") != std::string::npos) {
      return Status::Usage("--header: expected 'Name: value', got '" + h.substr(0, colon) + "...'");
    }
  }
  o->headers = c.GetList("header");
  o->ca_file = c.Get("ca-file");
  if (c.IsSet("rollout")) {
    INITKIT_RETURN_IF_ERROR(ParseDeploymentRef("--rollout", c.Get("rollout"), &o->rollout));
  }
  o->namespace_ = c.Get("namespace");
  if (!o->namespace_.empty() && !IsDns1123Label(o->namespace_)) {
    return Status::Usage("--namespace: '" + o->namespace_ + "' is not a Kubernetes namespace name");
  }
  o->k8s = K8sConnectionFlagsFromConfig(c);
  o->env = env;
  if (!o->ca_file.empty() && ::access(o->ca_file.c_str(), R_OK) != 0) {
    return Status::Usage("--ca-file " + o->ca_file + ": cannot be read");
  }
  return Status::Ok();
}

}  // namespace initkit::crongate
