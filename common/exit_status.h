// Exit codes of every initkit binary (docs/exit-codes.md).
#pragma once

#include <string>

namespace initkit {

/// The exit codes; 128+N (stopped by signal N) is computed.
enum ExitStatus : int {
  kExitOk = 0,
  kExitFailed = 1,
  kExitUsage = 2,
  kExitRefused = 3,
  kExitNotReady = 124,
  kExitNotExecutable = 126,
  kExitNotFound = 127,
  kExitSignalBase = 128,
};

/// What an exit code means, in a few words, for messages (the termination
/// message, the final log record): "not ready before the deadline", ...
/// Codes no initkit tool uses (a `-- CMD`'s own) give "exit status N".
inline std::string ExitMeaning(int code) {
  switch (code) {
    case kExitOk:
      return "success";
    case kExitFailed:
      return "failed";
    case kExitUsage:
      return "usage or configuration error";
    case kExitRefused:
      return "refused";
    case kExitNotReady:
      return "not ready before the deadline";
    case kExitNotExecutable:
      return "command not executable";
    case kExitNotFound:
      return "command not found";
    default:
      break;
  }
  if (code > kExitSignalBase && code < kExitSignalBase + 65) {
    return "stopped by signal " + std::to_string(code - kExitSignalBase);
  }
  return "exit status " + std::to_string(code);
}

}  // namespace initkit
