// A real redis-server (or Sentinel) on a free loopback port, for tests.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "tests/fakes/test_util.h"

namespace initkit::testing {

/// One redis-server without persistence in its own temp dir; stopped on
/// destruction.
class RedisServer {
 public:
  RedisServer() = default;
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  /// Starts a server (with `password` as requirepass when not empty) and
  /// waits until it answers PING. False with *error on failure.
  bool Start(std::string* error, const std::string& password = "");
  /// Starts a Sentinel that monitors `master_name` at 127.0.0.1:master_port
  /// and waits until it names that master.
  bool StartSentinel(std::string* error, const std::string& master_name, int master_port);
  /// SIGTERM and wait (SIGKILL after 30 s).
  void Stop();

  int port() const { return port_; }
  /// The log of the server, for failure messages.
  std::string Log() const;

 private:
  bool Launch(const std::string& config, bool sentinel, const std::string& master_name,
              std::string* error);
  std::unique_ptr<TempDir> dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string password_;
};

}  // namespace initkit::testing
