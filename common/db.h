// MariaDB access through mariadb-connector-c: one RAII connection, bounded
// timeouts, prepared statements, and errors sorted into transient/permanent.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

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

/// MariaDB error numbers the tools act on (server: mysqld_error.h; client:
/// errmsg.h). db.cc checks them against the connector's headers.
inline constexpr unsigned kErrDbAccessDenied = 1044;   // ER_DBACCESS_DENIED_ERROR
inline constexpr unsigned kErrAccessDenied = 1045;     // ER_ACCESS_DENIED_ERROR
inline constexpr unsigned kErrBadField = 1054;         // ER_BAD_FIELD_ERROR
inline constexpr unsigned kErrNoSuchTable = 1146;      // ER_NO_SUCH_TABLE
inline constexpr unsigned kErrLockWaitTimeout = 1205;  // ER_LOCK_WAIT_TIMEOUT
inline constexpr unsigned kErrLockDeadlock = 1213;     // ER_LOCK_DEADLOCK
// The server closed a connection idle past its wait_timeout (MariaDB 11).
inline constexpr unsigned kErrClientInteractionTimeout = 4031;

/// One open connection; closing it (destruction) releases its named locks.
/// Every failing call returns NotReady for a transient error and Failed for a
/// permanent one, with the server's error text, the error number and
/// `what` the caller was doing; last_error() keeps the number.
///
/// An interface so that code built on it (migrate's lock and seed order) can
/// be tested against a fake; Connector::MariaDb() makes the real ones.
class Connection {
 public:
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Connects once to MariaDB (Connector::MariaDb().Open).
  static Status Open(const ConnectOptions& options, std::unique_ptr<Connection>* out);

  /// Runs a statement that returns no rows (or ignores them).
  Status Execute(const std::string& sql, const std::string& what);
  /// Runs a text query and collects all rows.
  virtual Status Query(const std::string& sql, const std::string& what, std::vector<Row>* rows) = 0;
  /// Prepares `sql` with `?` placeholders, binds `params` as strings (nullopt
  /// = NULL), executes, and collects all rows (if any) and the affected count.
  virtual Status Prepared(const std::string& sql,
                          const std::vector<std::optional<std::string>>& params,
                          const std::string& what, std::vector<Row>* rows = nullptr,
                          uint64_t* affected = nullptr) = 0;
  /// Checks the connection is alive (COM_PING; never reconnects).
  virtual Status Ping() = 0;

  /// The error number of the last failed call, 0 after a success.
  virtual unsigned last_error() const = 0;
  /// The server's id for this connection (CONNECTION_ID()).
  virtual unsigned long thread_id() const = 0;

 protected:
  Connection() = default;
};

/// Opens connections.
class Connector {
 public:
  virtual ~Connector() = default;
  /// Connects once (no retry). On success *out holds the open connection;
  /// on failure *error (when not null) holds the error number (0 when there
  /// is none, e.g. a stop signal). With options.cancel_fd set, a stop signal
  /// ends the attempt at once (Interrupted with signals::StopSignal()).
  virtual Status Open(const ConnectOptions& options, std::unique_ptr<Connection>* out,
                      unsigned* error) = 0;

  /// The real one: mariadb-connector-c.
  static Connector& MariaDb();
};

/// `text` quoted as a MariaDB identifier if it is a plain one
/// (^[A-Za-z_][A-Za-z0-9_]{0,63}$); else a Usage error naming `what`.
Status QuoteIdentifier(const std::string& text, const std::string& what, std::string* quoted);

}  // namespace initkit::db
