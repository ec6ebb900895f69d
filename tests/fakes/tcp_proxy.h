// A loopback TCP proxy in front of a server, for network fault injection.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace initkit::testing {

/// Listens on a free 127.0.0.1 port and forwards every connection to
/// 127.0.0.1:target_port from one poll thread. Faults, switchable at any
/// time: latency (each chunk is delivered that much later), a stall (the
/// proxy accepts but forwards nothing, in either direction: a peer that
/// never answers, or a partitioned network), and a cut (every open
/// connection is reset at once: a dropped network path).
class TcpProxy {
 public:
  TcpProxy() = default;
  ~TcpProxy();  // Stop()
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  /// Starts listening; false with *error on failure.
  bool Start(int target_port, std::string* error);
  /// Closes every connection and the listener and joins the thread.
  void Stop();
  int port() const { return port_; }

  void SetLatency(std::chrono::milliseconds latency);
  void SetStalled(bool stalled);
  /// Resets every open connection; returns once they are closed.
  void CutAll();
  /// Connections accepted so far.
  int accepted() const { return accepted_.load(); }

 private:
  void Loop();
  void Wake();
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  int target_port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::milliseconds latency_{0};
  bool stalled_ = false;
  bool stop_ = false;
  int cut_requests_ = 0, cuts_done_ = 0;
  std::atomic<int> accepted_{0};
};

}  // namespace initkit::testing
