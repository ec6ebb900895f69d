// A real MariaDB server (Debian's mariadbd) on a free loopback port, for tests.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/fakes/test_util.h"

namespace initkit::testing {

/// One mariadbd in its own temp datadir, copied from a process-wide template
/// (mariadb-install-db runs once per test binary). Every start makes sure the
/// user kUser/kPassword exists with all privileges. Stopped on destruction.
class MariaDbServer {
 public:
  static constexpr const char* kUser = "initkit";
  static constexpr const char* kPassword = "Tst-pw-7c1e9a4b";

  MariaDbServer();
  ~MariaDbServer();
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  /// Copies the template datadir and starts mariadbd on `port` (0 = a free
  /// one), waiting until it accepts connections. False with *error on failure.
  bool Start(std::string* error, int port = 0);
  /// Starts again on the same datadir and port after Stop/Kill.
  bool Restart(std::string* error);
  /// SIGTERM and wait for the end (SIGKILL after 60 s).
  void Stop();
  /// SIGKILL and reap: the crash of a database pod.
  void Kill();
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  const std::string& socket() const { return socket_; }
  /// The CA (PEM) of the server's TLS certificate (localhost, 127.0.0.1),
  /// and an unrelated CA that must fail verification.
  std::string CaFile() const;
  std::string OtherCaFile() const;
  /// The server's error log (for failure messages).
  std::string ErrorLog() const;

  /// Runs SQL as root over the socket; false with *error on failure.
  bool Exec(const std::string& sql, std::string* error = nullptr);
  /// All rows of a query as root (NULL as "NULL"); empty on error.
  std::vector<std::vector<std::string>> Query(const std::string& sql);
  /// The first column of the first row, if any.
  std::optional<std::string> QueryValue(const std::string& sql);
  /// Drops and creates database `name`.
  bool CreateDatabase(const std::string& name, std::string* error = nullptr);

  /// A `mariadb` client command line (for sh -c scripts of tests) connected
  /// as root over the socket to database `db`, e.g. ClientCommand("d") + " -e 'SELECT 1'".
  std::string ClientCommand(const std::string& db) const;
  /// initkit-migrate flags connecting as kUser over TCP to database `db`.
  std::vector<std::string> MigrateFlags(const std::string& db) const;

  /// One server per test binary, started on first use, stopped at exit.
  /// Null (with the reason in *error) when it cannot start.
  static MariaDbServer* Shared(std::string* error);

 private:
  bool Launch(std::string* error);
  std::unique_ptr<TempDir> dir_;
  std::string datadir_;
  std::string socket_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace initkit::testing
