#include "tests/fakes/mariadb_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/db.h"
#include "tests/fakes/http_server.h"

namespace initkit::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Small buffers: many servers share a 2-core machine during tests.
const std::vector<std::string> kServerFlags = {
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=8M",
    "--skip-log-bin",
    "--performance-schema=OFF",
    "--skip-name-resolve",
    "--max-connections=200",
    "--innodb-flush-log-at-trx-commit=2",
    "--loose-innodb-use-native-aio=0",
};

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> ptrs;
  for (const auto& a : argv) ptrs.push_back(const_cast<char*>(a.c_str()));
  ptrs.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    // The server must not outlive a crashed test binary.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execvp(ptrs[0], ptrs.data());
    _exit(127);
  }
  return pid;
}

// mariadb-install-db takes seconds and CTest runs every test in its own
// process, so the installed template is kept across processes in $TMPDIR,
// keyed by uid and the server binary's mtime, and created under an flock.
std::string TemplateDatadir(std::string* error) {
  static std::mutex mu;
  static std::string cached;
  std::lock_guard<std::mutex> lock(mu);
  if (!cached.empty()) return cached;
  const char* base = std::getenv("TMPDIR");
  std::string root = std::string(base && *base ? base : "/tmp");
  struct stat st {};
  long stamp = 0;
  if (stat("/usr/sbin/mariadbd", &st) == 0) stamp = static_cast<long>(st.st_mtime);
  std::string dir =
      root + "/initkit-mariadb-template-" + std::to_string(getuid()) + "-" + std::to_string(stamp);
  mkdir(dir.c_str(), 0700);
  int lock_fd = open((dir + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) {
    *error = "cannot lock " + dir + ".lock";
    if (lock_fd >= 0) close(lock_fd);
    return "";
  }
  struct Unlock {
    int fd;
    ~Unlock() { close(fd); }
  } unlock{lock_fd};
  std::string data = dir + "/data";
  if (access((dir + "/ready").c_str(), F_OK) == 0) {
    cached = data;
    return cached;
  }
  std::system(("rm -rf '" + data + "'").c_str());
  std::string log = dir + "/install.log";
  std::vector<std::string> argv = {"mariadb-install-db",
                                   "--no-defaults",
                                   "--auth-root-authentication-method=normal",
                                   "--datadir=" + data,
                                   "--user=root",
                                   "--skip-test-db",
                                   "--innodb-log-file-size=8M",
                                   "--innodb-buffer-pool-size=32M"};
  pid_t pid = Spawn(argv, log);
  int ws = 0;
  if (pid < 0 || waitpid(pid, &ws, 0) != pid || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
    *error = "mariadb-install-db failed: " + ReadFile(log);
    return "";
  }
  std::ofstream(dir + "/ready") << "ok\n";
  cached = data;
  return cached;
}

}  // namespace

MariaDbServer::MariaDbServer() = default;

MariaDbServer::~MariaDbServer() { Stop(); }

bool MariaDbServer::Start(std::string* error, int port) {
  RegisterCredential(kPassword, "mariadb user password");
  std::string tpl = TemplateDatadir(error);
  if (tpl.empty()) return false;
  dir_ = std::make_unique<TempDir>();
  datadir_ = dir_->Sub("data");
  socket_ = dir_->Sub("mysqld.sock");
  std::string cmd = "cp -a '" + tpl + "' '" + datadir_ + "'";
  if (std::system(cmd.c_str()) != 0) {
    *error = "copying the template datadir failed: " + cmd;
    return false;
  }
  std::ofstream(dir_->Sub("init.sql"))
      << "CREATE USER IF NOT EXISTS '" << kUser << "'@'%' IDENTIFIED BY '" << kPassword << "';\n"
      << "GRANT ALL PRIVILEGES ON *.* TO '" << kUser << "'@'%';\n";
  // TLS is offered (not required) so tests can check --db-tls-ca.
  const TestPki& pki = GetTestPki();
  WriteFile(dir_->Sub("ca.pem"), pki.ca_pem);
  WriteFile(dir_->Sub("other-ca.pem"), pki.other_ca_pem);
  WriteFile(dir_->Sub("server-cert.pem"), pki.server_cert_pem);
  WriteFile(dir_->Sub("server-key.pem"), pki.server_key_pem, 0600);
  port_ = port != 0 ? port : FreePort();
  return Launch(error);
}

bool MariaDbServer::Restart(std::string* error) {
  if (running()) Stop();
  return Launch(error);
}

bool MariaDbServer::Launch(std::string* error) {
  std::vector<std::string> argv = {"mariadbd",
                                   "--no-defaults",
                                   "--datadir=" + datadir_,
                                   "--socket=" + socket_,
                                   "--port=" + std::to_string(port_),
                                   "--bind-address=127.0.0.1",
                                   "--user=root",
                                   "--pid-file=" + dir_->Sub("mysqld.pid"),
                                   "--log-error=" + dir_->Sub("error.log"),
                                   "--init-file=" + dir_->Sub("init.sql"),
                                   "--tmpdir=" + dir_->path(),
                                   "--ssl-ca=" + dir_->Sub("ca.pem"),
                                   "--ssl-cert=" + dir_->Sub("server-cert.pem"),
                                   "--ssl-key=" + dir_->Sub("server-key.pem")};
  argv.insert(argv.end(), kServerFlags.begin(), kServerFlags.end());
  pid_ = Spawn(argv, dir_->Sub("stdout.log"));
  if (pid_ < 0) {
    *error = "fork failed";
    return false;
  }
  // Slow under sanitizers on a loaded machine; still bounded.
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < deadline) {
    int ws = 0;
    if (waitpid(pid_, &ws, WNOHANG) == pid_) {
      pid_ = -1;
      *error = "mariadbd exited during start-up: " + ErrorLog();
      return false;
    }
    db::ConnectOptions o;
    o.socket = socket_;
    o.user = "root";
    o.connect_timeout = std::chrono::seconds(2);
    std::unique_ptr<db::Connection> conn;
    if (access(socket_.c_str(), F_OK) == 0 && db::Connection::Open(o, &conn).ok()) {
      // The init file has run once the server accepts connections; check
      // the TCP side too, which is what the tools use.
      db::ConnectOptions t;
      t.host = "127.0.0.1";
      t.port = port_;
      t.user = kUser;
      t.password = kPassword;
      std::unique_ptr<db::Connection> tcp;
      if (db::Connection::Open(t, &tcp).ok()) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  *error = "mariadbd did not accept connections within 120 s: " + ErrorLog();
  Kill();
  return false;
}

void MariaDbServer::Stop() { TerminateProcess(&pid_, std::chrono::seconds(60)); }

void MariaDbServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int ws = 0;
  waitpid(pid_, &ws, 0);
  pid_ = -1;
}

std::string MariaDbServer::ErrorLog() const {
  if (!dir_) return "";
  std::string log = ReadFile(dir_->Sub("error.log"));
  if (log.size() > 4000) log = log.substr(log.size() - 4000);
  return log;
}

bool MariaDbServer::Exec(const std::string& sql, std::string* error) {
  db::ConnectOptions o;
  o.socket = socket_;
  o.user = "root";
  std::unique_ptr<db::Connection> conn;
  Status st = db::Connection::Open(o, &conn);
  if (st.ok()) st = conn->Execute(sql, "test SQL");
  if (!st.ok() && error != nullptr) *error = st.message();
  return st.ok();
}

std::vector<std::vector<std::string>> MariaDbServer::Query(const std::string& sql) {
  db::ConnectOptions o;
  o.socket = socket_;
  o.user = "root";
  std::unique_ptr<db::Connection> conn;
  std::vector<db::Row> rows;
  std::vector<std::vector<std::string>> out;
  if (!db::Connection::Open(o, &conn).ok() || !conn->Query(sql, "test query", &rows).ok()) {
    return out;
  }
  for (const auto& r : rows) {
    std::vector<std::string> row;
    for (const auto& v : r) row.push_back(v ? *v : "NULL");
    out.push_back(std::move(row));
  }
  return out;
}

std::optional<std::string> MariaDbServer::QueryValue(const std::string& sql) {
  auto rows = Query(sql);
  if (rows.empty() || rows[0].empty()) return std::nullopt;
  return rows[0][0];
}

bool MariaDbServer::CreateDatabase(const std::string& name, std::string* error) {
  return Exec("DROP DATABASE IF EXISTS `" + name + "`", error) &&
         Exec("CREATE DATABASE `" + name + "`", error);
}

std::string MariaDbServer::CaFile() const { return dir_->Sub("ca.pem"); }

std::string MariaDbServer::OtherCaFile() const { return dir_->Sub("other-ca.pem"); }

std::string MariaDbServer::ClientCommand(const std::string& db) const {
  return "mariadb --no-defaults -S " + socket_ + " -uroot " + db;
}

std::vector<std::string> MariaDbServer::MigrateFlags(const std::string& db) const {
  return {"--db-host", "127.0.0.1",     "--db-port", std::to_string(port_), "--db-user",
          kUser,       "--db-password", kPassword,   "--db-name",           db};
}

MariaDbServer* MariaDbServer::Shared(std::string* error) {
  static std::mutex mu;
  static std::unique_ptr<MariaDbServer> shared;
  static std::string failure;
  std::lock_guard<std::mutex> lock(mu);
  if (shared) return shared.get();
  if (!failure.empty()) {
    *error = failure;
    return nullptr;
  }
  auto s = std::make_unique<MariaDbServer>();
  if (!s->Start(&failure)) {
    *error = failure;
    return nullptr;
  }
  shared = std::move(s);
  return shared.get();
}

}  // namespace initkit::testing
