#include "common/process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "common/file_util.h"
#include "common/signals.h"

namespace initkit {
namespace {

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

Status ExecFailure(const std::string& cmd, int err) {
  std::string msg = "cannot run '" + cmd + "': " + ErrnoText(err);
  if (err == ENOENT || err == ENOTDIR) return Status::NotFound(msg);
  return Status::NotExecutable(msg);
}

// In the forked child: stdin from /dev/null, stdout and stderr to `fd`.
void RedirectChildOutput(int fd) {
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) {
    ::dup2(null_fd, 0);
    if (null_fd != 0) ::close(null_fd);
  }
  ::dup2(fd, 1);
  ::dup2(fd, 2);
}

std::vector<char*> ArgvPointers(const std::vector<std::string>& argv) {
  std::vector<char*> ptrs;
  ptrs.reserve(argv.size() + 1);
  for (const auto& a : argv) ptrs.push_back(const_cast<char*>(a.c_str()));
  ptrs.push_back(nullptr);
  return ptrs;
}

}  // namespace

Status SplitWords(std::string_view line, std::vector<std::string>* words) {
  words->clear();
  std::string cur;
  bool in_word = false;
  size_t i = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (i < line.size()) {
    char c = line[i];
    if (is_space(c)) {
      if (in_word) {
        words->push_back(cur);
        cur.clear();
        in_word = false;
      }
      ++i;
    } else if (c == '\'') {
      size_t end = line.find('\'', i + 1);
      if (end == std::string_view::npos) {
        return Status::Usage("unterminated single quote in command: " + std::string(line));
      }
      cur.append(line.substr(i + 1, end - i - 1));
      in_word = true;
      i = end + 1;
    } else if (c == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        char d = line[i];
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        if (d == '\\' && i + 1 < line.size()) {
          char e = line[i + 1];
          // Inside double quotes a backslash only escapes these (POSIX).
          if (e == '"' || e == '\\' || e == '$' || e == '`') {
            cur.push_back(e);
            i += 2;
            continue;
          }
          if (e == '\n') {
            i += 2;
            continue;
          }
        }
        cur.push_back(d);
        ++i;
      }
      if (!closed) {
        return Status::Usage("unterminated double quote in command: " + std::string(line));
      }
      in_word = true;
    } else if (c == '\\') {
      if (i + 1 >= line.size()) {
        return Status::Usage("trailing backslash in command: " + std::string(line));
      }
      // Backslash-newline joins lines: it is removed and starts no word (else
      // "migrate \<newline> --force" passed an empty argument).
      if (line[i + 1] != '\n') {
        cur.push_back(line[i + 1]);
        in_word = true;
      }
      i += 2;
    } else {
      cur.push_back(c);
      in_word = true;
      ++i;
    }
  }
  if (in_word) words->push_back(cur);
  return Status::Ok();
}

Child::~Child() {
  if (pid_ > 0 && !done_) {
    ::kill(pid_, SIGKILL);
    Wait();
  }
  if (pidfd_ >= 0) ::close(pidfd_);
}

Status Child::Start(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0].empty()) return Status::Usage("empty command");
  if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
  name_ = argv[0];
  std::vector<char*> ptrs = ArgvPointers(argv);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    return Status::Failed("cannot run '" + name_ + "': pipe: " + ErrnoText(errno));
  }
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return Status::Failed("cannot run '" + name_ + "': fork: " + ErrnoText(err));
  }
  if (pid == 0) {
    // If we die, even by SIGKILL, the command must not go on unsupervised
    // (a migration outliving its lock would overlap the next run's). The
    // check closes the window where we died before prctl.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(128 + SIGKILL);
    if (output_fd_ >= 0) RedirectChildOutput(output_fd_);
    signals::ResetForExec();
    ::execvp(ptrs[0], ptrs.data());
    int err = errno;
    ssize_t n = ::write(pipefd[1], &err, sizeof err);
    (void)n;
    ::_exit(127);
  }
  ::close(pipefd[1]);
  pid_ = pid;
  done_ = false;
  signals::AddChild(pid);
  // The pipe closes on a successful exec; an errno arrives if exec failed.
  int err = 0;
  ssize_t n;
  do {
    n = ::read(pipefd[0], &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  ::close(pipefd[0]);
  if (n == sizeof err) {
    Wait();
    return ExecFailure(name_, err);
  }
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  return Status::Ok();
}

void Child::Reaped(int wstatus) {
  done_ = true;
  signals::RemoveChild(pid_);
  if (WIFEXITED(wstatus)) {
    exit_code_ = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    exit_code_ = -1;
    term_signal_ = WTERMSIG(wstatus);
  }
}

bool Child::Wait(std::chrono::milliseconds timeout) {
  if (done_ || pid_ <= 0) return true;
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int wstatus = 0;
    pid_t r = ::waitpid(pid_, &wstatus, WNOHANG);
    if (r == pid_) {
      Reaped(wstatus);
      return true;
    }
    if (r < 0 && errno != EINTR) {
      done_ = true;  // not our child any more (reaped elsewhere)
      return true;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (pidfd_ >= 0) {
      struct pollfd pfd = {pidfd_, POLLIN, 0};
      ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    } else {
      ::usleep(static_cast<useconds_t>(std::min<int64_t>(left.count(), 10) * 1000));
    }
  }
}

void Child::Wait() {
  if (done_ || pid_ <= 0) return;
  int wstatus = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &wstatus, 0);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    Reaped(wstatus);
  } else {
    done_ = true;
  }
}

void Child::Kill(int sig) {
  if (pid_ > 0 && !done_) ::kill(pid_, sig);
}

Status Child::Result() const {
  if (!done_) return Status::Failed("command '" + name_ + "' is still running");
  if (exit_code_ == 0) return Status::Ok();
  if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
  if (term_signal_ != 0) {
    return Status::Failed("command '" + name_ + "' was killed by " + SignalName(term_signal_));
  }
  return Status::Failed("command '" + name_ + "' exited with status " + std::to_string(exit_code_));
}

Status RunCommand(const std::vector<std::string>& argv) {
  Child child;
  INITKIT_RETURN_IF_ERROR(child.Start(argv));
  child.Wait();
  return child.Result();
}

namespace {

// errno of exec'ing `path`, as far as stat/access can tell: 0, ENOENT,
// EACCES (not a regular file, or no execute permission).
int ExecCheck(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno == ENOTDIR ? ENOENT : errno;
  if (!S_ISREG(st.st_mode)) return EACCES;
  if (::access(path.c_str(), X_OK) != 0) return errno;
  return 0;
}

}  // namespace

Status ResolveCommand(const std::string& name, std::string* path) {
  if (name.empty()) return Status::Usage("empty command");
  if (name.find('/') != std::string::npos) {
    int err = ExecCheck(name);
    if (err != 0) return ExecFailure(name, err);
    *path = name;
    return Status::Ok();
  }
  const char* env_path = std::getenv("PATH");
  std::string search = env_path ? env_path : "/bin:/usr/bin";  // glibc's default
  bool found_unusable = false;
  int unusable_err = 0;
  size_t start = 0;
  for (;;) {
    size_t colon = search.find(':', start);
    std::string dir = search.substr(start, colon == std::string::npos ? colon : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    int err = ExecCheck(candidate);
    if (err == 0) {
      *path = candidate;
      return Status::Ok();
    }
    // execvp goes on past a match it may not run, and reports EACCES at the end.
    if (err != ENOENT && !found_unusable) {
      found_unusable = true;
      unusable_err = err;
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (found_unusable) return ExecFailure(name, unusable_err);
  return Status::NotFound("cannot run '" + name + "': not found in PATH");
}

Status ExecReplace(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0].empty()) return Status::Usage("empty command");
  if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
  std::vector<char*> ptrs = ArgvPointers(argv);
  // The signal mask survives execve: CMD must not start with TERM blocked.
  signals::ResetForExec();
  ::execvp(ptrs[0], ptrs.data());
  int err = errno;
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return ExecFailure(argv[0], err);
}

Status RunCapturingOutput(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          CapturedRun* run) {
  *run = CapturedRun();
  const char* env = std::getenv("TMPDIR");
  std::string dir = env != nullptr && *env != '\0' ? env : "/tmp";
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string tmpl = dir + "/initkit-output-XXXXXX";  // no O_TMPFILE there
    fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(tmpl.c_str());
  }
  if (fd < 0) {
    return Status::Failed("cannot create a temporary file in " + dir +
                          " (TMPDIR) for the output of '" +
                          (argv.empty() ? std::string() : argv[0]) + "': " + ErrnoText(errno));
  }
  Status st;
  {
    Child child;
    child.RedirectOutput(fd);
    st = child.Start(argv);
    if (st.ok()) {
      if (!child.Wait(timeout)) {
        run->timed_out = true;
        child.Kill(SIGKILL);
        child.Wait();
      }
      run->exit_code = child.exit_code();
      if (signals::StopRequested()) st = Status::Interrupted(signals::StopSignal());
    }
  }
  if (st.ok()) {
    constexpr size_t kMax = 16UL << 20;
    char buf[65536];
    off_t at = 0;
    while (run->output.size() < kMax) {
      ssize_t n = ::pread(fd, buf, sizeof buf, at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      run->output.append(buf, static_cast<size_t>(n));
      at += n;
    }
    if (run->output.size() > kMax) run->output.resize(kMax);
  }
  ::close(fd);
  return st;
}

}  // namespace initkit
