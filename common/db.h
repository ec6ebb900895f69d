// MariaDB access through mariadb-connector-c: one RAII connection, bounded
// timeouts, prepared statements, and errors sorted into transient/permanent.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

typedef struct st_mysql MYSQL;

namespace initkit::db {

/// Where and how to connect. The password is registered with log::AddSecret
/// by Connection::Open, so no message built later can carry it.
struct ConnectOptions {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string socket;  // a Unix socket path; wins over host/port when set
  std::string user;
  std::string password;
  std::string database;  // may be empty
  std::string tls_ca;    // a CA file: TLS is required and the server verified
  std::chrono::milliseconds connect_timeout{5000};
  // Both are rounded up to whole seconds (the connector's granularity).
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  // When >= 0: a file descriptor (signals::StopFd()) whose readability
  // abandons a connection attempt, or a call waiting on the server, at once
  // with an Interrupted status (the connection is then unusable).
  int cancel_fd = -1;

  /// "user@host:port/db" (or "user@unix:PATH/db") for messages; no password.
  std::string Describe() const;
};

/// True for errors that may go away by waiting: connection refused or lost,
/// unknown host (a Service not created yet), too many connections, server
/// shutting down, lock wait timeout, deadlock, a Galera node not yet synced.
/// Everything else (access denied, unknown database, SQL errors) is permanent.
bool IsTransientError(unsigned error_number);

/// A result row: one optional string per column (nullopt is SQL NULL).
using Row = std::vector<std::optional<std::string>>;

/// One open connection; closing it (destruction) releases its named locks.
/// Every failing call returns NotReady for a transient error and Failed for a
/// permanent one, with the server's error text, the error number and
/// `what` the caller was doing; last_error() keeps the number.
class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Connects once (no retry). On success *out holds the open connection.
  /// With options.cancel_fd set, a stop signal ends the attempt at once
  /// (Interrupted with signals::StopSignal()).
  static Status Open(const ConnectOptions& options, std::unique_ptr<Connection>* out);

  /// Runs a statement that returns no rows (or ignores them).
  Status Execute(const std::string& sql, const std::string& what);
  /// Runs a text query and collects all rows.
  Status Query(const std::string& sql, const std::string& what, std::vector<Row>* rows);
  /// Prepares `sql` with `?` placeholders, binds `params` as strings (nullopt
  /// = NULL), executes, and collects all rows (if any) and the affected count.
  Status Prepared(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                  const std::string& what, std::vector<Row>* rows = nullptr,
                  uint64_t* affected = nullptr);
  /// Checks the connection is alive (COM_PING; never reconnects).
  Status Ping();

  /// The error number of the last failed call, 0 after a success.
  unsigned last_error() const { return last_error_; }
  /// The server's id for this connection (CONNECTION_ID()).
  unsigned long thread_id() const;
  const ConnectOptions& options() const { return options_; }

 private:
  Connection() = default;
  Status Fail(const std::string& what, unsigned err, const std::string& text);
  MYSQL* mysql_ = nullptr;
  ConnectOptions options_;
  unsigned last_error_ = 0;
};

/// `text` quoted as a MariaDB identifier if it is a plain one
/// (^[A-Za-z_][A-Za-z0-9_]{0,63}$); else a Usage error naming `what`.
Status QuoteIdentifier(const std::string& text, const std::string& what, std::string* quoted);

}  // namespace initkit::db
