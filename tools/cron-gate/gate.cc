#include "tools/cron-gate/gate.h"

#include <unistd.h>

#include <algorithm>

#include "common/http.h"
#include "common/json_util.h"
#include "common/k8s_client.h"
#include "common/k8s_rollout.h"
#include "common/log.h"
#include "common/retry.h"
#include "common/signals.h"

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

Answer Ask(HttpClient& client, const Options& o, std::chrono::milliseconds timeout) {
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

Status Run(const Options& o, Outcome* outcome) {
  *outcome = Outcome::kOpen;
  const Deadline deadline = Deadline::After(o.deadline);
  if (!o.rollout.empty()) {
    K8sConnection conn;
    INITKIT_RETURN_IF_ERROR(LoadK8sConnection(o.k8s, o.env, &conn));
    std::string ns = o.namespace_.empty() ? conn.default_namespace : o.namespace_;
    if (ns.empty()) {
      return Status::Usage("--namespace is needed for --rollout: " + conn.source +
                           " names no namespace");
    }
    K8sOptions k8s_options;
    k8s_options.request_timeout = o.timeout;
    K8sClient client(conn, k8s_options);
    INITKIT_RETURN_IF_ERROR(WaitForRollout(client, ns, o.rollout, deadline, o.interval));
  }
  Status st = RunGate(o, deadline);
  if (st.kind() == Status::Kind::kRefused && o.on_mismatch == OnMismatch::kSkip) {
    // A CronJob run during a rollout: failing it would fire a job-failure
    // alert for something that fixes itself; the next schedule runs it.
    log::Warn("run skipped: " + st.message() + " (--on-mismatch skip)",
              {{"skipped", true}, {"expected", o.expected.text}});
    *outcome = Outcome::kSkipped;
    return Status::Ok();
  }
  return st;
}

Status RunFromConfig(const Config& config, bool* run_command) {
  Options options;
  INITKIT_RETURN_IF_ERROR(OptionsFromConfig(config, CurrentEnvironment(), &options));
  Outcome outcome = Outcome::kOpen;
  INITKIT_RETURN_IF_ERROR(Run(options, &outcome));
  *run_command = outcome == Outcome::kOpen;
  return Status::Ok();
}

Status RunGate(const Options& o, const Deadline& deadline) {
  const std::string display_url = UrlForDisplay(o.url);
  const char* mode = o.compare == Compare::kExact ? "exact" : "at-least";
  HttpClient client(o.reuse_connection);
  int failures = 0;
  int matches = 0;
  Answer last;
  auto versions = [&] {
    return "expected " + o.expected.text + ", running " +
           (last.running.empty() ? "unknown" : last.running);
  };
  // A fixed interval: the web version changes when a rollout does, not
  // faster because we ask less often.
  const BackoffPolicy every{o.interval, o.interval, 1.0, 0.0, 0};
  Status st = Retry("version gate at " + display_url, every, deadline, [&](Attempt& a) -> Status {
    const int attempt = a.number;
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
      return Status::NotReady("only " + std::to_string(matches) + " of " +
                              std::to_string(o.consecutive) + " matching answers in a row");
    }
    matches = 0;
    ++failures;
    fields.emplace_back("reason", last.why);
    fields.emplace_back("retries_left", std::max(0, o.retries - failures + 1));
    log::Warn("gate closed: " + last.why, fields);
    // --retries counts failed answers only: matches that were not yet
    // enough in a row do not use it up.
    a.last = failures > o.retries;
    return Status::NotReady(last.why + " (" + versions() + ")");
  });
  // A mismatch is the verdict whether the retries or the deadline ran out.
  if (st.kind() == Status::Kind::kNotReady && last.kind == Answer::kMismatch) {
    return Status::Refused("version mismatch at " + display_url + ": " + versions());
  }
  return st;
}

}  // namespace initkit::crongate
