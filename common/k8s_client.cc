#include "common/k8s_client.h"

#include <cctype>
#include <cstdlib>

#include "common/json_util.h"
#include "common/log.h"

namespace initkit {

using nlohmann::json;

K8sClient::K8sClient(K8sConnection conn, K8sOptions options)
    : conn_(std::move(conn)), options_(options), token_(conn_) {}

K8sClient::~K8sClient() = default;

bool IsDns1123Label(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (std::size_t start = 0;;) {
    std::size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (!IsDns1123Label(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

namespace {

// Defence in depth: a path is built from names that may come from flags or
// specs. One that is not plain segments ("..", "%2e", "?", "#", spaces)
// could address another object than the caller meant (curl removes dot
// segments) or add query parameters (?dryRun=All), so it is never sent.
// No call needs a query string.
bool PlainApiPath(std::string_view p) {
  if (p.empty() || p.front() != '/') return false;
  for (std::size_t start = 1; start <= p.size();) {
    std::size_t slash = p.find('/', start);
    if (slash == std::string_view::npos) slash = p.size();
    std::string_view seg = p.substr(start, slash - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') {
        return false;
      }
    }
    start = slash + 1;
  }
  return true;
}

// A Retry-After of delay-seconds (what the API server sends: API priority and
// fairness and max-in-flight answer 429 with "Retry-After: 1"); an HTTP-date
// or garbage is ignored and the backoff applies.
Millis RetryAfter(const HttpResponse& resp) {
  std::string v = resp.Header("retry-after");
  if (v.empty() || v.size() > 6) return Millis(0);
  for (char c : v) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return Millis(0);
  }
  return Millis(std::strtol(v.c_str(), nullptr, 10) * 1000);
}

}  // namespace

Status K8sClient::Call(const std::string& method, const std::string& path, const json* body,
                       const Deadline& deadline, K8sResponse* out) {
  std::string what = "Kubernetes API " + method + " " + path;
  if (!PlainApiPath(path)) {
    return Status::Usage(what + ": a namespace or object name is not a valid Kubernetes name");
  }
  bool retried_401 = false;
  return Retry(what, options_.backoff, deadline, [&](Attempt& a) -> Status {
    const int attempt = a.number;
    std::string token;
    INITKIT_RETURN_IF_ERROR(token_.Current(&token));
    HttpRequest req;
    req.method = method;
    req.url = conn_.server + path;
    req.headers.push_back("Accept: application/json");
    if (!token.empty()) req.headers.push_back("Authorization: Bearer " + token);
    if (body) {
      // A PATCH body is a strategic merge patch (what kubectl sends).
      req.headers.push_back(method == "PATCH"
                                ? "Content-Type: application/strategic-merge-patch+json"
                                : "Content-Type: application/json");
      req.body = DumpJson(*body);
    }
    Millis remaining = deadline.Remaining();
    req.timeout = std::min(options_.request_timeout, std::max(remaining, Millis(1)));
    req.ca_pem = conn_.ca_pem;
    req.ca_file = conn_.ca_file;
    req.tls_server_name = conn_.tls_server_name;
    req.proxy = conn_.proxy_url;
    req.client_cert_pem = conn_.client_cert_pem;
    req.client_key_pem = conn_.client_key_pem;
    req.client_cert_file = conn_.client_cert_file;
    req.client_key_file = conn_.client_key_file;
    req.insecure = conn_.insecure;
    req.max_body = 16UL * 1024 * 1024;
    HttpResponse resp;
    Status st = http_.Do(req, &resp);
    if (!st.ok()) {
      if (st.kind() == Status::Kind::kNotReady) {
        log::Debug("Kubernetes API call failed, retrying",
                   {{"call", method + " " + path}, {"attempt", attempt}, {"error", st.message()}});
      }
      return st;
    }
    out->code = resp.status;
    out->body = json::parse(resp.body, nullptr, false);
    if (out->body.is_discarded()) out->body = nullptr;
    if (resp.status == 401 && !retried_401) {
      // A projected token may have been rotated under us: re-read and retry once.
      retried_401 = true;
      bool changed = false;
      INITKIT_RETURN_IF_ERROR(token_.Reload(&changed));
      if (changed) return Status::NotReady(what + ": HTTP 401, token re-read");
    }
    if (resp.status == 429 || resp.status >= 500) {
      Status e = ErrorFor(method, path, *out);
      Millis server_delay = RetryAfter(resp);
      if (server_delay > Millis(0)) a.retry_after = server_delay;
      log::Debug("Kubernetes API answered with a transient error, retrying",
                 {{"call", method + " " + path},
                  {"attempt", attempt},
                  {"code", resp.status},
                  {"retry_after_ms", server_delay.count()}});
      return Status::NotReady(e.message());
    }
    return Status::Ok();
  });
}

Status K8sClient::ErrorFor(const std::string& method, const std::string& path,
                           const K8sResponse& r) {
  std::string reason, message;
  if (r.body.is_object()) {
    if (r.body.contains("reason") && r.body["reason"].is_string()) reason = r.body["reason"];
    if (r.body.contains("message") && r.body["message"].is_string()) message = r.body["message"];
  }
  std::string text = "Kubernetes API " + method + " " + path + ": HTTP " + std::to_string(r.code);
  if (!reason.empty()) text += " " + reason;
  if (!message.empty()) text += ": " + message;
  if (r.code == 401) text += " (the credentials were rejected)";
  if (r.code == 403) text += " (the service account lacks this permission)";
  return Status::Failed(log::Redact(text));
}

Status K8sClient::GetObject(const std::string& path, const Deadline& deadline, json* out,
                            bool* found) {
  K8sResponse r;
  INITKIT_RETURN_IF_ERROR(Call("GET", path, nullptr, deadline, &r));
  *found = false;
  if (r.code == 404) return Status::Ok();
  if (r.code / 100 != 2) return ErrorFor("GET", path, r);
  if (!r.body.is_object()) {
    return Status::Failed("Kubernetes API GET " + path + ": not a JSON object");
  }
  *found = true;
  *out = std::move(r.body);
  return Status::Ok();
}

}  // namespace initkit
