#include "common/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string_view>

#include "common/signals.h"
#include "common/strings.h"

namespace initkit {
namespace {

// How often a transfer re-checks for a stop signal when the stop fd cannot
// be polled; also bounds how long one curl_multi_poll may sleep.
constexpr int kPollIntervalMs = 250;

#ifndef INITKIT_VERSION
#define INITKIT_VERSION "dev"
#endif
// Lets server logs tell initkit's probes from other clients.
constexpr const char* kUserAgent = "initkit/" INITKIT_VERSION;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// "2s", "300ms", "1500ms": how a duration reads in a message.
std::string FormatDuration(std::chrono::milliseconds d) {
  if (d.count() >= 1000 && d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

// The host part of a URL, for messages ("" if it has none).
std::string HostOf(const std::string& url) {
  std::string host;
  CURLU* u = curl_url();
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* h = nullptr;
    if (curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK && h) host = h;
    curl_free(h);
  }
  curl_url_cleanup(u);
  return host;
}

// A method is sent verbatim on the request line: only a plain token.
bool ValidMethod(const std::string& m) {
  if (m.empty() || m.size() > 20) return false;
  for (char c : m) {
    if (!std::isupper(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Keeps SIGPIPE from a write to a closed peer (e.g. inside OpenSSL) from
// killing the process: blocked in this thread only for the transfer, and a
// SIGPIPE raised meanwhile is consumed. Process-wide SIG_IGN would not be
// thread-safe, which is why curl's own handling is off (CURLOPT_NOSIGNAL).
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    was_blocked_ = sigismember(&old_, SIGPIPE) == 1;
  }
  ~SigpipeGuard() {
    if (was_blocked_) return;
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
      timespec zero{};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_, old_;
  bool was_blocked_ = false;
};

// State shared with curl's callbacks during one transfer.
struct Transfer {
  HttpResponse* response = nullptr;
  std::size_t max_body = 0;
  bool over_cap = false;
  bool saw_status = false;  // a status line of the final response arrived
  bool head = false;        // HEAD: a Content-Length announces no body
};

std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = size * n;
  std::string_view line(data, len);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line: an interim (100 Continue) or earlier response ends
    // here, only the last one's headers count.
    t->response->headers.clear();
    t->saw_status = true;
    return len;
  }
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return len;  // blank line or folding
  std::string name = ToLower(Trim(line.substr(0, colon)));
  std::string value(Trim(line.substr(colon + 1)));
  if (name == "content-length" && !t->head) {
    // Refuse an announced oversize body before any of it is read.
    char* end = nullptr;
    unsigned long long announced = std::strtoull(value.c_str(), &end, 10);
    if (end != value.c_str() && announced > t->max_body) {
      t->over_cap = true;
      return 0;
    }
  }
  t->response->headers.emplace_back(std::move(name), std::move(value));
  return len;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = size * n;
  if (t->response->body.size() + len > t->max_body) {
    t->over_cap = true;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  t->response->body.append(data, len);
  return len;
}

// Backstop for the poll loop: also aborts inside a long curl call.
int OnProgress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return signals::StopRequested() ? 1 : 0;
}

void SetBlob(CURL* easy, CURLoption opt, const std::string& pem) {
  curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(easy, opt, &blob);
}

}  // namespace

std::string HttpResponse::Header(const std::string& name) const {
  std::string want = ToLower(name);
  for (const auto& [n, v] : headers) {
    if (n == want) return v;
  }
  return "";
}

std::string UrlEscape(std::string_view s) {
  // A null handle is allowed since libcurl 7.82 (Debian 12 ships 7.88).
  char* e = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  if (e == nullptr) throw std::bad_alloc();  // its only failure
  std::string out(e);
  curl_free(e);
  return out;
}

std::string UrlForDisplay(const std::string& url) {
  std::size_t scheme = url.find("://");
  std::size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  std::size_t end = url.find_first_of("/?#", start);
  if (end == std::string::npos) end = url.size();
  // The last '@' ends the userinfo: a password may itself contain '@'.
  std::size_t at = url.rfind('@', end == 0 ? 0 : end - 1);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + url.substr(at + 1);
}

struct HttpClient::Impl {
  CURL* easy = nullptr;
  CURLM* multi = nullptr;  // owns the connection cache between requests
  bool reuse = true;
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_slist* connect_to = nullptr;  // CURLOPT_CONNECT_TO of the request in flight

  Status Configure(const HttpRequest& req, Transfer* t, curl_slist** headers);
  Status SetServerName(const HttpRequest& req, curl_slist** headers);
  Status Perform(CURLcode* result);
  Status Describe(const HttpRequest& req, CURLcode code, const Transfer& t);
};

HttpClient::HttpClient(bool reuse_connections) : impl_(std::make_unique<Impl>()) {
  GlobalInit();
  impl_->reuse = reuse_connections;
  impl_->easy = curl_easy_init();
  impl_->multi = curl_multi_init();
}

HttpClient::~HttpClient() {
  if (impl_->easy) curl_easy_cleanup(impl_->easy);
  if (impl_->multi) curl_multi_cleanup(impl_->multi);
}

Status HttpClient::Impl::Configure(const HttpRequest& req, Transfer* t, curl_slist** headers) {
  curl_easy_reset(easy);
  errbuf[0] = '\0';
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(easy, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, kUserAgent);  // a caller's User-Agent header wins
  long timeout_ms = static_cast<long>(std::max<std::int64_t>(1, req.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  if (!reuse) {
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
  }

  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &OnProgress);

  const std::string& m = req.method;
  if (m == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (m == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else {
    if (m != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, m.c_str());
    // A DELETE without body sends none; POST/PUT/PATCH always carry a
    // Content-Length (0 if empty), as servers expect.
    if (m != "DELETE" || !req.body.empty()) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req.body.c_str());
    }
  }

  bool has_expect = false;
  for (std::size_t i = 0; i < req.headers.size(); ++i) {
    const std::string& h = req.headers[i];
    std::size_t colon = h.find(':');
    std::size_t crlf = h.find_first_of("\r\n");
    if (colon == std::string::npos || colon == 0 || crlf != std::string::npos) {
      // Named only when the name is clean, never with its value: the value
      // (or a header missing its name) may be a token.
      std::string which = colon != std::string::npos && colon != 0 && crlf > colon
                              ? "'" + h.substr(0, colon) + "'"
                              : "#" + std::to_string(i + 1);
      return Status::Usage("request header " + which + " for " + UrlForDisplay(req.url) +
                           " is not a single 'Name: value' line");
    }
    if (ToLower(Trim(std::string_view(h).substr(0, h.find(':')))) == "expect") has_expect = true;
    *headers = curl_slist_append(*headers, h.c_str());
  }
  // curl would wait up to a second for a "100 Continue" before sending a
  // larger body; servers we talk to do not need the handshake.
  if (!has_expect) *headers = curl_slist_append(*headers, "Expect:");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, *headers);

  if (!req.tls_server_name.empty()) INITKIT_RETURN_IF_ERROR(SetServerName(req, headers));
  if (!req.proxy.empty()) curl_easy_setopt(easy, CURLOPT_PROXY, req.proxy.c_str());
  if (!req.ca_file.empty() || !req.ca_pem.empty()) {
    // Trust only the given CA, not the system store as well.
    curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);
    if (!req.ca_pem.empty()) {
      curl_easy_setopt(easy, CURLOPT_CAINFO, nullptr);
      SetBlob(easy, CURLOPT_CAINFO_BLOB, req.ca_pem);
    } else {
      curl_easy_setopt(easy, CURLOPT_CAINFO, req.ca_file.c_str());
    }
  }
  if (!req.client_cert_pem.empty()) {
    SetBlob(easy, CURLOPT_SSLCERT_BLOB, req.client_cert_pem);
  } else if (!req.client_cert_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT, req.client_cert_file.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
  if (!req.client_key_pem.empty()) {
    SetBlob(easy, CURLOPT_SSLKEY_BLOB, req.client_key_pem);
  } else if (!req.client_key_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLKEY, req.client_key_file.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
  if (req.insecure) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  } else {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  }
  return Status::Ok();
}

// curl checks the certificate against (and sends as SNI) the URL's host, so
// the URL names the TLS server name and CONNECT_TO sends the connection to
// the real host; the Host header keeps the real one.
Status HttpClient::Impl::SetServerName(const HttpRequest& req, curl_slist** headers) {
  const std::string& name = req.tls_server_name;
  if (name.find_first_of(":/[]@?# ") != std::string::npos) {
    return Status::Usage("TLS server name '" + name + "' for " + UrlForDisplay(req.url) +
                         " is not a host name");
  }
  CURLU* u = curl_url();
  char* host = nullptr;
  char* port = nullptr;
  char* url = nullptr;
  Status st;
  if (curl_url_set(u, CURLUPART_URL, req.url.c_str(), 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
      curl_url_set(u, CURLUPART_HOST, name.c_str(), 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
    st = Status::Usage(req.method + " " + UrlForDisplay(req.url) + ": malformed URL");
  } else {
    std::string real_host = host;  // IPv6 comes bracketed, as CONNECT_TO wants it
    std::string target = name + ":" + port + ":" + real_host + ":" + port;
    connect_to = curl_slist_append(connect_to, target.c_str());
    curl_easy_setopt(easy, CURLOPT_CONNECT_TO, connect_to);
    curl_easy_setopt(easy, CURLOPT_URL, url);  // curl copies it
    bool has_host = false;
    for (const std::string& h : req.headers) {
      if (ToLower(Trim(std::string_view(h).substr(0, h.find(':')))) == "host") has_host = true;
    }
    if (!has_host) {
      std::string default_port = req.url.rfind("https://", 0) == 0 ? "443" : "80";
      std::string value =
          "Host: " + real_host + (port == default_port ? "" : ":" + std::string(port));
      *headers = curl_slist_append(*headers, value.c_str());
      curl_easy_setopt(easy, CURLOPT_HTTPHEADER, *headers);
    }
  }
  curl_free(host);
  curl_free(port);
  curl_free(url);
  curl_url_cleanup(u);
  return st;
}

// Runs the transfer on the multi handle so that a stop signal (the stop fd
// becoming readable) ends the wait at once rather than at curl's next
// progress tick. Returns Interrupted if a stop signal arrived.
Status HttpClient::Impl::Perform(CURLcode* result) {
  *result = CURLE_OK;
  if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
    return Status::Failed("curl_multi_add_handle failed");
  }
  int stop_fd = signals::StopFd();
  bool interrupted = false;
  for (;;) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc != CURLM_OK) {
      curl_multi_remove_handle(multi, easy);
      return Status::Failed(std::string("curl_multi_perform: ") + curl_multi_strerror(mc));
    }
    if (running == 0) break;
    if (signals::StopRequested()) {
      interrupted = true;
      break;
    }
    curl_waitfd extra{};
    unsigned n_extra = 0;
    if (stop_fd >= 0) {
      extra.fd = stop_fd;
      extra.events = CURL_WAIT_POLLIN;
      n_extra = 1;
    }
    mc = curl_multi_poll(multi, n_extra ? &extra : nullptr, n_extra, kPollIntervalMs, nullptr);
    if (mc != CURLM_OK) {
      curl_multi_remove_handle(multi, easy);
      return Status::Failed(std::string("curl_multi_poll: ") + curl_multi_strerror(mc));
    }
    // A readable stop fd without a stop (e.g. after a test reset) must not
    // turn the loop into a busy wait.
    if (n_extra && (extra.revents & CURL_WAIT_POLLIN) && !signals::StopRequested()) stop_fd = -1;
  }
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) *result = msg->data.result;
  }
  curl_multi_remove_handle(multi, easy);
  if (interrupted || *result == CURLE_ABORTED_BY_CALLBACK) {
    int sig = signals::StopSignal();
    return Status::Interrupted(sig ? sig : SIGTERM);
  }
  return Status::Ok();
}

Status HttpClient::Impl::Describe(const HttpRequest& req, CURLcode code, const Transfer& t) {
  std::string what = req.method + " " + UrlForDisplay(req.url) + ": ";
  std::string detail = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(code));
  switch (code) {
    case CURLE_WRITE_ERROR:
      if (t.over_cap) {
        return Status::Failed("response body from " + UrlForDisplay(req.url) + " exceeds " +
                              std::to_string(req.max_body) + " bytes");
      }
      break;
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Status::Usage(what + "unsupported URL scheme (only http and https)");
    case CURLE_URL_MALFORMAT:
      return Status::Usage(what + "malformed URL");
    case CURLE_COULDNT_RESOLVE_HOST:
      return Status::NotReady(what + "could not resolve host '" + HostOf(req.url) + "'");
    case CURLE_COULDNT_CONNECT: {
      long os_errno = 0;
      curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
      if (os_errno == ECONNREFUSED) return Status::NotReady(what + "connection refused");
      return Status::NotReady(what + "could not connect: " + detail);
    }
    case CURLE_OPERATION_TIMEDOUT: {
      std::string phase =
          !t.saw_status ? " waiting for the response" : " while reading the response body";
      return Status::NotReady(what + "timed out after " + FormatDuration(req.timeout) + phase);
    }
    case CURLE_PEER_FAILED_VERIFICATION:
      return Status::NotReady(what + "TLS certificate verification failed: " + detail);
    case CURLE_SSL_CONNECT_ERROR:
      return Status::NotReady(what + "TLS handshake failed: " + detail);
    case CURLE_SSL_CERTPROBLEM:
      return Status::Usage(what + "client certificate or key unusable: " + detail);
    case CURLE_SSL_CACERT_BADFILE:
      return Status::Usage(what + "CA certificate unusable: " + detail);
    case CURLE_GOT_NOTHING:
      return Status::NotReady(what + "server closed the connection without a response");
    case CURLE_PARTIAL_FILE:
      return Status::NotReady(what + "connection closed before the whole body arrived");
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      // With TLS 1.3 a rejected client certificate shows up here, as an
      // alert after the handshake.
      if (detail.find("alert") != std::string::npos) {
        return Status::NotReady(what + "TLS connection failed: " + detail);
      }
      // The error buffer may hold an earlier, non-fatal note; curl's own
      // description of the code comes first.
      return Status::NotReady(what + "connection failed: " + curl_easy_strerror(code) +
                              (errbuf[0] ? " (" + detail + ")" : ""));
    default:
      break;
  }
  return Status::NotReady(what + curl_easy_strerror(code) + (errbuf[0] ? ": " + detail : ""));
}

Status HttpClient::Do(const HttpRequest& request, HttpResponse* response) {
  *response = HttpResponse();
  if (!impl_->easy || !impl_->multi) return Status::Failed("could not initialise libcurl");
  if (request.url.empty()) return Status::Usage("HTTP request without a URL");
  if (!ValidMethod(request.method)) {
    return Status::Usage("invalid HTTP method '" + request.method + "' for " +
                         UrlForDisplay(request.url));
  }
  if (signals::StopRequested()) {
    int sig = signals::StopSignal();
    return Status::Interrupted(sig ? sig : SIGTERM);
  }

  Transfer t;
  t.response = response;
  t.max_body = request.max_body;
  t.head = request.method == "HEAD";
  curl_slist* headers = nullptr;
  Status st = impl_->Configure(request, &t, &headers);
  CURLcode code = CURLE_OK;
  if (st.ok()) {
    SigpipeGuard guard;
    st = impl_->Perform(&code);
  }
  // The easy handle keeps pointers to the list until the next reset.
  curl_easy_setopt(impl_->easy, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  curl_easy_setopt(impl_->easy, CURLOPT_CONNECT_TO, nullptr);
  curl_slist_free_all(impl_->connect_to);
  impl_->connect_to = nullptr;
  if (!st.ok()) return st;
  if (code != CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(impl_->easy, CURLINFO_RESPONSE_CODE, &status);
    response->status = status;
    return impl_->Describe(request, code, t);
  }
  curl_easy_getinfo(impl_->easy, CURLINFO_RESPONSE_CODE, &response->status);
  return Status::Ok();
}

}  // namespace initkit
