#include "common/db.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <regex>
#include <thread>

#include "common/log.h"
#include "common/signals.h"

namespace initkit::db {
namespace {

unsigned Seconds(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms <= 0) return 1;
  return static_cast<unsigned>((ms + 999) / 1000);
}

// mysql_library_init is not thread-safe; every later mysql_init is.
void LibraryInit() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

// While a call waits on the server (a statement queued behind a table lock
// can wait for days), a stop signal on `cancel_fd` shuts the socket down so
// the call fails at once instead of after the read timeout; Fail() then
// reports Interrupted.
class CancelOnStop {
 public:
  CancelOnStop(int cancel_fd, MYSQL* m) {
    if (cancel_fd < 0) return;
    done_ = ::eventfd(0, EFD_CLOEXEC);
    if (done_ < 0) return;
    int sock = static_cast<int>(mysql_get_socket(m)), done = done_;
    watcher_ = std::thread([cancel_fd, sock, done] {
      struct pollfd fds[2] = {{cancel_fd, POLLIN, 0}, {done, POLLIN, 0}};
      while (::poll(fds, 2, -1) < 0 && errno == EINTR) {
      }
      if ((fds[0].revents & POLLIN) && !(fds[1].revents & POLLIN)) ::shutdown(sock, SHUT_RDWR);
    });
  }
  ~CancelOnStop() {
    if (watcher_.joinable()) {
      uint64_t one = 1;
      ssize_t n = ::write(done_, &one, sizeof one);
      (void)n;
      watcher_.join();
    }
    if (done_ >= 0) ::close(done_);
  }
  CancelOnStop(const CancelOnStop&) = delete;
  CancelOnStop& operator=(const CancelOnStop&) = delete;

 private:
  int done_ = -1;
  std::thread watcher_;
};

static_assert(kErrDbAccessDenied == ER_DBACCESS_DENIED_ERROR);
static_assert(kErrAccessDenied == ER_ACCESS_DENIED_ERROR);
static_assert(kErrBadField == ER_BAD_FIELD_ERROR);
static_assert(kErrNoSuchTable == ER_NO_SUCH_TABLE);
static_assert(kErrLockWaitTimeout == ER_LOCK_WAIT_TIMEOUT);
static_assert(kErrLockDeadlock == ER_LOCK_DEADLOCK);

class MariaDbConnection final : public Connection {
 public:
  explicit MariaDbConnection(ConnectOptions options) : options_(std::move(options)) {}
  ~MariaDbConnection() override;
  Status Connect(unsigned* error);
  Status Query(const std::string& sql, const std::string& what, std::vector<Row>* rows) override;
  Status Prepared(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                  const std::string& what, std::vector<Row>* rows, uint64_t* affected) override;
  Status Ping() override;
  unsigned last_error() const override { return last_error_; }
  unsigned long thread_id() const override { return mysql_thread_id(mysql_); }

 private:
  Status Fail(const std::string& what, unsigned err, const std::string& text);
  MYSQL* mysql_ = nullptr;
  ConnectOptions options_;
  unsigned last_error_ = 0;
};

class MariaDbConnector final : public Connector {
 public:
  Status Open(const ConnectOptions& options, std::unique_ptr<Connection>* out,
              unsigned* error) override {
    LibraryInit();
    log::AddSecret(options.password);
    auto conn = std::make_unique<MariaDbConnection>(options);
    unsigned err = 0;
    Status st = conn->Connect(&err);
    if (error != nullptr) *error = st.ok() ? 0 : err;
    if (st.ok()) *out = std::move(conn);
    return st;
  }
};

}  // namespace

std::string ConnectOptions::Describe() const {
  std::string where = socket.empty() ? host + ":" + std::to_string(port) : "unix:" + socket;
  std::string text = (user.empty() ? std::string() : user + "@") + where;
  if (!database.empty()) text += "/" + database;
  return log::Redact(text);
}

bool IsTransientError(unsigned e) {
  switch (e) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:  // DNS of a Service that does not exist yet
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_ERR_NET_READ:
    case CR_ERR_NET_WRITE:
    case ER_CON_COUNT_ERROR:
    case ER_OUT_OF_RESOURCES:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_SERVER_SHUTDOWN:
    case ER_NORMAL_SHUTDOWN:
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_LOCK_DEADLOCK:
    case ER_CONNECTION_KILLED:
    case ER_QUERY_INTERRUPTED:
    // Galera answers "WSREP has not yet prepared node for application use"
    // with this code while the node is joining.
    case ER_UNKNOWN_COM_ERROR:
    // A read-only primary during a MaxScale failover.
    case ER_OPTION_PREVENTS_STATEMENT:
    case kErrClientInteractionTimeout:
      return true;
    default:
      return false;
  }
}

MariaDbConnection::~MariaDbConnection() {
  if (mysql_ != nullptr) mysql_close(mysql_);
}

Status MariaDbConnection::Fail(const std::string& what, unsigned err, const std::string& text) {
  last_error_ = err == 0 ? CR_UNKNOWN_ERROR : err;
  // A stop signal cut the call short (CancelOnStop): that is the outcome.
  if (options_.cancel_fd >= 0 && signals::StopRequested()) {
    return Status::Interrupted(signals::StopSignal());
  }
  std::string msg = what + " on " + options_.Describe() + ": " + log::Redact(text) + " (error " +
                    std::to_string(last_error_) + ")";
  return IsTransientError(last_error_) ? Status::NotReady(msg) : Status::Failed(msg);
}

Connector& Connector::MariaDb() {
  static MariaDbConnector connector;
  return connector;
}

Status Connection::Open(const ConnectOptions& options, std::unique_ptr<Connection>* out) {
  return Connector::MariaDb().Open(options, out, nullptr);
}

Status Connection::Execute(const std::string& sql, const std::string& what) {
  std::vector<Row> rows;
  return Query(sql, what, &rows);
}

Status MariaDbConnection::Connect(unsigned* error) {
  const ConnectOptions& options = options_;
  mysql_ = mysql_init(nullptr);
  if (mysql_ == nullptr) return Status::Failed("mysql_init: out of memory");
  MYSQL* m = mysql_;
  unsigned connect_s = Seconds(options.connect_timeout);
  unsigned read_s = Seconds(options.read_timeout);
  unsigned write_s = Seconds(options.write_timeout);
  mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
  mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &read_s);
  mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &write_s);
  my_bool off = 0, on = 1;
  // A silent reconnect would drop our named lock without telling us.
  mysql_optionsv(m, MYSQL_OPT_RECONNECT, &off);
  mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &off);
  mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  // "localhost" must mean TCP unless a socket is given: in a pod the server
  // is another container, never a socket in our filesystem.
  unsigned protocol = options.socket.empty() ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
  mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &protocol);
  if (!options.tls_ca.empty()) {
    mysql_optionsv(m, MYSQL_OPT_SSL_CA, options.tls_ca.c_str());
    mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
    mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
  }
  const char* host = options.socket.empty() ? options.host.c_str() : "localhost";
  const char* db = options.database.empty() ? nullptr : options.database.c_str();
  const char* sock = options.socket.empty() ? nullptr : options.socket.c_str();
  MYSQL* ret = nullptr;
  if (options.cancel_fd < 0) {
    ret = mysql_real_connect(m, host, options.user.c_str(), options.password.c_str(), db,
                             static_cast<unsigned>(options.port), sock, CLIENT_MULTI_RESULTS);
  } else {
    // The connector's non-blocking API lets us poll the stop fd next to the
    // socket; later calls on the connection are blocking as usual.
    mysql_optionsv(m, MYSQL_OPT_NONBLOCK, 0);
    int wait =
        mysql_real_connect_start(&ret, m, host, options.user.c_str(), options.password.c_str(), db,
                                 static_cast<unsigned>(options.port), sock, CLIENT_MULTI_RESULTS);
    while (wait != 0) {
      struct pollfd fds[2];
      fds[0].fd = mysql_get_socket(m);
      fds[0].events = static_cast<short>(((wait & MYSQL_WAIT_READ) ? POLLIN : 0) |
                                         ((wait & MYSQL_WAIT_WRITE) ? POLLOUT : 0) |
                                         ((wait & MYSQL_WAIT_EXCEPT) ? POLLPRI : 0));
      fds[0].revents = 0;
      fds[1].fd = options.cancel_fd;
      fds[1].events = POLLIN;
      fds[1].revents = 0;
      int timeout =
          (wait & MYSQL_WAIT_TIMEOUT) ? static_cast<int>(mysql_get_timeout_value_ms(m)) : -1;
      int n = ::poll(fds, 2, timeout);
      if (n < 0 && errno == EINTR) continue;
      if (fds[1].revents & POLLIN) {
        int sig = signals::StopSignal();
        return Status::Interrupted(sig != 0 ? sig : SIGTERM);
      }
      int ready = 0;
      if (n == 0) ready |= MYSQL_WAIT_TIMEOUT;
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) ready |= MYSQL_WAIT_READ;
      if (fds[0].revents & (POLLOUT | POLLERR)) ready |= MYSQL_WAIT_WRITE;
      if (fds[0].revents & POLLPRI) ready |= MYSQL_WAIT_EXCEPT;
      wait = mysql_real_connect_cont(&ret, m, ready);
    }
  }
  if (ret == nullptr) {
    Status st = Fail("connecting to MariaDB", mysql_errno(m), mysql_error(m));
    *error = last_error_;
    return st;
  }
  return Status::Ok();
}

Status MariaDbConnection::Query(const std::string& sql, const std::string& what,
                                std::vector<Row>* rows) {
  rows->clear();
  CancelOnStop cancel(options_.cancel_fd, mysql_);
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
    return Fail(what, mysql_errno(mysql_), mysql_error(mysql_));
  }
  // Drain every result set so the connection stays usable.
  do {
    MYSQL_RES* res = mysql_store_result(mysql_);
    if (res == nullptr) {
      if (mysql_field_count(mysql_) != 0) {
        return Fail(what, mysql_errno(mysql_), mysql_error(mysql_));
      }
    } else {
      unsigned n = mysql_num_fields(res);
      while (MYSQL_ROW r = mysql_fetch_row(res)) {
        unsigned long* lengths = mysql_fetch_lengths(res);
        Row row(n);
        for (unsigned i = 0; i < n; ++i) {
          if (r[i] != nullptr) row[i] = std::string(r[i], lengths[i]);
        }
        rows->push_back(std::move(row));
      }
      mysql_free_result(res);
    }
    int next = mysql_next_result(mysql_);
    if (next > 0) return Fail(what, mysql_errno(mysql_), mysql_error(mysql_));
    if (next < 0) break;
  } while (true);
  last_error_ = 0;
  return Status::Ok();
}

Status MariaDbConnection::Prepared(const std::string& sql,
                                   const std::vector<std::optional<std::string>>& params,
                                   const std::string& what, std::vector<Row>* rows,
                                   uint64_t* affected) {
  if (rows != nullptr) rows->clear();
  CancelOnStop cancel(options_.cancel_fd, mysql_);
  MYSQL_STMT* stmt = mysql_stmt_init(mysql_);
  if (stmt == nullptr) return Fail(what, mysql_errno(mysql_), mysql_error(mysql_));
  struct Closer {
    MYSQL_STMT* s;
    ~Closer() { mysql_stmt_close(s); }
  } closer{stmt};
  auto fail = [&] { return Fail(what, mysql_stmt_errno(stmt), mysql_stmt_error(stmt)); };
  if (mysql_stmt_prepare(stmt, sql.data(), sql.size()) != 0) return fail();
  if (mysql_stmt_param_count(stmt) != params.size()) {
    return Status::Failed(what + ": statement expects " +
                          std::to_string(mysql_stmt_param_count(stmt)) + " parameters, got " +
                          std::to_string(params.size()));
  }
  std::vector<MYSQL_BIND> binds(params.size());
  std::vector<unsigned long> lengths(params.size());
  std::vector<my_bool> nulls(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    std::memset(&binds[i], 0, sizeof(MYSQL_BIND));
    binds[i].buffer_type = MYSQL_TYPE_STRING;
    nulls[i] = params[i].has_value() ? 0 : 1;
    binds[i].is_null = &nulls[i];
    if (params[i]) {
      binds[i].buffer = const_cast<char*>(params[i]->data());
      binds[i].buffer_length = params[i]->size();
      lengths[i] = params[i]->size();
      binds[i].length = &lengths[i];
    }
  }
  if (!binds.empty() && mysql_stmt_bind_param(stmt, binds.data()) != 0) return fail();
  if (mysql_stmt_execute(stmt) != 0) return fail();
  if (affected != nullptr) *affected = mysql_stmt_affected_rows(stmt);
  unsigned ncols = mysql_stmt_field_count(stmt);
  if (ncols > 0) {
    std::vector<MYSQL_BIND> out(ncols);
    std::vector<std::string> bufs(ncols, std::string(256, '\0'));
    std::vector<unsigned long> out_len(ncols);
    std::vector<my_bool> out_null(ncols), out_err(ncols);
    for (unsigned i = 0; i < ncols; ++i) {
      std::memset(&out[i], 0, sizeof(MYSQL_BIND));
      out[i].buffer_type = MYSQL_TYPE_STRING;
      out[i].buffer = bufs[i].data();
      out[i].buffer_length = bufs[i].size();
      out[i].length = &out_len[i];
      out[i].is_null = &out_null[i];
      out[i].error = &out_err[i];
    }
    if (mysql_stmt_bind_result(stmt, out.data()) != 0) return fail();
    while (true) {
      int rc = mysql_stmt_fetch(stmt);
      if (rc == MYSQL_NO_DATA) break;
      if (rc == 1) return fail();
      Row row(ncols);
      for (unsigned i = 0; i < ncols; ++i) {
        if (out_null[i]) continue;
        if (out_len[i] <= bufs[i].size()) {
          row[i] = std::string(bufs[i].data(), out_len[i]);
          continue;
        }
        // Truncated: fetch this column again into a buffer of its full size.
        std::string big(out_len[i], '\0');
        MYSQL_BIND col;
        std::memset(&col, 0, sizeof(col));
        unsigned long col_len = 0;
        col.buffer_type = MYSQL_TYPE_STRING;
        col.buffer = big.data();
        col.buffer_length = big.size();
        col.length = &col_len;
        if (mysql_stmt_fetch_column(stmt, &col, i, 0) != 0) return fail();
        big.resize(std::min<unsigned long>(col_len, big.size()));
        row[i] = std::move(big);
      }
      if (rows != nullptr) rows->push_back(std::move(row));
    }
  }
  last_error_ = 0;
  return Status::Ok();
}

Status MariaDbConnection::Ping() {
  CancelOnStop cancel(options_.cancel_fd, mysql_);
  if (mysql_ping(mysql_) != 0) return Fail("pinging", mysql_errno(mysql_), mysql_error(mysql_));
  last_error_ = 0;
  return Status::Ok();
}

Status QuoteIdentifier(const std::string& text, const std::string& what, std::string* quoted) {
  static const std::regex kIdent("^[A-Za-z_][A-Za-z0-9_]{0,63}$");
  if (!std::regex_match(text, kIdent)) {
    return Status::Usage(what + " '" + log::Redact(text) +
                         "' is not a plain identifier (letters, digits, _; at most 64 "
                         "characters; not starting with a digit)");
  }
  *quoted = "`" + text + "`";
  return Status::Ok();
}

}  // namespace initkit::db
