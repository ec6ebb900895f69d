#include "common/status.h"

#include <string.h>

#include "common/exit_status.h"

namespace initkit {

Status Status::Interrupted(int sig) {
  const char* name = sigabbrev_np(sig);
  Status s(Kind::kInterrupted, std::string("stopped by signal ") +
                                   (name ? std::string("SIG") + name : std::to_string(sig)));
  s.signal_ = sig;
  return s;
}

Status Status::Annotate(const std::string& context) const {
  if (ok()) return *this;
  Status s = *this;
  s.message_ = context + ": " + message_;
  return s;
}

int Status::ExitCode() const {
  switch (kind_) {
    case Kind::kOk:
      return kExitOk;
    case Kind::kFailed:
      return kExitFailed;
    case Kind::kUsage:
      return kExitUsage;
    case Kind::kRefused:
      return kExitRefused;
    case Kind::kNotReady:
      return kExitNotReady;
    case Kind::kNotExecutable:
      return kExitNotExecutable;
    case Kind::kNotFound:
      return kExitNotFound;
    case Kind::kInterrupted:
      return kExitSignalBase + signal_;
  }
  return kExitFailed;
}

}  // namespace initkit
