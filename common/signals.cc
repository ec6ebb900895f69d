#include "common/signals.h"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace initkit::signals {
namespace {

constexpr int kStopSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};

struct State {
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<int> stop_signal{0};
  std::set<pid_t> children;
  int stop_fd = -1;
  bool installed = false;
};

State& GetState() {
  static State* s = new State();  // outlives static destructors: the waiter thread uses it
  return *s;
}

void Deliver(int sig) {
  State& s = GetState();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    int expected = 0;
    s.stop_signal.compare_exchange_strong(expected, sig);
    // Like tini: every signal we get, the child gets too.
    for (pid_t pid : s.children) ::kill(pid, sig);
    if (s.stop_fd >= 0) {
      uint64_t one = 1;
      ssize_t n = ::write(s.stop_fd, &one, sizeof one);
      (void)n;
    }
  }
  s.cv.notify_all();
}

sigset_t StopSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kStopSignals) sigaddset(&set, sig);
  return set;
}

}  // namespace

void Install() {
  State& s = GetState();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.installed) return;
    s.installed = true;
    s.stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  }
  // A peer closing a socket must be an error return, not a silent death.
  (void)::signal(SIGPIPE, SIG_IGN);
  sigset_t set = StopSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) == 0) Deliver(sig);
    }
  }).detach();
}

bool StopRequested() { return GetState().stop_signal.load() != 0; }

int StopSignal() { return GetState().stop_signal.load(); }

bool SleepFor(std::chrono::nanoseconds d) {
  State& s = GetState();
  std::unique_lock<std::mutex> lock(s.mu);
  return !s.cv.wait_for(lock, d, [&] { return s.stop_signal.load() != 0; });
}

int StopFd() {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.stop_fd < 0) s.stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  return s.stop_fd;
}

void AddChild(pid_t pid) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.children.insert(pid);
  // A signal that came before the child existed still reaches it.
  if (int sig = s.stop_signal.load()) ::kill(pid, sig);
}

void RemoveChild(pid_t pid) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.children.erase(pid);
}

void ResetForExec() {
  // Only async-signal-safe calls: this runs between fork and exec.
  (void)::signal(SIGPIPE, SIG_DFL);
  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, nullptr);
}

void RaiseForTest(int sig) { Deliver(sig); }

void ResetForTest() {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.stop_signal.store(0);
  if (s.stop_fd >= 0) {
    uint64_t v;
    while (::read(s.stop_fd, &v, sizeof v) > 0) {
    }
  }
}

}  // namespace initkit::signals
