// Test support: temp dirs, running built binaries, free ports.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace initkit::testing {

/// A fresh directory under $TMPDIR, removed recursively on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  /// path() + "/" + rel
  std::string Sub(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

/// Absolute path of a built binary, e.g. BinPath("initkit-cron-gate").
std::string BinPath(const std::string& tool);

/// What a finished binary printed and how it ended. exit_code is 128+N when
/// killed by signal N.
struct RunOutput {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
};

/// A binary started in the background with stdout/stderr captured. Its
/// environment is ours minus every INITKIT_* variable, plus `env`.
class RunningBinary {
 public:
  RunningBinary(const std::string& path, const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env = {});
  ~RunningBinary();  // kills (SIGKILL) and reaps if still running
  pid_t pid() const { return pid_; }
  void Signal(int sig);
  /// Waits for the end (SIGKILL after `timeout`) and collects the output.
  RunOutput Wait(std::chrono::milliseconds timeout = std::chrono::seconds(120));
  /// Waits until the captured stderr contains `text`; false on timeout/exit.
  bool WaitForStderr(const std::string& text, std::chrono::milliseconds timeout);

 private:
  void Pump(int timeout_ms);
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
  bool done_ = false;
  RunOutput result_;
  std::chrono::steady_clock::time_point start_;
};

/// Runs a binary to completion. `path` may be a tool name (BinPath applied
/// when it has no '/'). Everything it printed is also appended to the file
/// named by $TEST_INITKIT_OUTPUT_LOG, if set, for leak scans.
RunOutput RunBinary(const std::string& path, const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(120));

/// Stops a server process started by a fake: SIGTERM, up to `grace` for it
/// to exit (waiting on a pidfd, not polling), then SIGKILL; always reaps.
/// Sets *pid to -1. Does nothing when *pid <= 0.
void TerminateProcess(pid_t* pid, std::chrono::milliseconds grace);

/// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

/// Records `value` as a credential the tests used, for the suite-wide leak
/// scan (tests/security: credential_leak_scan fails if any registered value
/// shows up in any captured output). Appends "label<TAB>hex(value)" to the
/// file named by $TEST_INITKIT_CREDENTIALS (created 0600; CTest points it into
/// the build dir). Values under 8 bytes are ignored (they occur by chance);
/// does nothing when the variable is unset. Thread-safe, each value once.
void RegisterCredential(std::string_view value, std::string_view label = "");

/// Writes a file (creating parent dirs), mode 0644 unless given.
void WriteFile(const std::string& path, const std::string& content, int mode = 0644);
std::string ReadFile(const std::string& path);

}  // namespace initkit::testing
