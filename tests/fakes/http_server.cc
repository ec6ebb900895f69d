#include "tests/fakes/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <stdexcept>
#include <string_view>

#include <gtest/gtest.h>

namespace initkit::testing {
namespace {

// Request heads larger than this are answered by closing the connection.
constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::size_t kEndlessChunk = 16 * 1024;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string OpenSslError(const std::string& what) {
  std::string msg = what;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  return msg;
}

// SIGPIPE from writing to a socket the client closed is directed at the
// writing thread; blocking it there turns it into EPIPE without touching
// the process-wide disposition that the code under test may rely on.
void BlockSigpipeInThisThread() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// One accepted connection with blocking I/O, plain or TLS.
class Stream {
 public:
  Stream(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Stream() {
    if (ssl_) SSL_free(ssl_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Bytes read; 0 on end of stream or error.
  std::size_t Read(char* buf, std::size_t n) {
    if (ssl_) {
      int r = SSL_read(ssl_, buf, static_cast<int>(n));
      return r > 0 ? static_cast<std::size_t>(r) : 0;
    }
    for (;;) {
      ssize_t r = recv(fd_, buf, n, 0);
      if (r < 0 && errno == EINTR) continue;
      return r > 0 ? static_cast<std::size_t>(r) : 0;
    }
  }

  bool WriteAll(std::string_view data) {
    while (!data.empty()) {
      std::size_t written;
      if (ssl_) {
        int r = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
        if (r <= 0) return false;
        written = static_cast<std::size_t>(r);
      } else {
        ssize_t r = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        written = static_cast<std::size_t>(r);
      }
      data.remove_prefix(written);
    }
    return true;
  }

  void Shutdown() {
    if (ssl_) SSL_shutdown(ssl_);
  }

 private:
  int fd_;
  SSL* ssl_;
};

// Buffers a Stream for line/length oriented reads.
class Reader {
 public:
  explicit Reader(Stream* s) : s_(s) {}

  // Reads up to and including the blank line that ends a head.
  bool ReadHead(std::string* head) {
    for (;;) {
      std::size_t end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        *head = buf_.substr(0, end + 2);
        buf_.erase(0, end + 4);
        return true;
      }
      if (buf_.size() > kMaxHead || !Fill()) return false;
    }
  }

  bool ReadLine(std::string* line) {
    for (;;) {
      std::size_t end = buf_.find("\r\n");
      if (end != std::string::npos) {
        *line = buf_.substr(0, end);
        buf_.erase(0, end + 2);
        return true;
      }
      if (buf_.size() > kMaxHead || !Fill()) return false;
    }
  }

  bool ReadN(std::size_t n, std::string* out) {
    while (buf_.size() < n) {
      if (!Fill()) return false;
    }
    out->append(buf_, 0, n);
    buf_.erase(0, n);
    return true;
  }

 private:
  bool Fill() {
    char tmp[16384];
    std::size_t n = s_->Read(tmp, sizeof tmp);
    if (n == 0) return false;
    buf_.append(tmp, n);
    return true;
  }
  Stream* s_;
  std::string buf_;
};

bool ClosesAlready(const FakeResponse& r) {
  for (const auto& [name, value] : r.headers) {
    if (Lower(name) == "connection") return true;
  }
  return false;
}

bool ReadChunkedBody(Reader* r, std::string* body) {
  for (;;) {
    std::string line;
    if (!r->ReadLine(&line)) return false;
    std::size_t size = 0;
    try {
      size = std::stoul(line.substr(0, line.find(';')), nullptr, 16);
    } catch (...) {
      return false;
    }
    if (size == 0) {
      // Trailers end with an empty line.
      do {
        if (!r->ReadLine(&line)) return false;
      } while (!line.empty());
      return true;
    }
    if (!r->ReadN(size, body) || !r->ReadLine(&line) || !line.empty()) return false;
  }
}

// Parses a request head; false if it is not HTTP/1.x.
bool ParseHead(const std::string& head, FakeRequest* req, bool* http10) {
  std::size_t eol = head.find("\r\n");
  std::string line = head.substr(0, eol);
  std::size_t sp1 = line.find(' ');
  std::size_t sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) return false;
  req->method = line.substr(0, sp1);
  req->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string version = line.substr(sp2 + 1);
  if (version.rfind("HTTP/1.", 0) != 0) return false;
  *http10 = version == "HTTP/1.0";
  std::size_t q = req->target.find('?');
  req->path = req->target.substr(0, q);
  req->query = q == std::string::npos ? "" : req->target.substr(q + 1);
  std::size_t pos = eol + 2;
  while (pos < head.size()) {
    std::size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    std::string h = head.substr(pos, end - pos);
    pos = end + 2;
    std::size_t colon = h.find(':');
    if (colon == std::string::npos) continue;
    std::string name = Lower(Trim(h.substr(0, colon)));
    std::string value = Trim(h.substr(colon + 1));
    auto [it, inserted] = req->headers.emplace(name, value);
    if (!inserted) it->second += ", " + value;
  }
  return true;
}

// The CN of the client certificate OpenSSL verified on `ssl`, or "".
std::string VerifiedClientCn(SSL* ssl) {
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (peer == nullptr) return "";
  std::string cn;
  if (SSL_get_verify_result(ssl) == X509_V_OK) {
    char buf[256] = {0};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, sizeof buf) >
        0) {
      cn = buf;
    }
  }
  X509_free(peer);
  return cn;
}

SSL_CTX* MakeServerContext(const HttpServer::Tls& tls) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) throw std::runtime_error(OpenSslError("SSL_CTX_new"));
  auto fail = [&](const std::string& what) {
    std::string msg = OpenSslError(what);
    SSL_CTX_free(ctx);
    throw std::runtime_error(msg);
  };
  BIO* bio = BIO_new_mem_buf(tls.cert_pem.data(), static_cast<int>(tls.cert_pem.size()));
  X509* leaf = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1) {
    X509_free(leaf);
    BIO_free(bio);
    fail("server certificate");
  }
  X509_free(leaf);
  while (X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    SSL_CTX_add0_chain_cert(ctx, extra);  // takes ownership
  }
  ERR_clear_error();  // the loop above ends on a "no start line" error
  BIO_free(bio);

  bio = BIO_new_mem_buf(tls.key_pem.data(), static_cast<int>(tls.key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!key || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    EVP_PKEY_free(key);
    fail("server key");
  }
  EVP_PKEY_free(key);
  if (SSL_CTX_check_private_key(ctx) != 1) fail("server key does not match the certificate");

  if (!tls.client_ca_pem.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    bio = BIO_new_mem_buf(tls.client_ca_pem.data(), static_cast<int>(tls.client_ca_pem.size()));
    int count = 0;
    while (X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, ca);
      SSL_CTX_add_client_CA(ctx, ca);
      X509_free(ca);
      ++count;
    }
    ERR_clear_error();
    BIO_free(bio);
    if (count == 0) fail("client CA");
    SSL_CTX_set_verify(
        ctx, SSL_VERIFY_PEER | (tls.client_cert_optional ? 0 : SSL_VERIFY_FAIL_IF_NO_PEER_CERT),
        nullptr);
  }
  return ctx;
}

}  // namespace

struct HttpServer::Impl {
  // A connection thread and the socket Stop() shuts down to wake it.
  struct Conn {
    int fd = -1;  // -1 once the thread closed it
    bool done = false;
    std::thread thread;
  };

  FakeHandler handler;
  SSL_CTX* ssl_ctx = nullptr;
  int listen_fd = -1;
  int wake_pipe[2] = {-1, -1};
  int port = 0;
  bool ipv6 = false;
  std::thread accept_thread;

  mutable std::mutex mu;
  mutable std::condition_variable cv;  // requests arrived, or stopping
  bool stopping = false;
  bool stopped = false;
  int connections = 0;
  std::vector<FakeRequest> requests;
  std::list<std::unique_ptr<Conn>> conns;

  void Start() {
    listen_fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0) throw std::runtime_error(std::string("socket: ") + strerror(errno));
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage storage{};
    socklen_t len = 0;
    if (ipv6) {
      auto* addr = reinterpret_cast<sockaddr_in6*>(&storage);
      addr->sin6_family = AF_INET6;
      addr->sin6_addr = in6addr_loopback;
      len = sizeof *addr;
    } else {
      auto* addr = reinterpret_cast<sockaddr_in*>(&storage);
      addr->sin_family = AF_INET;
      addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof *addr;
    }
    if (bind(listen_fd, reinterpret_cast<sockaddr*>(&storage), len) != 0 ||
        listen(listen_fd, 128) != 0) {
      throw std::runtime_error(std::string("bind/listen ") + (ipv6 ? "[::1]" : "127.0.0.1") +
                               ":0: " + strerror(errno));
    }
    getsockname(listen_fd, reinterpret_cast<sockaddr*>(&storage), &len);
    port = ntohs(ipv6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                      : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
    if (pipe2(wake_pipe, O_CLOEXEC) != 0) {
      throw std::runtime_error(std::string("pipe: ") + strerror(errno));
    }
    accept_thread = std::thread([this] { AcceptLoop(); });
  }

  void AcceptLoop() {
    BlockSigpipeInThisThread();
    for (;;) {
      pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake_pipe[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) return;
      int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      // Small writes in a row (TLS session tickets, then the response)
      // would otherwise wait out the peer's 40 ms delayed ACK.
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ReapFinished();
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) {
        close(fd);
        return;
      }
      ++connections;
      auto conn = std::make_unique<Conn>();
      conn->fd = fd;
      Conn* c = conn.get();
      conns.push_back(std::move(conn));
      c->thread = std::thread([this, c] { Serve(c); });
    }
  }

  void ReapFinished() {
    std::list<std::unique_ptr<Conn>> finished;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (auto it = conns.begin(); it != conns.end();) {
        if ((*it)->done) {
          finished.push_back(std::move(*it));
          it = conns.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& c : finished) c->thread.join();
  }

  // Waits until Stop() or `d` elapsed; true if stopping.
  bool WaitForStop(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, d, [this] { return stopping; });
  }

  void Serve(Conn* c) {
    BlockSigpipeInThisThread();
    SSL* ssl = nullptr;
    bool ok = true;
    if (ssl_ctx) {
      ssl = SSL_new(ssl_ctx);
      SSL_set_fd(ssl, c->fd);
      if (SSL_accept(ssl) != 1) ok = false;
      ERR_clear_error();
    }
    std::string client_cn;
    if (ok && ssl) client_cn = VerifiedClientCn(ssl);
    {
      Stream stream(c->fd, ssl);
      if (ok && ServeRequests(&stream, client_cn) && ssl) stream.Shutdown();
      ERR_clear_error();
    }
    std::lock_guard<std::mutex> lock(mu);
    close(c->fd);
    c->fd = -1;
    c->done = true;
  }

  // Answers requests until the connection ends; true on a clean end.
  bool ServeRequests(Stream* stream, const std::string& client_cn) {
    Reader reader(stream);
    for (;;) {
      std::string head;
      if (!reader.ReadHead(&head)) return true;
      FakeRequest req;
      req.client_cert_cn = client_cn;
      bool http10 = false;
      if (!ParseHead(head, &req, &http10)) return false;
      auto header = [&](const std::string& name) {
        auto it = req.headers.find(name);
        return it == req.headers.end() ? std::string() : Lower(it->second);
      };
      if (header("expect") == "100-continue" &&
          !stream->WriteAll("HTTP/1.1 100 Continue\r\n\r\n")) {
        return false;
      }
      if (header("transfer-encoding").find("chunked") != std::string::npos) {
        if (!ReadChunkedBody(&reader, &req.body)) return false;
      } else if (!header("content-length").empty()) {
        std::size_t n = 0;
        try {
          n = std::stoul(header("content-length"));
        } catch (...) {
          return false;
        }
        if (!reader.ReadN(n, &req.body)) return false;
      }
      std::string conn_hdr = header("connection");
      bool keep_alive = http10 ? conn_hdr == "keep-alive" : conn_hdr != "close";

      // Recorded before the handler runs so a test can wait for a request
      // whose handler blocks.
      {
        std::lock_guard<std::mutex> lock(mu);
        requests.push_back(req);
      }
      cv.notify_all();
      FakeResponse resp;
      try {
        resp = handler(req);
      } catch (const std::exception& e) {
        // A throwing handler must fail the test, not terminate the process.
        ADD_FAILURE() << "fake HTTP handler threw for " << req.method << " " << req.target << ": "
                      << e.what();
        resp = FakeResponse{};
        resp.status = 500;
        resp.body = e.what();
      }

      if (resp.delay.count() > 0 && WaitForStop(resp.delay)) return false;
      if (resp.drop) return false;

      std::string out =
          "HTTP/1.1 " + std::to_string(resp.status) + " " + Reason(resp.status) + "\r\n";
      bool has_length = false;
      for (const auto& [name, value] : resp.headers) {
        std::string n = Lower(name);
        if (n == "content-length" || n == "transfer-encoding") has_length = true;
        if (n == "connection" && Lower(value) == "close") keep_alive = false;
        out += name + ": " + value + "\r\n";
      }
      if (resp.endless_body) {
        out += "Transfer-Encoding: chunked\r\n\r\n";
        if (!stream->WriteAll(out)) return false;
        char size_line[32];
        snprintf(size_line, sizeof size_line, "%zx\r\n", kEndlessChunk);
        std::string chunk = size_line + std::string(kEndlessChunk, 'x') + "\r\n";
        // Blocks in send once the client stops reading; Stop() shuts the
        // socket down, the client going away makes send fail.
        for (;;) {
          {
            std::lock_guard<std::mutex> lock(mu);
            if (stopping) return false;
          }
          if (!stream->WriteAll(chunk)) return false;
        }
      }
      if (!has_length) out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n";
      if (!keep_alive && !ClosesAlready(resp)) out += "Connection: close\r\n";
      out += "\r\n";
      if (resp.stall_after_headers) {
        if (!stream->WriteAll(out)) return false;
        WaitForStop(std::chrono::hours(24));
        return false;
      }
      if (req.method != "HEAD") out += resp.body;
      if (!stream->WriteAll(out)) return false;
      if (!keep_alive) return true;
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopped) return;
      stopped = stopping = true;
    }
    cv.notify_all();
    if (wake_pipe[1] >= 0) {
      char b = 1;
      [[maybe_unused]] ssize_t n = write(wake_pipe[1], &b, 1);
    }
    if (accept_thread.joinable()) accept_thread.join();
    std::list<std::unique_ptr<Conn>> all;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (auto& c : conns) {
        if (c->fd >= 0) shutdown(c->fd, SHUT_RDWR);
      }
      all.swap(conns);
    }
    for (auto& c : all) c->thread.join();
    if (listen_fd >= 0) close(listen_fd);
    listen_fd = -1;
    for (int& fd : wake_pipe) {
      if (fd >= 0) close(fd);
      fd = -1;
    }
  }

  ~Impl() {
    Stop();
    if (ssl_ctx) SSL_CTX_free(ssl_ctx);
  }
};

HttpServer::HttpServer(FakeHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->Start();
}

HttpServer::HttpServer(FakeHandler handler, Tls tls) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->ssl_ctx = MakeServerContext(tls);
  impl_->Start();
}

HttpServer::HttpServer(FakeHandler handler, Tls tls, Family family)
    : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->ipv6 = family == Family::kIpv6;
  if (!tls.cert_pem.empty()) impl_->ssl_ctx = MakeServerContext(tls);
  impl_->Start();
}

HttpServer::~HttpServer() { Stop(); }

int HttpServer::port() const { return impl_->port; }

std::string HttpServer::base_url() const {
  std::string port = std::to_string(impl_->port);
  if (impl_->ipv6) return (impl_->ssl_ctx ? "https://[::1]:" : "http://[::1]:") + port;
  return impl_->ssl_ctx ? "https://localhost:" + port : "http://127.0.0.1:" + port;
}

int HttpServer::request_count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return static_cast<int>(impl_->requests.size());
}

int HttpServer::connection_count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->connections;
}

std::vector<FakeRequest> HttpServer::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requests;
}

bool HttpServer::WaitForRequests(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout,
                            [&] { return static_cast<int>(impl_->requests.size()) >= n; });
}

void HttpServer::Stop() { impl_->Stop(); }

}  // namespace initkit::testing
