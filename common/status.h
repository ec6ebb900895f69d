// Status: the outcome of an operation, carrying what failed and why.
#pragma once

#include <string>
#include <utility>

namespace initkit {

/// Status is the error value passed up to main, where ToolMain maps its kind
/// to the exit code (ExitCode()). Messages carry context (what, which
/// path/URL/key, why) and never a credential value. [[nodiscard]]: an
/// ignored Status is an ignored error; discard one on purpose with (void).
class [[nodiscard]] Status {
 public:
  enum class Kind {
    kOk,
    kFailed,         // the work failed: exit 1
    kUsage,          // bad flag / config / unreadable input: exit 2
    kRefused,        // a gate refused: exit 3
    kNotReady,       // a dependency was not ready before the deadline: exit 124
    kNotExecutable,  // exit 126
    kNotFound,       // exit 127
    kInterrupted,    // stopped by a signal: exit 128 + signal
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status Failed(std::string msg) { return Status(Kind::kFailed, std::move(msg)); }
  static Status Usage(std::string msg) { return Status(Kind::kUsage, std::move(msg)); }
  static Status Refused(std::string msg) { return Status(Kind::kRefused, std::move(msg)); }
  static Status NotReady(std::string msg) { return Status(Kind::kNotReady, std::move(msg)); }
  static Status NotExecutable(std::string msg) {
    return Status(Kind::kNotExecutable, std::move(msg));
  }
  static Status NotFound(std::string msg) { return Status(Kind::kNotFound, std::move(msg)); }
  /// A run stopped by signal `sig` (SIGTERM, SIGINT, ...).
  static Status Interrupted(int sig);

  bool ok() const { return kind_ == Kind::kOk; }
  Kind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  int signal() const { return signal_; }

  /// Returns a copy whose message is "<context>: <message>"; ok stays ok.
  Status Annotate(const std::string& context) const;

  /// The exit code of this status (see exit_status.h).
  int ExitCode() const;

 private:
  Status(Kind kind, std::string msg) : kind_(kind), message_(std::move(msg)) {}
  Kind kind_ = Kind::kOk;
  std::string message_;
  int signal_ = 0;
};

/// Evaluates `expr` (a Status) and returns it from the caller if not ok.
#define INITKIT_RETURN_IF_ERROR(expr) \
  do {                                \
    ::initkit::Status _st = (expr);   \
    if (!_st.ok()) return _st;        \
  } while (0)

}  // namespace initkit
