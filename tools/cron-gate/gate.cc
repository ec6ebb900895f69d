#include "tools/cron-gate/gate.h"

#include <unistd.h>

#include <algorithm>

#include "common/http.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/retry.h"
#include "common/signals.h"
#include "tools/cron-gate/rollout.h"

namespace initkit::crongate {
namespace {

constexpr std::size_t kMaxBody = 1024UL * 1024;

// What one request found out; `running` is empty when no version was read.
struct Answer {
  enum Kind { kMatch, kMismatch, kError } kind = kError;
  std::string running;
  std::string why;
  long http_status = 0;
};

Answer Ask(HttpClient& client, const GateOptions& o, std::chrono::milliseconds timeout) {
  Answer a;
  HttpRequest req;
  req.url = o.url;
  req.headers = o.headers;
  req.headers.push_back("Accept: application/json");
  req.timeout = timeout;
  req.ca_file = o.ca_file;
  req.max_body = kMaxBody;
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  if (!st.ok()) {
    a.why = st.message();
    return a;
  }
  a.http_status = resp.status;
  // A non-2xx answer never opens the gate, whatever its body says.
  if (resp.status < 200 || resp.status > 299) {
    a.why = "HTTP status " + std::to_string(resp.status);
    return a;
  }
  nlohmann::json doc;
  st = ParseJson(resp.body, &doc);
  if (!st.ok()) {
    a.why = "body is not JSON: " + st.message();
    return a;
  }
  st = JsonPointerString(doc, o.json_pointer, &a.running);
  if (!st.ok()) {
    a.why = st.message();
    return a;
  }
  Version running;
  st = ParseVersion(a.running, &running);
  if (!st.ok()) {
    a.why = "running version: " + st.message();
    a.running.clear();
    return a;
  }
  int cmp = CompareVersions(running, o.expected);
  bool open = o.compare == Compare::kExact ? cmp == 0 : cmp >= 0;
  a.kind = open ? Answer::kMatch : Answer::kMismatch;
  if (!open) {
    a.why = o.compare == Compare::kExact ? "versions differ" : "running version is older";
  }
  return a;
}

}  // namespace

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
      {.name = "expected-version", .help = "This pod's version, given directly", .value_name = "V"},
      {.name = "version-key",
       .help = "Name in the version file (default: APP_VERSION for define, 'version' for arrays)",
       .value_name = "NAME"},
      {.name = "json-pointer",
       .default_value = "/version",
       .help = "Where the running version is in the JSON body (RFC 6901)",
       .value_name = "PTR"},
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
       .help = "Namespace of --rollout (default: the service account's)",
       .value_name = "NS"},
      {.name = "kubeconfig",
       .help = "Kubeconfig for --rollout (default: in-cluster service account)",
       .value_name = "FILE"},
  };
  return spec;
}

Status OptionsFromConfig(const Config& c, GateOptions* o) {
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
  o->json_pointer = c.Get("json-pointer");
  std::string ignored;
  st = JsonPointerString(nlohmann::json::object(), o->json_pointer, &ignored);
  if (st.kind() == Status::Kind::kUsage) return st.Annotate("--json-pointer");
  o->compare = c.Get("compare") == "at-least" ? Compare::kAtLeast : Compare::kExact;
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
    INITKIT_RETURN_IF_ERROR(ParseRolloutTarget(c.Get("rollout"), &o->rollout));
  }
  o->namespace_ = c.Get("namespace");
  if (!o->namespace_.empty() && !IsDns1123Label(o->namespace_)) {
    return Status::Usage("--namespace: '" + o->namespace_ + "' is not a Kubernetes namespace name");
  }
  o->kubeconfig = c.Get("kubeconfig");
  if (!o->ca_file.empty() && ::access(o->ca_file.c_str(), R_OK) != 0) {
    return Status::Usage("--ca-file " + o->ca_file + ": cannot be read");
  }
  return Status::Ok();
}

Status RunCronGate(const GateOptions& o) {
  const Deadline deadline = Deadline::After(o.deadline);
  if (!o.rollout.empty()) {
    K8sConnection conn;
    Status st = o.kubeconfig.empty() ? LoadInClusterConnection("", CurrentEnvironment(), &conn)
                                     : LoadKubeconfig(o.kubeconfig, "", &conn);
    if (!st.ok()) return st;
    std::string ns = o.namespace_.empty() ? conn.default_namespace : o.namespace_;
    if (ns.empty()) return Status::Usage("--namespace is needed: the credentials name none");
    K8sOptions k8s_options;
    k8s_options.request_timeout = o.timeout;
    K8sClient client(conn, k8s_options);
    INITKIT_RETURN_IF_ERROR(WaitForRollout(client, ns, o.rollout, deadline, o.interval));
  }
  return RunGate(o, deadline);
}

Status RunGate(const GateOptions& o, const Deadline& deadline) {
  const std::string display_url = UrlForDisplay(o.url);
  const char* mode = o.compare == Compare::kExact ? "exact" : "at-least";
  HttpClient client(o.reuse_connection);
  int failures = 0;
  int matches = 0;
  Answer last;
  for (int attempt = 1;; ++attempt) {
    if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
    // Never start a request that could end past the deadline by more than one timeout.
    auto timeout =
        std::min(o.timeout, std::max(deadline.Remaining(), std::chrono::milliseconds(1)));
    last = Ask(client, o, timeout);
    if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
    log::Fields fields = {{"attempt", attempt},
                          {"url", display_url},
                          {"expected", o.expected.text},
                          {"running", last.running.empty() ? "unknown" : last.running},
                          {"compare", mode}};
    if (last.http_status) fields.emplace_back("http_status", last.http_status);
    if (last.kind == Answer::kMatch) {
      ++matches;
      fields.emplace_back("consecutive", matches);
      if (matches >= o.consecutive) {
        log::Info("gate open: running version matches", fields);
        return Status::Ok();
      }
      log::Info("version matches; waiting for more matches in a row", fields);
    } else {
      matches = 0;
      ++failures;
      fields.emplace_back("reason", last.why);
      fields.emplace_back("retries_left", std::max(0, o.retries - failures + 1));
      log::Warn("gate closed: " + last.why, fields);
      if (failures > o.retries) break;
    }
    if (deadline.Expired()) break;
    auto wait = std::min(o.interval, deadline.Remaining());
    if (!signals::SleepFor(wait)) return Status::Interrupted(signals::StopSignal());
    if (deadline.Expired()) break;
  }
  std::string versions = "expected " + o.expected.text + ", running " +
                         (last.running.empty() ? "unknown" : last.running);
  if (last.kind == Answer::kMismatch) {
    return Status::Refused("version mismatch at " + display_url + ": " + versions);
  }
  if (last.kind == Answer::kMatch) {
    return Status::NotReady("only " + std::to_string(matches) + " of " +
                            std::to_string(o.consecutive) + " matching answers in a row from " +
                            display_url + " before the deadline");
  }
  return Status::NotReady(display_url + " not ready: " + last.why + " (" + versions + ")");
}

}  // namespace initkit::crongate
