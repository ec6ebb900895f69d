// The fake server itself: the behaviour other test areas rely on.
#include "tests/fakes/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>

#include "common/http.h"

namespace initkit::testing {
namespace {

using std::chrono::seconds;

TEST(FakeHttpServer, ParsesChunkedRequestBodies) {
  HttpServer server([](const FakeRequest& req) {
    FakeResponse r;
    r.body = req.body;
    return r;
  });
  HttpClient client;
  HttpRequest req;
  req.method = "POST";
  req.url = server.base_url() + "/chunked?a=b";
  req.body = std::string(70000, 'q');
  req.headers = {"Transfer-Encoding: chunked"};
  HttpResponse resp;
  Status st = client.Do(req, &resp);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(resp.body.size(), req.body.size());
  FakeRequest seen = server.requests().at(0);
  EXPECT_EQ(seen.body, req.body);
  EXPECT_EQ(seen.path, "/chunked");
  EXPECT_EQ(seen.query, "a=b");
  EXPECT_EQ(seen.headers["transfer-encoding"], "chunked");
}

TEST(FakeHttpServer, StopWakesStalledAndEndlessAnswers) {
  HttpServer server([](const FakeRequest& req) {
    FakeResponse r;
    if (req.path == "/stall") {
      r.stall_after_headers = true;
      r.body = "never sent";
    } else if (req.path == "/endless") {
      r.endless_body = true;
    } else {
      r.delay = std::chrono::hours(1);
    }
    return r;
  });
  auto fetch = [&](const std::string& path, std::size_t cap) {
    return std::async(std::launch::async, [&server, path, cap] {
      HttpClient client;
      HttpRequest req;
      req.url = server.base_url() + path;
      req.timeout = std::chrono::minutes(5);
      req.max_body = cap;
      HttpResponse resp;
      return client.Do(req, &resp);
    });
  };
  // A client that never reads: the endless sender ends up blocked in send().
  int raw = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(raw, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(server.port()));
  ASSERT_EQ(connect(raw, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string request = "GET /endless HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(raw, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  // Started only now: no ASSERT may return while a future still waits on
  // the running server.
  auto stall = fetch("/stall", 1024);
  auto delayed = fetch("/delay", 1024);
  bool all_arrived = server.WaitForRequests(3, seconds(60));
  server.Stop();  // must return: the test would hang otherwise
  EXPECT_TRUE(all_arrived);
  close(raw);
  EXPECT_EQ(stall.get().kind(), Status::Kind::kNotReady);
  EXPECT_EQ(delayed.get().kind(), Status::Kind::kNotReady);
  EXPECT_EQ(server.request_count(), 3);
}

TEST(FakeHttpServer, HandlerCanCloseTheConnection) {
  HttpServer server([](const FakeRequest&) {
    FakeResponse r;
    r.headers = {{"Connection", "close"}};
    r.body = "bye";
    return r;
  });
  HttpClient client(/*reuse_connections=*/true);
  for (int i = 0; i < 2; ++i) {
    HttpRequest req;
    req.url = server.base_url() + "/";
    HttpResponse resp;
    Status st = client.Do(req, &resp);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(resp.body, "bye");
  }
  EXPECT_EQ(server.connection_count(), 2);
}

TEST(FakeHttpServer, WaitForRequestsTimesOutWithoutRequests) {
  HttpServer server([](const FakeRequest&) { return FakeResponse{}; });
  EXPECT_FALSE(server.WaitForRequests(1, std::chrono::milliseconds(10)));
  EXPECT_EQ(server.connection_count(), 0);
}

TEST(FakeHttpServer, RejectsUnusableTlsMaterial) {
  HttpServer::Tls tls;
  tls.cert_pem = GetTestPki().server_cert_pem;
  tls.key_pem = "not a key";
  EXPECT_THROW(HttpServer([](const FakeRequest&) { return FakeResponse{}; }, tls),
               std::runtime_error);
  tls.key_pem = GetTestPki().client_key_pem;  // a key of another certificate
  EXPECT_THROW(HttpServer([](const FakeRequest&) { return FakeResponse{}; }, tls),
               std::runtime_error);
}

}  // namespace
}  // namespace initkit::testing
