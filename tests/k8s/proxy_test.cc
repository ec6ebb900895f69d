// kubeconfig proxy-url: the API server is reached through an HTTP CONNECT
// proxy (as client-go does), never dialled directly.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/k8s_client.h"
#include "common/k8s_connection.h"
#include "common/random.h"
#include "tests/fakes/k8s_fake.h"
#include "tests/fakes/test_util.h"

namespace initkit {
namespace {

using testing::K8sFake;
using testing::TempDir;

// A loopback HTTP CONNECT proxy: records each CONNECT request line and
// tunnels the connection to 127.0.0.1:target_port whatever host it names.
class ConnectProxy {
 public:
  explicit ConnectProxy(int target_port) : target_port_(target_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(listen_fd_, 8) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "proxy listen failed";
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Accept(); });
  }
  ~ConnectProxy() {
    shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    if (thread_.joinable()) thread_.join();
    for (std::thread& t : tunnels_) t.join();
    close(listen_fd_);
  }
  int port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

 private:
  void Accept() {
    for (int fd; (fd = accept(listen_fd_, nullptr, nullptr)) >= 0;) {
      tunnels_.emplace_back([this, fd] { Tunnel(fd); });
    }
  }
  // Reads the request head, answers 200 and pumps bytes both ways until
  // either side closes (curl closes its end when the client is destroyed).
  void Tunnel(int client) {
    std::string head;
    char buf[16384];
    while (head.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = read(client, buf, sizeof buf);
      if (n <= 0) return (void)close(client);
      head.append(buf, n);  // curl sends nothing after the head until answered
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      requests_.push_back(head.substr(0, head.find("\r\n")));
    }
    int server = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(target_port_);
    const std::string ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    if (connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        write(client, ok.data(), ok.size()) == static_cast<ssize_t>(ok.size())) {
      pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      for (bool open = true; open && poll(p, 2, -1) > 0;) {
        for (int i = 0; i < 2 && open; ++i) {
          if (p[i].revents == 0) continue;
          ssize_t n = read(p[i].fd, buf, sizeof buf);
          open = n > 0 && write(p[1 - i].fd, buf, n) == n;
        }
      }
    }
    close(server);
    close(client);
  }

  int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::vector<std::thread> tunnels_;  // only touched by thread_, then the destructor
  std::mutex mu_;
  std::vector<std::string> requests_;
};

TEST(KubeconfigProxyTest, RequestsGoThroughTheProxyUrl) {
  K8sFake::Options options;
  options.named_certificate = true;  // DNS:kubernetes.default.svc
  K8sFake fake(options);
  fake.PutSecret("shop", "app", {{"KEY", "proxied-value-3f1"}});
  std::string url = fake.base_url();
  ConnectProxy proxy(std::stoi(url.substr(url.rfind(':') + 1)));
  TempDir dir;
  // The server name resolves nowhere here: only a proxy that is asked to
  // CONNECT to it (and tunnels to the fake) gets the request through.
  testing::WriteFile(
      dir.Sub("config"),
      "apiVersion: v1\nkind: Config\ncurrent-context: main\n"
      "clusters:\n- name: c\n  cluster:\n    server: https://kubernetes.default.svc:6443\n"
      "    certificate-authority-data: " +
          Base64Encode(testing::GetTestPki().ca_pem) +
          "\n    proxy-url: http://127.0.0.1:" + std::to_string(proxy.port()) +
          "\ncontexts:\n- name: main\n  context:\n    cluster: c\n    user: u\n"
          "users:\n- name: u\n  user:\n    token: " +
          fake.token() + "\n");
  K8sConnection conn;
  ASSERT_TRUE(LoadK8sConnection({dir.Sub("config"), "", dir.Sub("no-sa")}, {}, &conn).ok());
  nlohmann::json secret;
  bool found = false;
  {
    K8sClient client(conn, {});
    Status st =
        client.GetSecret("shop", "app", Deadline::After(std::chrono::seconds(20)), &secret, &found);
    ASSERT_TRUE(st.ok()) << st.message();
  }
  ASSERT_TRUE(found);
  EXPECT_EQ(secret["data"]["KEY"], Base64Encode("proxied-value-3f1"));
  ASSERT_FALSE(proxy.requests().empty());
  EXPECT_EQ(proxy.requests()[0], "CONNECT kubernetes.default.svc:6443 HTTP/1.1");
}

}  // namespace
}  // namespace initkit
