#include "common/config.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "common/build_info.h"
#include "common/exit_status.h"
#include "common/file_util.h"
#include "common/flag_reference.h"
#include "common/k8s_connection.h"
#include "common/log.h"
#include "common/process.h"
#include "common/retry.h"
#include "common/strings.h"

extern char** environ;

namespace initkit {
namespace {

// INITKIT_* variables read outside the flag tables, so no warning names them.
const char* const kOtherEnvironment[] = {
    "INITKIT_SERVICEACCOUNT_DIR",  // the Kubernetes connection loader (k8s_connection.h)
};

bool ParseBoolText(const std::string& text, bool* out) {
  std::string t = ToLower(text);
  if (t == "1" || t == "true" || t == "yes" || t == "on") {
    *out = true;
  } else if (t == "0" || t == "false" || t == "no" || t == "off") {
    *out = false;
  } else {
    return false;
  }
  return true;
}

bool ParseIntText(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  size_t i = (text[0] == '-') ? 1 : 0;
  if (i == text.size()) return false;
  for (size_t j = i; j < text.size(); ++j) {
    if (!std::isdigit(static_cast<unsigned char>(text[j]))) return false;
  }
  errno = 0;
  long long v = std::strtoll(text.c_str(), nullptr, 10);
  if (errno == ERANGE) return false;
  *out = v;
  return true;
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    std::string part = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!part.empty()) out.push_back(part);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string Origin(const std::string& flag, const std::string& source) {
  if (source == "env") return EnvNameFor(flag);
  return "--" + flag;
}

// The flag named by an argument "--name" or "--name=value" ("" if none).
std::string FlagNameOf(const std::string& arg) {
  if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) return "";
  return arg.substr(2, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2);
}

// Every long flag name the parser accepts, for did-you-mean.
std::vector<std::string> AcceptedNames(const std::vector<FlagSpec>& specs) {
  std::vector<std::string> names = {"help", "version", "help-format"};
  for (const FlagSpec& f : specs) {
    names.push_back(f.name);
    if (f.credential) names.push_back(f.name + "-file");
    if (f.negatable) names.push_back("no-" + f.name);
  }
  return names;
}

// An unknown flag before any `--`: a Usage error suggesting the closest one.
Status CheckFlagNames(const std::vector<std::string>& cli, const std::vector<FlagSpec>& specs) {
  std::vector<std::string> names = AcceptedNames(specs);
  for (const std::string& arg : cli) {
    std::string name = FlagNameOf(arg);
    if (name.empty() || std::find(names.begin(), names.end(), name) != names.end()) continue;
    std::string msg = "unknown flag --" + name;
    std::string best = ClosestMatch(name, names);
    if (!best.empty()) return Status::Usage(msg + "; did you mean --" + best + "?");
    return Status::Usage(msg + " (see --help)");
  }
  return Status::Ok();
}

// The FORMAT of a --help-format[=]FORMAT among the arguments; false if none.
bool HelpFormatRequested(const std::vector<std::string>& cli, std::string* format) {
  for (size_t i = 0; i < cli.size(); ++i) {
    if (cli[i].rfind("--help-format=", 0) == 0) {
      *format = cli[i].substr(14);
      return true;
    }
    if (cli[i] == "--help-format") {
      *format = i + 1 < cli.size() ? cli[i + 1] : "";
      return true;
    }
  }
  return false;
}

}  // namespace

std::vector<FlagSpec> CommonFlags() {
  return {
      {.name = "log-format",
       .help = "Log record format on stderr (default: text on a terminal, else json)",
       .choices = {"json", "text"}},
      {.name = "log-level",
       .default_value = "info",
       .help = "Lowest level logged",
       .choices = {"debug", "info", "warn", "error"}},
      {.name = "progress-interval",
       .type = FlagType::kDuration,
       .default_value = "5s",
       .help = "While waiting or working, log a progress record this often"},
      {.name = "termination-log",
       .default_value = "/dev/termination-log",
       .help = "On failure, write a one-line summary here (Kubernetes shows it in the pod's "
               "status); the default path is used only when it exists and is writable; \"\" "
               "turns it off",
       .value_name = "PATH"},
  };
}

std::vector<FlagSpec> AllFlags(const ToolSpec& spec) {
  std::vector<FlagSpec> all = spec.flags;
  for (FlagSpec& f : CommonFlags()) all.push_back(std::move(f));
  return all;
}

std::string MetavarFor(const FlagSpec& f) {
  if (f.type == FlagType::kBool) return "";
  if (!f.value_name.empty() && f.value_name != "VALUE") return f.value_name;
  if (!f.choices.empty()) {
    std::string out;
    for (const auto& c : f.choices) out += (out.empty() ? "" : "|") + c;
    return out;
  }
  switch (f.type) {
    case FlagType::kDuration:
      return "DURATION";
    case FlagType::kInt:
      return "N";
    default:
      return "VALUE";
  }
}

std::string HelpLineFor(const FlagSpec& f) {
  std::string help = f.help;
  if (!f.choices.empty() && f.type != FlagType::kBool) {
    help += " (one of:";
    for (const auto& c : f.choices) help += " " + c;
    help += ")";
  }
  if (!f.default_value.empty() && f.type != FlagType::kBool) {
    help += " [default: " + f.default_value + "]";
  }
  if (f.type == FlagType::kBool && f.default_value == "true") help += " [default: on]";
  if (f.type == FlagType::kList) help += " (repeatable)";
  if (f.required) help += " (required)";
  help += " [env " + EnvNameFor(f.name) + "]";
  return help;
}

FlagSpec& AddFlag(ToolSpec* spec, std::string name, FlagType type, std::string default_value,
                  std::string help, std::string value_name) {
  FlagSpec f;
  f.name = std::move(name);
  f.type = type;
  f.default_value = std::move(default_value);
  f.help = std::move(help);
  f.value_name = std::move(value_name);
  spec->flags.push_back(std::move(f));
  return spec->flags.back();
}

Environment CurrentEnvironment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string name = kv.substr(0, eq);
    // Our own variables, and the outside ones the Kubernetes connection
    // loader reads (k8s_connection.h): the rest is not ours to read.
    bool outside =
        std::find(std::begin(kK8sEnvironmentVariables), std::end(kK8sEnvironmentVariables), name) !=
        std::end(kK8sEnvironmentVariables);
    if (name.compare(0, 8, "INITKIT_") != 0 && !outside) continue;
    env.emplace(std::move(name), kv.substr(eq + 1));
  }
  return env;
}

std::string EnvNameFor(const std::string& flag) {
  std::string env = "INITKIT_";
  for (char c : flag) {
    env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return env;
}

const FlagSpec& Config::SpecFor(const std::string& name) const {
  for (const auto& s : specs_) {
    if (s.name == name) return s;
  }
  (void)std::fprintf(stderr, "initkit: internal error: flag --%s is not declared\n", name.c_str());
  std::abort();
}

bool Config::IsSet(const std::string& name) const {
  SpecFor(name);
  auto it = values_.find(name);
  return it != values_.end() && it->second.source != "default" && !it->second.source.empty();
}

std::string Config::Get(const std::string& name) const {
  const FlagSpec& spec = SpecFor(name);
  auto it = values_.find(name);
  if (it == values_.end() || it->second.values.empty()) return spec.default_value;
  return it->second.values.back();
}

int64_t Config::GetInt(const std::string& name) const {
  int64_t v = 0;
  ParseIntText(Get(name), &v);  // validated at parse time
  return v;
}

std::chrono::milliseconds Config::GetDuration(const std::string& name) const {
  std::chrono::milliseconds d{0};
  (void)ParseDuration(Get(name), &d);  // validated at parse time
  return d;
}

bool Config::GetBool(const std::string& name) const {
  bool b = false;
  ParseBoolText(Get(name), &b);
  return b;
}

std::vector<std::string> Config::GetList(const std::string& name) const {
  SpecFor(name);
  auto it = values_.find(name);
  if (it == values_.end()) return {};
  return it->second.values;
}

std::string Config::Source(const std::string& name) const {
  SpecFor(name);
  auto it = values_.find(name);
  return it == values_.end() ? "" : it->second.source;
}

std::string Config::Positional(const std::string& name) const {
  auto it = positionals_.find(name);
  return it == positionals_.end() ? "" : it->second;
}

Status ParseConfig(const ToolSpec& spec_in, const std::vector<std::string>& args,
                   const Environment& env, Config* out, std::string* early_output) {
  early_output->clear();
  *out = Config();
  std::vector<FlagSpec> specs = AllFlags(spec_in);
  out->specs_ = specs;

  // Everything after the first "--" is the command to exec; CLI11 never sees it.
  std::vector<std::string> cli(args.begin() + (args.empty() ? 0 : 1), args.end());
  for (size_t i = 0; i < cli.size(); ++i) {
    if (cli[i] != "--") continue;
    if (!spec_in.accepts_command) {
      return Status::Usage(spec_in.name + " takes no command after '--'");
    }
    out->command_.assign(cli.begin() + static_cast<long>(i) + 1, cli.end());
    cli.resize(i);
    if (out->command_.empty()) return Status::Usage("'--' must be followed by a command");
    break;
  }
  if (std::string format; HelpFormatRequested(cli, &format)) {
    return RenderReference(spec_in, format, early_output);
  }
  INITKIT_RETURN_IF_ERROR(CheckFlagNames(cli, specs));

  CLI::App app(spec_in.summary, spec_in.name);
  app.set_help_flag("-h,--help", "Print this help and exit");
  app.set_version_flag("--version", "Print the version, commit and linked libraries and exit");
  app.allow_extras(false);
  if (spec_in.accepts_command) {
    app.footer("After the flags, '-- CMD ARGS...' runs CMD in place of this process on success.");
  }
  app.get_formatter()->column_width(38);

  std::map<std::string, std::string> str_store;
  std::map<std::string, std::vector<std::string>> list_store;
  std::map<std::string, bool> bool_store;
  std::map<std::string, CLI::Option*> opts;
  std::map<std::string, CLI::Option*> file_opts;
  for (const FlagSpec& f : specs) {
    std::string help = HelpLineFor(f);
    CLI::Option* opt = nullptr;
    switch (f.type) {
      case FlagType::kBool: {
        std::string names = "--" + f.name + (f.negatable ? ",!--no-" + f.name : "");
        opt = app.add_flag(names, bool_store[f.name], help);
        opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
        break;
      }
      case FlagType::kList:
        opt = app.add_option("--" + f.name, list_store[f.name], help);
        opt->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
        opt->type_name(MetavarFor(f));
        break;
      default:
        opt = app.add_option("--" + f.name, str_store[f.name], help);
        opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
        opt->type_name(MetavarFor(f));
        break;
    }
    opts[f.name] = opt;
    if (f.credential) {
      auto* fo = app.add_option("--" + f.name + "-file", str_store[f.name + "-file"],
                                "Read --" + f.name +
                                    " from this file (one trailing newline "
                                    "stripped) [env " +
                                    EnvNameFor(f.name + "-file") + "]");
      fo->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)->type_name("FILE");
      file_opts[f.name] = fo;
    }
  }
  std::map<std::string, std::string> pos_store;
  for (const PositionalSpec& p : spec_in.positionals) {
    std::string help = p.help;
    if (!p.choices.empty()) {
      help += " (one of:";
      for (const auto& c : p.choices) help += " " + c;
      help += ")";
    }
    auto* opt = app.add_option(p.name, pos_store[p.name], help);
    opt->required(p.required);
    if (!p.choices.empty()) opt->check(CLI::IsMember(p.choices));
  }

  std::vector<const char*> argv;
  argv.push_back(args.empty() ? spec_in.name.c_str() : args[0].c_str());
  for (const auto& a : cli) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    *early_output = app.help();
    return Status::Ok();
  } catch (const CLI::CallForAllHelp&) {
    *early_output = app.help();
    return Status::Ok();
  } catch (const CLI::CallForVersion&) {
    *early_output = VersionText(spec_in.name);
    return Status::Ok();
  } catch (const CLI::ParseError& e) {
    return Status::Usage(std::string(e.what()) + " (see --help)");
  }
  for (const auto& [name, value] : pos_store) out->positionals_[name] = value;

  for (const FlagSpec& f : specs) {
    Config::Value v;
    CLI::Option* opt = opts[f.name];
    auto env_it = env.find(EnvNameFor(f.name));
    if (opt->count() > 0) {
      v.source = "flag";
      if (f.type == FlagType::kBool) {
        v.values = {bool_store[f.name] ? "true" : "false"};
      } else if (f.type == FlagType::kList) {
        v.values = list_store[f.name];
      } else {
        v.values = {str_store[f.name]};
      }
    } else if (env_it != env.end()) {
      v.source = "env";
      if (f.type == FlagType::kList) {
        v.values = SplitLines(env_it->second);
      } else {
        v.values = {env_it->second};
      }
    }
    if (f.credential) {
      CLI::Option* fo = file_opts[f.name];
      auto fenv = env.find(EnvNameFor(f.name + "-file"));
      std::string file_source;
      std::string file;
      if (fo->count() > 0) {
        file_source = "flag";
        file = str_store[f.name + "-file"];
      } else if (fenv != env.end()) {
        file_source = "env";
        file = fenv->second;
      }
      if (!file_source.empty() && !v.source.empty()) {
        if (file_source == v.source) {
          return Status::Usage("give either " + Origin(f.name, v.source) + " or " +
                               Origin(f.name + "-file", file_source) + ", not both");
        }
      }
      // A command-line flag beats the environment, whichever form it takes.
      bool use_file = !file_source.empty() && (v.source.empty() || file_source == "flag");
      if (use_file) {
        std::string content;
        Status st = ReadFileToString(file, &content, 1024UL * 1024);
        if (!st.ok()) {
          return Status::Usage(Origin(f.name + "-file", file_source) + ": " + st.message());
        }
        if (!content.empty() && content.back() == '\n') content.pop_back();
        v.values = {content};
        v.source = "file";
      }
      for (const auto& s : v.values) log::AddSecret(s);
    }
    if (v.source.empty()) {
      if (f.required) {
        return Status::Usage("missing required --" + f.name + " (or " + EnvNameFor(f.name) + ")");
      }
      if (!f.default_value.empty()) {
        v.source = "default";
        if (f.type != FlagType::kList) v.values = {f.default_value};
      }
    }
    std::string origin = Origin(f.name, v.source);
    for (std::string& value : v.values) {
      switch (f.type) {
        case FlagType::kBool: {
          bool b;
          if (!ParseBoolText(value, &b)) {
            return Status::Usage(origin + ": '" + value + "' is not a boolean (true/false)");
          }
          value = b ? "true" : "false";
          break;
        }
        case FlagType::kInt: {
          int64_t i;
          if (!ParseIntText(value, &i)) {
            return Status::Usage(origin + ": '" + value + "' is not a whole number");
          }
          break;
        }
        case FlagType::kDuration: {
          std::chrono::milliseconds d;
          Status st = ParseDuration(value, &d);
          if (!st.ok()) return Status::Usage(origin + ": " + st.message());
          if (f.name == "progress-interval" && d.count() <= 0) {
            return Status::Usage(origin + ": must be greater than 0");
          }
          break;
        }
        default:
          break;
      }
      if (!f.choices.empty() && f.type != FlagType::kBool &&
          std::find(f.choices.begin(), f.choices.end(), value) == f.choices.end()) {
        std::string list;
        for (const auto& c : f.choices) list += (list.empty() ? "" : ", ") + c;
        return Status::Usage(origin + ": '" + value + "' is not one of " + list);
      }
    }
    if (!v.source.empty()) out->values_[f.name] = std::move(v);
  }
  return Status::Ok();
}

std::vector<std::string> UnknownEnvironmentWarnings(const ToolSpec& spec, const Environment& env) {
  std::vector<std::string> known_env;
  std::vector<std::string> flag_of;  // flag_of[i] names the flag read from known_env[i]
  for (const FlagSpec& f : AllFlags(spec)) {
    known_env.push_back(EnvNameFor(f.name));
    flag_of.push_back("--" + f.name);
    if (f.credential) {
      known_env.push_back(EnvNameFor(f.name + "-file"));
      flag_of.push_back("--" + f.name + "-file");
    }
  }
  std::vector<std::string> warnings;
  for (const auto& [name, value] : env) {
    if (name.rfind("INITKIT_", 0) != 0) continue;
    if (std::find(known_env.begin(), known_env.end(), name) != known_env.end()) continue;
    if (std::find(std::begin(kOtherEnvironment), std::end(kOtherEnvironment), name) !=
        std::end(kOtherEnvironment)) {
      continue;
    }
    std::string w = name + " is set but " + spec.name + " has no such setting; it is ignored";
    std::string best = ClosestMatch(name, known_env);
    if (!best.empty()) {
      size_t i = static_cast<size_t>(std::find(known_env.begin(), known_env.end(), best) -
                                     known_env.begin());
      w += " (did you mean " + best + ", the environment form of " + flag_of[i] + "?)";
    }
    warnings.push_back(std::move(w));
  }
  return warnings;
}

Status InitTool(const ToolSpec& spec, int argc, char** argv, Config* out, bool* finished) {
  *finished = false;
  std::vector<std::string> args(argv, argv + argc);
  std::string early;
  const Environment env = CurrentEnvironment();
  Status st = ParseConfig(spec, args, env, out, &early);
  log::Level level = log::Level::kInfo;
  log::Format format = log::DefaultFormat();
  if (st.ok()) {
    log::ParseLevel(out->Get("log-level"), &level);
    if (out->Get("log-format") == "json") format = log::Format::kJson;
    if (out->Get("log-format") == "text") format = log::Format::kText;
    SetProgressInterval(out->GetDuration("progress-interval"));
  }
  log::Init(spec.name, format, level);
  if (!st.ok()) return st;
  if (!early.empty()) {
    (void)std::fwrite(early.data(), 1, early.size(), stdout);
    (void)std::fflush(stdout);
    *finished = true;
    return Status::Ok();
  }
  for (const std::string& w : UnknownEnvironmentWarnings(spec, env)) log::Warn(w);
  if (!out->command().empty()) {
    std::string path;
    INITKIT_RETURN_IF_ERROR(ResolveCommand(out->command()[0], &path));
  }
  return Status::Ok();
}

int ParseAndInit(const ToolSpec& spec, int argc, char** argv, Config* out) {
  bool finished = false;
  Status st = InitTool(spec, argc, argv, out, &finished);
  if (!st.ok()) {
    log::Error(st.message(), {{"exit_code", st.ExitCode()}});
    return st.ExitCode();
  }
  return finished ? kExitOk : -1;
}

Status ParseDuration(const std::string& text, std::chrono::milliseconds* out) {
  auto bad = [&](const std::string& why) {
    return Status::Usage("invalid duration '" + text + "': " + why +
                         " (use e.g. 250ms, 2s, 5m, 1h, or a number of seconds)");
  };
  if (text.empty()) return bad("empty");
  double total_ms = 0;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
      ++i;
    }
    if (start == i) return bad("expected a number");
    std::string num = text.substr(start, i - start);
    if (std::count(num.begin(), num.end(), '.') > 1 || num == ".") return bad("malformed number");
    double value = std::strtod(num.c_str(), nullptr);
    size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string unit = text.substr(ustart, i - ustart);
    double scale;
    if (unit.empty()) {
      if (any || i != text.size()) return bad("missing unit");
      scale = 1000;  // a bare number means seconds
    } else if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60 * 1000;
    } else if (unit == "h") {
      scale = 3600 * 1000;
    } else {
      return bad("unknown unit '" + unit + "'");
    }
    total_ms += value * scale;
    any = true;
  }
  if (!std::isfinite(total_ms) || total_ms > 1e12) return bad("too large");
  *out = std::chrono::milliseconds(static_cast<int64_t>(std::llround(total_ms)));
  return Status::Ok();
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  int64_t h = ms / 3600000, m = (ms / 60000) % 60;
  double s = static_cast<double>(ms % 60000) / 1000.0;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s > 0 || out.empty()) {
    char buf[32];
    (void)std::snprintf(buf, sizeof buf, "%.3f", s);
    std::string t = buf;
    while (t.back() == '0') t.pop_back();
    if (t.back() == '.') t.pop_back();
    out += t + "s";
  }
  return out;
}

}  // namespace initkit
