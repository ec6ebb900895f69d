// Exit codes of every initkit binary, fixed by CONTRACT.md.
#pragma once

namespace initkit {

/// The contract's exit codes; 128+N (stopped by signal N) is computed.
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

}  // namespace initkit
