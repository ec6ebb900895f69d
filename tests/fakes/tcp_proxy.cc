#include "tests/fakes/tcp_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <list>
#include <vector>

namespace initkit::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Data read from one side, delivered to the other once `due`. An empty
// chunk is the reader's EOF, passed on as a half-close.
struct Chunk {
  Clock::time_point due;
  std::string data;
  size_t off = 0;
};

struct Direction {
  int from = -1, to = -1;
  std::deque<Chunk> queue;
  bool eof_read = false, eof_sent = false;
};

struct Pair {
  int client = -1, upstream = -1;
  Direction dir[2];
  bool dead = false;
};

void CloseAbortively(int fd) {
  if (fd < 0) return;
  struct linger lg = {1, 0};  // RST instead of FIN: the path is gone
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::close(fd);
}

int ConnectUpstream(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

// Moves due chunks of `d` to its destination; false when the pair broke.
bool Deliver(Direction* d, Clock::time_point now) {
  while (!d->queue.empty() && d->queue.front().due <= now) {
    Chunk& c = d->queue.front();
    if (c.data.empty()) {
      ::shutdown(d->to, SHUT_WR);
      d->eof_sent = true;
      d->queue.pop_front();
      continue;
    }
    ssize_t n = ::send(d->to, c.data.data() + c.off, c.data.size() - c.off, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.off += static_cast<size_t>(n);
    if (c.off < c.data.size()) return true;
    d->queue.pop_front();
  }
  return true;
}

// Reads what `d`'s source has; false when the pair broke.
bool Receive(Direction* d, Clock::time_point due) {
  char buf[65536];
  ssize_t n = ::recv(d->from, buf, sizeof buf, 0);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  if (n == 0) d->eof_read = true;
  d->queue.push_back({due, std::string(buf, static_cast<size_t>(n)), 0});
  return true;
}

}  // namespace

TcpProxy::~TcpProxy() { Stop(); }

bool TcpProxy::Start(int target_port, std::string* error) {
  target_port_ = target_port;
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || wake_fd_ < 0 ||
      ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 128) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    *error = std::string("tcp proxy: ") + std::strerror(errno);
    return false;
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Loop(); });
  return true;
}

void TcpProxy::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  Wake();
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
}

void TcpProxy::Wake() {
  uint64_t one = 1;
  ssize_t n = ::write(wake_fd_, &one, sizeof one);
  (void)n;
}

void TcpProxy::SetLatency(std::chrono::milliseconds latency) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    latency_ = latency;
  }
  Wake();
}

void TcpProxy::SetStalled(bool stalled) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stalled_ = stalled;
  }
  Wake();
}

void TcpProxy::CutAll() {
  std::unique_lock<std::mutex> lock(mu_);
  int want = ++cut_requests_;
  Wake();
  cv_.wait(lock, [&] { return cuts_done_ >= want || stop_; });
}

void TcpProxy::Loop() {
  std::list<Pair> pairs;
  auto close_pair = [](Pair& p) {
    CloseAbortively(p.client);
    CloseAbortively(p.upstream);
  };
  for (;;) {
    std::chrono::milliseconds latency;
    bool stalled;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) break;
      latency = latency_;
      stalled = stalled_;
      if (cuts_done_ < cut_requests_) {
        for (Pair& p : pairs) close_pair(p);
        pairs.clear();
        cuts_done_ = cut_requests_;
        cv_.notify_all();
      }
    }
    auto now = Clock::now();
    std::vector<pollfd> fds = {{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    int timeout = -1;
    if (!stalled) {
      for (Pair& p : pairs) {
        for (Direction& d : p.dir) {
          short ev = d.eof_read ? 0 : POLLIN;
          if (!d.queue.empty()) {
            auto wait =
                std::chrono::duration_cast<std::chrono::milliseconds>(d.queue.front().due - now);
            if (wait.count() <= 0) {
              // Due now: wait for room on the other side.
              fds.push_back({d.to, POLLOUT, 0});
            } else {
              timeout = timeout < 0 ? static_cast<int>(wait.count() + 1)
                                    : std::min(timeout, static_cast<int>(wait.count() + 1));
            }
          }
          if (ev) fds.push_back({d.from, ev, 0});
        }
      }
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) break;
    if (fds[0].revents) {
      uint64_t v;
      while (::read(wake_fd_, &v, sizeof v) > 0) {
      }
    }
    if (fds[1].revents & POLLIN) {
      for (;;) {
        int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) break;
        accepted_.fetch_add(1);
        int u = ConnectUpstream(target_port_);
        if (u < 0) {
          ::close(c);
          continue;
        }
        Pair& p = pairs.emplace_back();
        p.client = c;
        p.upstream = u;
        p.dir[0].from = c;
        p.dir[0].to = u;
        p.dir[1].from = u;
        p.dir[1].to = c;
      }
    }
    if (stalled) continue;
    now = Clock::now();
    for (Pair& p : pairs) {
      for (Direction& d : p.dir) {
        if (!d.eof_read && !Receive(&d, now + latency)) p.dead = true;
        if (!Deliver(&d, now)) p.dead = true;
      }
      if (p.dir[0].eof_sent && p.dir[1].eof_sent) p.dead = true;
    }
    for (auto it = pairs.begin(); it != pairs.end();) {
      if (it->dead) {
        close_pair(*it);
        it = pairs.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Pair& p : pairs) close_pair(p);
  std::lock_guard<std::mutex> lock(mu_);
  cuts_done_ = cut_requests_;
  cv_.notify_all();
}

}  // namespace initkit::testing
