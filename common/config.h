// Config: table-driven flags, INITKIT_* environment and *_FILE credentials.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace initkit {

/// How a flag's value is checked and read back.
enum class FlagType { kString, kInt, kDuration, kBool, kList };

/// One row of a tool's flag table. Each row gives --NAME, env INITKIT_NAME
/// and, for credentials, --NAME-file / INITKIT_NAME_FILE as well.
struct FlagSpec {
  std::string name;  // long name without dashes, e.g. "db-host"
  FlagType type = FlagType::kString;
  std::string default_value;  // "" = no default; bools: "true"/"false"
  std::string help;
  bool credential = false;           // adds --NAME-file; value is redacted from logs
  std::vector<std::string> choices;  // allowed values; empty = any
  bool negatable = false;            // bools: also accept --no-NAME
  bool required = false;
  std::string value_name;  // metavar in --help and the reference; "" = MetavarFor's default
};

/// A positional argument (e.g. initkit-secrets' sync|teardown|plan).
struct PositionalSpec {
  std::string name;
  std::string help;
  std::vector<std::string> choices;
  bool required = true;
};

/// Everything a tool declares about its command line.
struct ToolSpec {
  std::string name;  // binary name, e.g. "initkit-cron-gate"
  std::string summary;
  std::vector<FlagSpec> flags;
  std::vector<PositionalSpec> positionals;
  bool accepts_command = false;  // `-- CMD ARGS...` allowed at the end
};

/// Appends a flag row to `spec` and returns it for further settings (valid
/// until the next row is added).
FlagSpec& AddFlag(ToolSpec* spec, std::string name, FlagType type, std::string default_value,
                  std::string help, std::string value_name = "");

/// The flags every tool has (--log-format, --log-level, --termination-log,
/// ...), in the order they are listed after a tool's own.
std::vector<FlagSpec> CommonFlags();

/// The tool's flags followed by CommonFlags(): what ParseConfig accepts.
std::vector<FlagSpec> AllFlags(const ToolSpec& spec);

/// The metavar shown for a flag's value: its value_name, else derived from
/// its type: the choices joined by '|', DURATION, N, or VALUE for free text
/// (which the reference test rejects: every text flag names its metavar).
std::string MetavarFor(const FlagSpec& flag);

/// The flag's --help line: its help text, choices, default, env name.
std::string HelpLineFor(const FlagSpec& flag);

/// The environment a parse sees; tests pass their own. CurrentEnvironment()
/// holds the INITKIT_* variables and the few outside ones common/ reads
/// (KUBERNETES_SERVICE_HOST/PORT and KUBECONFIG, see k8s_connection.h).
using Environment = std::map<std::string, std::string>;
Environment CurrentEnvironment();

/// Config holds parsed, validated values. Getters take a flag name from the
/// table and abort (programming error) on a name the table lacks.
class Config {
 public:
  /// True when the flag was given on the command line, the environment or
  /// (credentials) by file — not when it only has a default.
  bool IsSet(const std::string& name) const;
  /// The value, else the default, else "".
  std::string Get(const std::string& name) const;
  int64_t GetInt(const std::string& name) const;
  std::chrono::milliseconds GetDuration(const std::string& name) const;
  bool GetBool(const std::string& name) const;
  std::vector<std::string> GetList(const std::string& name) const;
  /// Where the value came from: "flag", "env", "file", "default" or "".
  std::string Source(const std::string& name) const;

  const std::vector<std::string>& command() const { return command_; }
  std::string Positional(const std::string& name) const;

 private:
  friend Status ParseConfig(const ToolSpec&, const std::vector<std::string>&, const Environment&,
                            Config*, std::string*);
  struct Value {
    std::vector<std::string> values;
    std::string source;
  };
  const FlagSpec& SpecFor(const std::string& name) const;
  std::vector<FlagSpec> specs_;
  std::map<std::string, Value> values_;
  std::map<std::string, std::string> positionals_;
  std::vector<std::string> command_;
};

/// Env name of a flag: "db-host" -> "INITKIT_DB_HOST".
std::string EnvNameFor(const std::string& flag);

/// Parses args (args[0] is the program) and env against spec, adding the
/// common flags. On --help, --version or --help-format=FORMAT it fills
/// *early_output with the text for stdout and returns Ok: the caller prints
/// it and exits 0. Errors are Usage statuses naming the flag or env var; an
/// unknown flag's error suggests the closest one ("did you mean --from?").
/// Credential values (and file contents) are registered for redaction.
Status ParseConfig(const ToolSpec& spec, const std::vector<std::string>& args,
                   const Environment& env, Config* out, std::string* early_output);

/// One warning per INITKIT_* variable in `env` that no flag of `spec` reads
/// (a typo such as INITKIT_DB_HOTS would otherwise be ignored silently),
/// naming the closest flag when one is close. Variables the tools read
/// outside the flag tables (INITKIT_SERVICEACCOUNT_DIR) are not reported.
std::vector<std::string> UnknownEnvironmentWarnings(const ToolSpec& spec, const Environment& env);

/// Everything before a tool's work: parses argv and the environment
/// (ParseConfig), initialises logging from --log-format/--log-level, warns
/// about unknown INITKIT_* variables, prints --help/--version/--help-format
/// output (then *finished is true: exit 0), and checks that the `-- CMD` can
/// be run (ResolveCommand: NotFound/NotExecutable before any work is done).
/// Errors are returned, not logged: the caller reports them (ToolMain).
Status InitTool(const ToolSpec& spec, int argc, char** argv, Config* out, bool* finished);

/// InitTool for mains that map exit codes themselves (prefer ToolMain):
/// returns -1 to continue, else the exit code for main, after logging the
/// error.
int ParseAndInit(const ToolSpec& spec, int argc, char** argv, Config* out);

/// A duration: "250ms", "2s", "5m", "1h", or a bare number of seconds.
Status ParseDuration(const std::string& text, std::chrono::milliseconds* out);
/// "1.5s", "250ms", "2m0s" style, for messages.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace initkit
