// ToolMain: the one entry every initkit binary's main() calls.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/status.h"

namespace initkit {

/// A tool's work, given its parsed flags: typically OptionsFromConfig, then
/// Run(options). Whatever it prints on stdout it prints itself.
using ToolRun = std::function<Status(const Config& config)>;

/// Runs one tool from main():
///   int main(int argc, char** argv) {
///     return initkit::ToolMain(initkit::x::Spec(), argc, argv, initkit::x::RunFromConfig);
///   }
/// In order: installs the stop-signal handling (signals::Install), parses
/// flags and environment and checks `-- CMD` (InitTool: --help/--version
/// exit 0 here, a CMD that cannot run exits 127/126 before any work), calls
/// `run`, and on success replaces the process with `-- CMD` when one was
/// given. Every outcome is mapped to the exit code here, the one place:
/// a failure logs one error record ("exit_code", "exit_meaning") and writes
/// the termination message (WriteTerminationMessage). Returns the exit code.
int ToolMain(const ToolSpec& spec, int argc, char** argv, const ToolRun& run);

/// A tool's work that may decide that `-- CMD` is not to run this time (the
/// run was skipped: cron-gate --on-mismatch skip). *run_command starts true.
using ToolRunOrSkip = std::function<Status(const Config& config, bool* run_command)>;

/// ToolMain for such a tool: the same, except that on success `-- CMD`
/// replaces the process only when `run` left *run_command true.
int ToolMain(const ToolSpec& spec, int argc, char** argv, const ToolRunOrSkip& run);

/// The termination message of a failed run, one line:
///   "<tool>: <status message> (exit <code>: <meaning>)"
/// (just "(exit <code>)" when the message already states the meaning)
/// with every registered credential masked (log::Redact), bytes that are
/// not UTF-8 replaced, control characters (newlines) turned into spaces, and
/// cut to at most kTerminationMessageMax bytes (ending in "...").
std::string TerminationMessage(std::string_view tool, const Status& status);

/// Kubernetes reads at most 4096 bytes of the file; one short line is what
/// `kubectl describe pod` shows best.
constexpr size_t kTerminationMessageMax = 1024;

/// Writes `message` plus a newline to `path`. With `must_exist` (the default
/// /dev/termination-log) a missing or unwritable path is skipped silently:
/// outside Kubernetes there is none. An explicit path is created (0644).
/// An empty path does nothing. Errors name the path.
Status WriteTerminationMessage(const std::string& path, bool must_exist,
                               const std::string& message);

/// Where the termination message goes for a run with these arguments when
/// the parse itself failed: --termination-log, else INITKIT_TERMINATION_LOG,
/// else the default; *must_exist is true for the default only.
std::string TerminationLogPath(const std::vector<std::string>& args, const Environment& env,
                               bool* must_exist);

}  // namespace initkit
