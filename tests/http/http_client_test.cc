// HttpClient against the scripted fake server: success paths, every
// transport fault the client must turn into a clear NotReady, the body cap,
// TLS verification (never silently off) and connection reuse.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "common/http.h"
#include "common/signals.h"
#include "tests/fakes/http_server.h"

namespace initkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeRequest;
using testing::FakeResponse;
using testing::GetTestPki;
using testing::HttpServer;
// gmock matchers would need gmock linked; these say the same.
#define EXPECT_CONTAINS(text, part)                          \
  EXPECT_NE(std::string(text).find(part), std::string::npos) \
      << "\"" << (text) << "\" does not contain \"" << (part) << "\""
#define EXPECT_LACKS(text, part) \
  EXPECT_EQ(std::string(text).find(part), std::string::npos) << "\"" << (text) << "\""

FakeResponse Ok(std::string body) {
  FakeResponse r;
  r.body = std::move(body);
  return r;
}

HttpRequest Get(const std::string& url) {
  HttpRequest req;
  req.url = url;
  return req;
}

// A PEM file that lives as long as the object.
class PemFile {
 public:
  explicit PemFile(const std::string& content) {
    char tmpl[] = "/tmp/initkit-http-test-XXXXXX";
    int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
    std::ofstream(path_) << content;
  }
  ~PemFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

HttpServer::Tls ServerTls(bool require_client_cert = false) {
  const auto& pki = GetTestPki();
  HttpServer::Tls tls;
  tls.cert_pem = pki.server_cert_pem;
  tls.key_pem = pki.server_key_pem;
  if (require_client_cert) tls.client_ca_pem = pki.ca_pem;
  return tls;
}

TEST(HttpClient, GetReturnsStatusHeadersAndBody) {
  HttpServer server([](const FakeRequest& req) {
    FakeResponse r = Ok("hello " + req.path);
    r.headers = {{"X-Answer", "Forty Two"}, {"Content-Type", "text/plain"}};
    return r;
  });
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/greet?x=1");
  req.headers = {"X-Request-Id: abc-123", "Accept: text/plain"};
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "hello /greet");
  EXPECT_EQ(resp.Header("x-answer"), "Forty Two");
  EXPECT_EQ(resp.Header("X-ANSWER"), "Forty Two");
  EXPECT_EQ(resp.Header("content-type"), "text/plain");
  EXPECT_EQ(resp.Header("x-missing"), "");
  for (const auto& [name, value] : resp.headers) {
    for (char c : name) EXPECT_FALSE(std::isupper(static_cast<unsigned char>(c))) << name;
  }

  ASSERT_EQ(server.request_count(), 1);
  FakeRequest seen = server.requests()[0];
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.target, "/greet?x=1");
  EXPECT_EQ(seen.query, "x=1");
  EXPECT_EQ(seen.headers["x-request-id"], "abc-123");
  EXPECT_EQ(seen.headers["accept"], "text/plain");
  EXPECT_EQ(seen.body, "");
}

TEST(HttpClient, MethodsWithBodies) {
  HttpServer server([](const FakeRequest& req) { return Ok(req.method + ":" + req.body); });
  HttpClient client;
  for (std::string method : {"POST", "PUT", "PATCH", "DELETE"}) {
    HttpRequest req = Get(server.base_url() + "/things/1");
    req.method = method;
    req.body = R"({"name":"x"})";
    req.headers = {"Content-Type: application/json"};
    HttpResponse resp;
    Status st = client.Do(req, &resp);
    ASSERT_TRUE(st.ok()) << method << ": " << st.message();
    EXPECT_EQ(resp.body, method + R"(:{"name":"x"})");
  }
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].headers["content-type"], "application/json");
  EXPECT_EQ(seen[0].headers["content-length"], "12");
  EXPECT_EQ(seen[0].headers.count("expect"), 0u);
}

TEST(HttpClient, LargePostBodyIsSentWhole) {
  HttpServer server([](const FakeRequest& req) { return Ok(std::to_string(req.body.size())); });
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/upload");
  req.method = "POST";
  req.body = std::string(3 * 1024 * 1024 + 17, 'b');
  req.timeout = seconds(30);
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.body, std::to_string(req.body.size()));
}

TEST(HttpClient, InterimContinueHeadersAreDropped) {
  HttpServer server([](const FakeRequest& req) {
    FakeResponse r = Ok(req.body);
    r.headers = {{"X-Final", "yes"}};
    return r;
  });
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/put");
  req.method = "PUT";
  req.body = "payload";
  req.headers = {"Expect: 100-continue"};
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "payload");
  EXPECT_EQ(resp.Header("x-final"), "yes");
  EXPECT_EQ(server.requests().at(0).headers["expect"], "100-continue");
}

TEST(HttpClient, ErrorStatusIsAResponseNotAnError) {
  HttpServer server([](const FakeRequest&) {
    FakeResponse r = Ok("maintenance");
    r.status = 503;
    r.headers = {{"Retry-After", "5"}};
    return r;
  });
  HttpClient client;
  HttpResponse resp;
  Status st = client.Do(Get(server.base_url() + "/ready"), &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.status, 503);
  EXPECT_EQ(resp.body, "maintenance");
  EXPECT_EQ(resp.Header("retry-after"), "5");
}

TEST(HttpClient, RedirectIsNotFollowed) {
  HttpServer server([](const FakeRequest&) {
    FakeResponse r;
    r.status = 302;
    r.headers = {{"Location", "/elsewhere"}};
    return r;
  });
  HttpClient client;
  HttpResponse resp;
  Status st = client.Do(Get(server.base_url() + "/start"), &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.status, 302);
  EXPECT_EQ(resp.Header("location"), "/elsewhere");
  EXPECT_EQ(server.request_count(), 1);
}

TEST(HttpClient, DroppedConnectionIsNotReady) {
  HttpServer server([](const FakeRequest&) {
    FakeResponse r;
    r.drop = true;
    return r;
  });
  HttpClient client;
  HttpResponse resp;
  Status st = client.Do(Get(server.base_url() + "/x"), &resp);
  EXPECT_EQ(st.kind(), Status::Kind::kNotReady) << st.message();
  EXPECT_CONTAINS(st.message(), server.base_url() + "/x");
  EXPECT_CONTAINS(st.message(), "without a response");
}

TEST(HttpClient, RefusedPortIsNotReadyAndNamesIt) {
  std::string url;
  {
    HttpServer closed([](const FakeRequest&) { return Ok(""); });
    url = closed.base_url() + "/healthz";
  }  // stopped: nothing listens on that port any more
  HttpClient client;
  HttpRequest req = Get(url);
  req.headers = {"Authorization: Bearer sekrit-token-value"};
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  EXPECT_EQ(st.kind(), Status::Kind::kNotReady) << st.message();
  EXPECT_CONTAINS(st.message(), "refused");
  EXPECT_CONTAINS(st.message(), "GET " + url);
  EXPECT_LACKS(st.message(), "sekrit");
}

TEST(HttpClient, UnresolvableHostIsNotReady) {
  HttpClient client;
  HttpResponse resp;
  // .invalid never resolves (RFC 2606); no network is needed to learn that.
  Status st = client.Do(Get("http://no-such-host.invalid/x"), &resp);
  EXPECT_EQ(st.kind(), Status::Kind::kNotReady) << st.message();
  EXPECT_CONTAINS(st.message(), "no-such-host.invalid");
}

TEST(HttpClient, SlowServerTimesOutBeforeItAnswers) {
  // The delay is long on purpose: Stop() cuts it short, and the client must
  // be back long before it would have elapsed.
  constexpr auto kServerDelay = seconds(60);
  HttpServer server([&](const FakeRequest&) {
    FakeResponse r = Ok("late");
    r.delay = kServerDelay;
    return r;
  });
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/slow");
  req.timeout = milliseconds(300);
  HttpResponse resp;
  auto start = std::chrono::steady_clock::now();
  Status st = client.Do(req, &resp);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(st.kind(), Status::Kind::kNotReady) << st.message();
  EXPECT_CONTAINS(st.message(), "timed out after 300ms");
  EXPECT_LT(elapsed, kServerDelay / 2);
}

TEST(HttpClient, StallAfterHeadersTimesOut) {
  HttpServer server([](const FakeRequest&) {
    FakeResponse r = Ok(std::string(100, 'x'));
    r.stall_after_headers = true;
    return r;
  });
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/stall");
  // Long enough for the headers to arrive even on a loaded machine, so the
  // timeout hits while the body is awaited.
  req.timeout = milliseconds(1500);
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  EXPECT_EQ(st.kind(), Status::Kind::kNotReady) << st.message();
  EXPECT_CONTAINS(st.message(), "timed out after 1500ms");
  EXPECT_CONTAINS(st.message(), "body");
}

TEST(HttpClient, EndlessBodyIsRefusedAtTheCap) {
  HttpServer server([](const FakeRequest&) {
    FakeResponse r;
    r.endless_body = true;
    return r;
  });
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/endless");
  req.max_body = 100 * 1000;
  req.timeout = seconds(30);
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  EXPECT_EQ(st.kind(), Status::Kind::kFailed) << st.message();
  EXPECT_CONTAINS(st.message(), "exceeds 100000 bytes");
  EXPECT_CONTAINS(st.message(), server.base_url() + "/endless");
}

TEST(HttpClient, BodyExactlyAtCapIsAcceptedOneMoreIsNot) {
  constexpr std::size_t kCap = 4096;
  HttpServer server([&](const FakeRequest& req) {
    return Ok(std::string(req.path == "/at" ? kCap : kCap + 1, 'z'));
  });
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/at");
  req.max_body = kCap;
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.body.size(), kCap);

  req.url = server.base_url() + "/over";
  st = client.Do(req, &resp);
  EXPECT_EQ(st.kind(), Status::Kind::kFailed) << st.message();
  EXPECT_CONTAINS(st.message(), "exceeds 4096 bytes");
}

TEST(HttpClient, ChunkedBodyOverCapIsRefused) {
  // No Content-Length: the cap must hold while the body streams in.
  HttpServer server([](const FakeRequest&) {
    FakeResponse r;
    r.headers = {{"Transfer-Encoding", "chunked"}};
    r.body = "3e9\r\n" + std::string(1001, 'c') + "\r\n0\r\n\r\n";
    return r;
  });
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/chunked");
  req.max_body = 1000;
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  EXPECT_EQ(st.kind(), Status::Kind::kFailed) << st.message();
  req.max_body = 1001;
  st = client.Do(req, &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.body, std::string(1001, 'c'));
}

TEST(HttpClient, HttpsWithTestCaSucceeds) {
  HttpServer server([](const FakeRequest&) { return Ok("secure"); }, ServerTls());
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/tls");
  req.ca_pem = GetTestPki().ca_pem;
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.body, "secure");

  PemFile ca(GetTestPki().ca_pem);
  req.ca_pem.clear();
  req.ca_file = ca.path();
  st = client.Do(req, &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.body, "secure");
}

TEST(HttpClient, HttpsByIpMatchesTheIpSan) {
  HttpServer server([](const FakeRequest&) { return Ok("ip"); }, ServerTls());
  HttpClient client;
  HttpRequest req = Get("https://127.0.0.1:" + std::to_string(server.port()) + "/");
  req.ca_pem = GetTestPki().ca_pem;
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.body, "ip");
}

TEST(HttpClient, HttpsWithWrongCaOrNoCaFails) {
  HttpServer server([](const FakeRequest&) { return Ok("must not be read"); }, ServerTls());
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/tls");
  req.ca_pem = GetTestPki().other_ca_pem;
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  EXPECT_EQ(st.kind(), Status::Kind::kNotReady) << st.message();
  EXPECT_CONTAINS(st.message(), "TLS certificate verification failed");
  EXPECT_NE(resp.body, "must not be read");

  // The default (system store, or none installed) must not trust the test
  // CA either.
  req.ca_pem.clear();
  st = client.Do(req, &resp);
  EXPECT_FALSE(st.ok());
  EXPECT_CONTAINS(st.message(), "certificate");
  EXPECT_EQ(server.request_count(), 0);
}

TEST(HttpClient, InsecureSkipsVerification) {
  HttpServer server([](const FakeRequest&) { return Ok("anyway"); }, ServerTls());
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/tls");
  req.ca_pem = GetTestPki().other_ca_pem;
  req.insecure = true;
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.body, "anyway");
}

TEST(HttpClient, ClientCertificateRequiredAndPresented) {
  HttpServer server([](const FakeRequest&) { return Ok("mutual"); }, ServerTls(true));
  const auto& pki = GetTestPki();
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/mtls");
  req.ca_pem = pki.ca_pem;
  req.client_cert_pem = pki.client_cert_pem;
  req.client_key_pem = pki.client_key_pem;
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.body, "mutual");

  PemFile cert(pki.client_cert_pem), key(pki.client_key_pem);
  HttpClient file_client;
  req.client_cert_pem.clear();
  req.client_key_pem.clear();
  req.client_cert_file = cert.path();
  req.client_key_file = key.path();
  st = file_client.Do(req, &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.body, "mutual");
}

TEST(HttpClient, ClientCertificateMissingFails) {
  HttpServer server([](const FakeRequest&) { return Ok("mutual"); }, ServerTls(true));
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/mtls");
  req.ca_pem = GetTestPki().ca_pem;
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  // Depending on timing (TLS 1.3 rejects after the client's handshake is
  // done) this is an alert or a reset: either way transport, not success.
  EXPECT_EQ(st.kind(), Status::Kind::kNotReady) << st.message();
  EXPECT_EQ(server.request_count(), 0);
}

TEST(HttpClient, UnreadableClientKeyIsAUsageError) {
  HttpServer server([](const FakeRequest&) { return Ok(""); }, ServerTls(true));
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/mtls");
  req.ca_pem = GetTestPki().ca_pem;
  req.client_cert_file = "/nonexistent/client.crt";
  req.client_key_file = "/nonexistent/client.key";
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  EXPECT_EQ(st.kind(), Status::Kind::kUsage) << st.message();
}

TEST(HttpClient, UnreadableCaFileIsAUsageError) {
  HttpServer server([](const FakeRequest&) { return Ok(""); }, ServerTls());
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/");
  req.ca_file = "/nonexistent/ca.crt";
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  EXPECT_EQ(st.kind(), Status::Kind::kUsage) << st.message();
  EXPECT_CONTAINS(st.message(), "/nonexistent/ca.crt");
}

TEST(HttpClient, HeadReadsNoBodyAndIgnoresTheCap) {
  HttpServer server([](const FakeRequest&) { return Ok(std::string(5000, 'h')); });
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/big");
  req.method = "HEAD";
  req.max_body = 10;
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.Header("content-length"), "5000");
  EXPECT_EQ(resp.body, "");
  EXPECT_EQ(server.requests().at(0).method, "HEAD");
}

TEST(HttpClient, SendsAUserAgentUnlessGiven) {
  HttpServer server([](const FakeRequest&) { return Ok(""); });
  HttpClient client;
  HttpResponse resp;
  ASSERT_TRUE(client.Do(Get(server.base_url() + "/"), &resp).ok());
  HttpRequest req = Get(server.base_url() + "/");
  req.headers = {"User-Agent: probe/1"};
  ASSERT_TRUE(client.Do(req, &resp).ok());
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].headers["user-agent"].rfind("initkit/", 0), 0u)
      << seen[0].headers["user-agent"];
  EXPECT_EQ(seen[1].headers["user-agent"], "probe/1");
}

TEST(HttpClient, ReuseKeepsOneConnection) {
  HttpServer server([](const FakeRequest&) { return Ok("k"); });
  HttpClient client(/*reuse_connections=*/true);
  for (int i = 0; i < 3; ++i) {
    HttpResponse resp;
    Status st = client.Do(Get(server.base_url() + "/"), &resp);
    ASSERT_TRUE(st.ok()) << st.message();
  }
  EXPECT_EQ(server.request_count(), 3);
  EXPECT_EQ(server.connection_count(), 1);
}

TEST(HttpClient, NoReuseOpensAConnectionPerRequest) {
  HttpServer server([](const FakeRequest&) { return Ok("n"); });
  HttpClient client(/*reuse_connections=*/false);
  for (int i = 0; i < 3; ++i) {
    HttpResponse resp;
    Status st = client.Do(Get(server.base_url() + "/"), &resp);
    ASSERT_TRUE(st.ok()) << st.message();
  }
  EXPECT_EQ(server.request_count(), 3);
  EXPECT_EQ(server.connection_count(), 3);
}

TEST(HttpClient, StopSignalInterruptsATransfer) {
  HttpServer server([](const FakeRequest&) {
    FakeResponse r;
    r.stall_after_headers = true;
    r.body = "never";
    return r;
  });
  signals::ResetForTest();
  std::thread raiser([&] {
    if (server.WaitForRequests(1, seconds(30))) signals::RaiseForTest(SIGTERM);
  });
  HttpClient client;
  HttpRequest req = Get(server.base_url() + "/stall");
  req.timeout = seconds(60);
  HttpResponse resp;
  auto start = std::chrono::steady_clock::now();
  Status st = client.Do(req, &resp);
  auto elapsed = std::chrono::steady_clock::now() - start;
  raiser.join();
  EXPECT_EQ(st.kind(), Status::Kind::kInterrupted) << st.message();
  EXPECT_EQ(st.signal(), SIGTERM);
  EXPECT_LT(elapsed, seconds(30));

  // Already stopping: no request goes out.
  st = client.Do(req, &resp);
  EXPECT_EQ(st.kind(), Status::Kind::kInterrupted);
  EXPECT_EQ(server.request_count(), 1);
  signals::ResetForTest();
}

TEST(HttpClient, BadInputsAreUsageErrors) {
  HttpClient client;
  HttpResponse resp;
  HttpRequest req = Get("ftp://127.0.0.1/file");
  EXPECT_EQ(client.Do(req, &resp).kind(), Status::Kind::kUsage);
  req = Get("http://127.0.0.1:1/");
  req.method = "GET\r\nX-Injected: 1";
  EXPECT_EQ(client.Do(req, &resp).kind(), Status::Kind::kUsage);
  req = Get("http://127.0.0.1:1/");
  req.headers = {"Authorization: Bearer sekrit\r\nX-Injected: 1"};
  Status st = client.Do(req, &resp);
  EXPECT_EQ(st.kind(), Status::Kind::kUsage);
  EXPECT_LACKS(st.message(), "sekrit");
  EXPECT_CONTAINS(st.message(), "'Authorization'");
  req.headers = {"Accept: */*", "Bearer sekrit"};  // the name forgotten
  st = client.Do(req, &resp);
  EXPECT_EQ(st.kind(), Status::Kind::kUsage);
  EXPECT_CONTAINS(st.message(), "#2");
  EXPECT_LACKS(st.message(), "sekrit");
  EXPECT_EQ(client.Do(Get(""), &resp).kind(), Status::Kind::kUsage);
}

TEST(UrlForDisplay, StripsUserinfo) {
  EXPECT_EQ(UrlForDisplay("http://user:pa@ss@host:8080/p?q=1"), "http://host:8080/p?q=1");
  EXPECT_EQ(UrlForDisplay("https://token@api.example/"), "https://api.example/");
  EXPECT_EQ(UrlForDisplay("http://host/path@with-at"), "http://host/path@with-at");
  EXPECT_EQ(UrlForDisplay("http://host"), "http://host");
  EXPECT_EQ(UrlForDisplay("http://u:p@host"), "http://host");
}

}  // namespace
}  // namespace initkit
