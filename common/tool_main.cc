#include "common/tool_main.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/exit_status.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/process.h"
#include "common/signals.h"
#include "common/strings.h"

namespace initkit {
namespace {

constexpr const char* kTerminationFlag = "termination-log";

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string CutUtf8(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  s.resize(cut);
  return s + "...";
}

// Logs the failure, writes the termination message, returns the exit code.
int Fail(const ToolSpec& spec, const Status& st, const std::string& path, bool must_exist) {
  const int code = st.ExitCode();
  log::Error(st.message(), {{"exit_code", code}, {"exit_meaning", ExitMeaning(code)}});
  Status wst = WriteTerminationMessage(path, must_exist, TerminationMessage(spec.name, st));
  if (!wst.ok()) log::Warn(wst.message());
  return code;
}

}  // namespace

std::string TerminationMessage(std::string_view tool, const Status& status) {
  const int code = status.ExitCode();
  std::string text = std::string(tool) + ": " + status.message();
  // The meaning once: many NotReady messages already say it.
  const std::string meaning = ExitMeaning(code);
  std::string suffix = status.message().find(meaning) == std::string::npos
                           ? " (exit " + std::to_string(code) + ": " + meaning + ")"
                           : " (exit " + std::to_string(code) + ")";
  text = ToValidUtf8(log::Redact(text));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  // The exit code's meaning stays whole; the message is what gets cut.
  return CutUtf8(text, kTerminationMessageMax - suffix.size()) + suffix;
}

Status WriteTerminationMessage(const std::string& path, bool must_exist,
                               const std::string& message) {
  if (path.empty()) return Status::Ok();
  int flags = O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY;
  if (!must_exist) flags |= O_CREAT;
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    if (must_exist) return Status::Ok();  // not in Kubernetes, or no such mount
    return Status::Failed("cannot write the termination message to " + path + ": " +
                          ErrnoText(errno));
  }
  std::string line = message + "\n";
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return Status::Failed("cannot write the termination message to " + path + ": " +
                            ErrnoText(err));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return Status::Ok();
}

std::string TerminationLogPath(const std::vector<std::string>& args, const Environment& env,
                               bool* must_exist) {
  const std::string flag = std::string("--") + kTerminationFlag;
  std::string path;
  bool found = false;
  // The last one wins, as in the parse; nothing after "--" is ours.
  for (size_t i = 1; i < args.size() && args[i] != "--"; ++i) {
    if (args[i] == flag && i + 1 < args.size()) {
      path = args[++i];
      found = true;
    } else if (args[i].rfind(flag + "=", 0) == 0) {
      path = args[i].substr(flag.size() + 1);
      found = true;
    }
  }
  if (!found) {
    auto it = env.find(EnvNameFor(kTerminationFlag));
    if (it != env.end()) {
      path = it->second;
      found = true;
    }
  }
  *must_exist = !found;
  if (!found) {
    for (const FlagSpec& f : CommonFlags()) {
      if (f.name == kTerminationFlag) path = f.default_value;
    }
  }
  return path;
}

int ToolMain(const ToolSpec& spec, int argc, char** argv, const ToolRun& run) {
  return ToolMain(spec, argc, argv,
                  ToolRunOrSkip([&](const Config& config, bool*) { return run(config); }));
}

int ToolMain(const ToolSpec& spec, int argc, char** argv, const ToolRunOrSkip& run) {
  signals::Install();
  Config config;
  bool finished = false;
  Status st = InitTool(spec, argc, argv, &config, &finished);
  if (finished) return kExitOk;
  bool must_exist = true;
  std::string path;
  if (st.ok()) {
    path = config.Get(kTerminationFlag);
    must_exist = !config.IsSet(kTerminationFlag);
  } else {
    path = TerminationLogPath(std::vector<std::string>(argv, argv + argc), CurrentEnvironment(),
                              &must_exist);
  }
  bool run_command = true;
  if (st.ok()) st = run(config, &run_command);
  if (st.ok() && run_command && !config.command().empty()) st = ExecReplace(config.command());
  if (!st.ok()) return Fail(spec, st, path, must_exist);
  log::Debug("done", {{"exit_code", 0}});
  return kExitOk;
}

}  // namespace initkit
