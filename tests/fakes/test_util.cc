#include "tests/fakes/test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace initkit::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/initkit-test-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  // Tests may leave read-only dirs behind; make them writable so removal works.
  for (auto it = fs::recursive_directory_iterator(
           path_, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      ::chmod(it->path().c_str(), 0700);
    }
  }
  ::chmod(path_.c_str(), 0700);
  fs::remove_all(path_, ec);
}

std::string BinPath(const std::string& tool) {
  const char* dir = std::getenv("TEST_INITKIT_BIN_DIR");
#ifdef INITKIT_BIN_DIR
  if (!dir || !*dir) dir = INITKIT_BIN_DIR;
#endif
  return std::string(dir ? dir : "build/bin") + "/" + tool;
}

RunningBinary::RunningBinary(const std::string& path, const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env) {
  std::string exe = path.find('/') == std::string::npos ? BinPath(path) : path;
  std::vector<std::string> argv_s{exe};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  for (char** e = environ; e && *e; ++e) {
    // The tool sees only the settings the test gives it: an INITKIT_* variable
    // of the developer's shell would change the run (and draw an
    // unknown-setting warning). The harness's own variables are TEST_INITKIT_*.
    if (std::strncmp(*e, "INITKIT_", 8) == 0) continue;
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos && env.count(kv.substr(0, eq))) continue;
    env_s.push_back(kv);
  }
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  start_ = std::chrono::steady_clock::now();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
}

RunningBinary::~RunningBinary() {
  if (!done_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

void RunningBinary::Signal(int sig) {
  if (!done_ && pid_ > 0) ::kill(pid_, sig);
}

void RunningBinary::Pump(int timeout_ms) {
  struct pollfd fds[2];
  int n = 0;
  if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
  if (n == 0) return;
  if (::poll(fds, n, timeout_ms) <= 0) return;
  for (int i = 0; i < n; ++i) {
    if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buf[65536];
    ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
    bool is_out = fds[i].fd == out_fd_;
    if (r > 0) {
      (is_out ? out_ : err_).append(buf, static_cast<size_t>(r));
    } else if (r == 0) {
      ::close(fds[i].fd);
      (is_out ? out_fd_ : err_fd_) = -1;
    }
  }
}

bool RunningBinary::WaitForStderr(const std::string& text, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (err_.find(text) == std::string::npos) {
    if (err_fd_ < 0 || std::chrono::steady_clock::now() >= until) return false;
    Pump(50);
  }
  return true;
}

RunOutput RunningBinary::Wait(std::chrono::milliseconds timeout) {
  if (done_) return result_;
  auto until = std::chrono::steady_clock::now() + timeout;
  bool killed = false;
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    if (!killed && std::chrono::steady_clock::now() >= until) {
      ::kill(pid_, SIGKILL);
      killed = true;
    }
    Pump(100);
  }
  int status = 0;
  ::waitpid(pid_, &status, 0);
  done_ = true;
  result_.out = out_;
  result_.err = err_;
  result_.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start_);
  if (WIFEXITED(status))
    result_.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result_.exit_code = 128 + WTERMSIG(status);
  if (const char* log = std::getenv("TEST_INITKIT_OUTPUT_LOG"); log && *log) {
    std::ofstream f(log, std::ios::app | std::ios::binary);
    f << out_ << err_;
  }
  return result_;
}

RunOutput RunBinary(const std::string& path, const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env,
                    std::chrono::milliseconds timeout) {
  RunningBinary bin(path, args, env);
  return bin.Wait(timeout);
}

void TerminateProcess(pid_t* pid, std::chrono::milliseconds grace) {
  if (*pid <= 0) return;
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, *pid, 0));
  ::kill(*pid, SIGTERM);
  bool exited = false;
  if (pidfd >= 0) {
    struct pollfd pfd = {pidfd, POLLIN, 0};
    exited = ::poll(&pfd, 1, static_cast<int>(grace.count())) == 1;
    ::close(pidfd);
  }
  if (!exited) ::kill(*pid, SIGKILL);
  int ws = 0;
  while (::waitpid(*pid, &ws, 0) < 0 && errno == EINTR) {
  }
  *pid = -1;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

void RegisterCredential(std::string_view value, std::string_view label) {
  const char* registry = std::getenv("TEST_INITKIT_CREDENTIALS");
  if (!registry || !*registry || value.size() < 8) return;
  static std::mutex mu;
  static std::set<std::string>* seen = new std::set<std::string>;  // never destroyed: used at exit
  std::lock_guard<std::mutex> lock(mu);
  if (!seen->insert(std::string(value)).second) return;
  static const char kHex[] = "0123456789abcdef";
  std::string line;
  for (char c : label) line += (c == '\t' || c == '\n') ? ' ' : c;
  line += '\t';
  for (unsigned char c : value) {
    line += kHex[c >> 4];
    line += kHex[c & 15];
  }
  line += '\n';
  // One write() per line on an O_APPEND fd: lines of parallel test binaries never interleave.
  int fd = ::open(registry, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  ssize_t n = ::write(fd, line.data(), line.size());
  (void)n;
  ::close(fd);
}

void WriteFile(const std::string& path, const std::string& content, int mode) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
  f.close();
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace initkit::testing
