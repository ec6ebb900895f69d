// A scripted HTTP/1.1 server on loopback (plain or TLS) for tests.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace initkit::testing {

/// A request as the server saw it (recorded before the handler runs).
/// Header names are lower-cased; repeated headers are joined with ", ".
struct FakeRequest {
  std::string method;
  std::string target;  // path + "?" + query, as sent
  std::string path;
  std::string query;
  std::map<std::string, std::string> headers;
  std::string body;
  // TLS: the subject CN of the client certificate the server verified ("" =
  // none presented).
  std::string client_cert_cn;
};

/// The answer, and the faults to inject instead of / around it.
struct FakeResponse {
  int status = 200;
  // Content-Length is added unless Content-Length/Transfer-Encoding is given
  // (then `body` is sent as is, e.g. pre-encoded chunks). "Connection: close"
  // closes the connection after the answer.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds delay{0};  // wait before answering (injected latency; Stop() cuts it)
  bool drop = false;                   // close the connection without an answer
  bool stall_after_headers = false;    // send the headers, then hang until Stop()
  bool endless_body = false;           // chunked body that never ends (until Stop())
};

using FakeHandler = std::function<FakeResponse(const FakeRequest&)>;

/// HttpServer listens on 127.0.0.1:<free port>, one thread per connection,
/// keep-alive supported. The handler runs on connection threads: guard
/// shared state. Stop() (or the destructor) wakes stalled answers and joins.
class HttpServer {
 public:
  struct Tls {
    std::string cert_pem;  // server certificate (chain)
    std::string key_pem;
    std::string client_ca_pem;  // if set, require a client certificate signed by it
    // With client_ca_pem: a client certificate is verified when one is sent
    // but not required (the Kubernetes API server's way).
    bool client_cert_optional = false;
  };
  /// Where to listen: 127.0.0.1 (default) or ::1.
  enum class Family { kIpv4, kIpv6 };
  explicit HttpServer(FakeHandler handler);
  /// Throws std::runtime_error if the socket or the TLS material is unusable.
  HttpServer(FakeHandler handler, Tls tls);
  HttpServer(FakeHandler handler, Tls tls, Family family);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  /// "http://127.0.0.1:PORT" or "https://localhost:PORT" (TLS); over IPv6
  /// "http(s)://[::1]:PORT".
  std::string base_url() const;
  int request_count() const;
  /// Connections accepted so far (to tell reused connections from new ones).
  int connection_count() const;
  std::vector<FakeRequest> requests() const;
  /// Waits (condition variable) until request_count() >= n.
  bool WaitForRequests(int n, std::chrono::milliseconds timeout) const;
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A throwaway PKI made with OpenSSL: a CA, a server certificate for
/// localhost/127.0.0.1/::1 and a client certificate, all PEM.
struct TestPki {
  std::string ca_pem;
  std::string server_cert_pem, server_key_pem;
  std::string client_cert_pem, client_key_pem;  // CN "initkit test client"
  // Signed by the CA for DNS:kubernetes.default.svc only (no IP addresses).
  std::string named_server_cert_pem, named_server_key_pem;
  std::string other_ca_pem;  // an unrelated CA (verification must fail with it)
};
/// Generated once per process (EC P-256 keys, valid for 30 days) and cached.
/// Throws std::runtime_error if OpenSSL fails.
const TestPki& GetTestPki();

}  // namespace initkit::testing
