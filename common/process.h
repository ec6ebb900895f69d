// Process running without a shell: word splitting, fork/exec, execve-in-place.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace initkit {

/// Splits `line` into words the way a POSIX shell would (single quotes,
/// double quotes with \" \\ \$ \` escapes, backslash outside quotes), with
/// no expansion of any kind. Unterminated quotes are a Usage error.
Status SplitWords(std::string_view line, std::vector<std::string>* words);

/// A child process started from argv (PATH searched like execvp), with
/// stdin/stdout/stderr inherited and every stop signal forwarded to it.
class Child {
 public:
  Child() = default;
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  /// Starts argv. Fails with NotFound (127) or NotExecutable (126) when the
  /// exec fails, reported synchronously through a close-on-exec pipe.
  /// The child gets SIGKILL when this thread ends (PR_SET_PDEATHSIG), so a
  /// SIGKILLed tool leaves no command running: call it from a thread that
  /// outlives the child (the main thread). Its own children are not covered.
  Status Start(const std::vector<std::string>& argv);
  /// Before Start: the child's stdout and stderr go to `fd` (which stays
  /// ours; the child gets a copy) instead of ours.
  void RedirectOutput(int fd) { output_fd_ = fd; }
  /// Waits up to `timeout` for the child to end; true once it has ended.
  bool Wait(std::chrono::milliseconds timeout);
  /// Waits until the child ends.
  void Wait();
  /// Sends `sig` to the child if it still runs.
  void Kill(int sig);
  /// After the child ended: Ok on exit 0; Interrupted when we were stopped
  /// by a signal; else Failed naming the command and its exit status/signal.
  Status Result() const;
  int exit_code() const { return exit_code_; }  // -1 if killed by a signal
  int term_signal() const { return term_signal_; }
  pid_t pid() const { return pid_; }

 private:
  void Reaped(int wstatus);
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool done_ = false;
  int exit_code_ = -1;
  int term_signal_ = 0;
  int output_fd_ = -1;
  std::string name_;
};

/// Runs argv to completion (Child::Start + Wait + Result).
Status RunCommand(const std::vector<std::string>& argv);

/// Finds the program `name` the way execvp(3) would (a name with a '/' as
/// it is, else the first executable match in $PATH, or "/bin:/usr/bin"
/// when PATH is unset) and stores its path in *path. Fails like the exec
/// would, before any work is done: NotFound (127) when nothing is there,
/// NotExecutable (126) when only a directory or a file without the execute
/// permission matches. Used to check `-- CMD` up front (InitTool).
Status ResolveCommand(const std::string& name, std::string* path);

/// What RunCapturingOutput saw of the child.
struct CapturedRun {
  std::string output;  // stdout and stderr interleaved, at most the first 16 MiB
  int exit_code = -1;  // -1 if killed by a signal
  bool timed_out = false;
};

/// Runs argv as a Child (death signal, stop signals forwarded) with stdin
/// from /dev/null and stdout+stderr captured through an unlinked file in
/// $TMPDIR (else /tmp), so a chatty child never blocks on a full pipe and a
/// read-only root filesystem is fine as long as TMPDIR is writable. After
/// `timeout` the child gets SIGKILL and `timed_out` is set; that and a
/// non-zero exit are reported in `*run`, not as errors. Errors: the command
/// cannot be started (NotFound/NotExecutable), the temp file cannot be made
/// (Failed, naming the directory), we were stopped (Interrupted).
Status RunCapturingOutput(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          CapturedRun* run);

/// Replaces this process with argv (a tool's `-- CMD`): same PID,
/// clean signal mask. Returns only on failure: NotFound or NotExecutable.
Status ExecReplace(const std::vector<std::string>& argv);

}  // namespace initkit
