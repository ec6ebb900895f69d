#include "tools/preload/verify.h"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>
#include <unordered_map>

#include "common/file_util.h"
#include "common/log.h"
#include "common/process.h"
#include "tools/preload/preload_script.h"

namespace initkit::preload {

namespace {

constexpr char kMarker[] = "initkit-preload-verified";

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The temporary preload script of the loop, removed when it ends.
class TempScript {
 public:
  ~TempScript() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  Status Create() {
    const char* env = std::getenv("TMPDIR");
    std::string dir = env != nullptr && *env != '\0' ? env : "/tmp";
    std::string tmpl = dir + "/initkit-preload-verify-XXXXXX.php";
    int fd = ::mkstemps(tmpl.data(), 4);
    if (fd < 0) {
      return Status::Failed("--verify-with: cannot create a temporary preload script in " + dir +
                            " (TMPDIR): " + ErrnoText(errno));
    }
    ::close(fd);
    path_ = tmpl;
    return Status::Ok();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Outcome {
  bool started = false;  // PHP got to run the script after preloading
  std::vector<PhpMessage> messages;
};

class Verifier {
 public:
  Verifier(const VerifyInput& in, std::vector<SourceFile>* files, const BuiltinClasses& builtins,
           std::map<size_t, Exclusion>* forced, VerifyReport* report)
      : in_(in), files_(*files), builtins_(builtins), forced_(*forced), report_(*report) {
    for (size_t i = 0; i < files_.size(); ++i) by_path_.emplace(files_[i].path, i);
  }

  Status Run(Analysis* a) {
    start_ = std::chrono::steady_clock::now();
    report_.max_rounds = in_.max_rounds;
    report_.max_seconds = std::chrono::duration<double>(in_.time_limit).count();
    INITKIT_RETURN_IF_ERROR(script_.Create());
    // What this PHP says with an empty list is its own (ini, extensions),
    // not the list's: such lines are noted and otherwise ignored.
    Outcome base;
    INITKIT_RETURN_IF_ERROR(Load({}, &base));
    if (!base.started) {
      return Status::Failed(
          "--verify-with " + in_.php +
          ": PHP does not start even with an empty preload list: " + Excerpt(base));
    }
    for (const PhpMessage& m : base.messages) {
      baseline_.insert(m.text);
      AddNote(&report_.notes, "PHP without any preloading: " + m.text);
    }

    for (int round = 1; round <= in_.max_rounds; ++round) {
      report_.rounds = round;
      Outcome o;
      INITKIT_RETURN_IF_ERROR(Load(a->order, &o));
      std::set<size_t> listed(a->order.begin(), a->order.end());
      std::map<size_t, Exclusion> drops;
      std::string unnamed;  // a fatal error or warning naming no listed file
      for (const PhpMessage& m : o.messages) {
        if (baseline_.count(m.text)) continue;
        auto it = by_path_.find(m.file);
        bool named = it != by_path_.end() && listed.count(it->second);
        if (m.severity == PhpMessage::kNotice) {
          AddNote(named ? &files_[it->second].info.notes : &report_.notes, "PHP: " + m.text);
        } else if (m.severity == PhpMessage::kFatal || m.severity == PhpMessage::kWarning) {
          if (named) {
            drops.emplace(it->second,
                          Exclusion{m.severity == PhpMessage::kFatal ? "php-fatal" : "php-refused",
                                    "PHP: " + m.text});
          } else if (unnamed.empty()) {
            unnamed = m.text;
          }
        }
      }
      if (!o.started && drops.empty() && unnamed.empty()) {
        unnamed = "PHP stopped without a message: " + Excerpt(o);
      }
      LeaveCollateralToTheAnalysis(o, &drops);
      if (drops.empty() && !unnamed.empty()) {
        size_t culprit = 0;
        INITKIT_RETURN_IF_ERROR(Bisect(a->order, &culprit));
        drops.emplace(culprit, Exclusion{"php-fatal", "PHP: " + unnamed +
                                                          " (the list fails from this file on, "
                                                          "found by bisection)"});
      }
      if (drops.empty()) return Status::Ok();
      log::Info("verify: PHP refused files; analysing again",
                {{"round", round}, {"files", static_cast<unsigned long>(drops.size())}});
      for (auto& [i, ex] : drops) forced_.emplace(i, std::move(ex));
      *a = Analyze(files_, builtins_, forced_);
    }
    return Status::Failed("--verify-with: PHP still refuses the list after " +
                          std::to_string(in_.max_rounds) + " rounds; nothing was written");
  }

 private:
  std::chrono::milliseconds Left() const {
    auto used = std::chrono::steady_clock::now() - start_;
    return std::chrono::duration_cast<std::chrono::milliseconds>(in_.time_limit - used);
  }

  static void AddNote(std::vector<std::string>* notes, std::string note) {
    if (std::find(notes->begin(), notes->end(), note) == notes->end()) {
      notes->push_back(std::move(note));
    }
  }

  static std::string Excerpt(const Outcome& o) {
    std::string s;
    for (const PhpMessage& m : o.messages) s += (s.empty() ? "" : "; ") + m.text;
    return s.substr(0, 2000);
  }

  // PHP started with the files of `order` (absolute paths); what it said.
  Status Load(const std::vector<size_t>& order, Outcome* o) {
    if (Left().count() <= 0) {
      return Status::Failed("--verify-with: out of time (" +
                            std::to_string(static_cast<int>(report_.max_seconds)) + " s) after " +
                            std::to_string(report_.php_runs) + " PHP runs; nothing was written");
    }
    INITKIT_RETURN_IF_ERROR(
        WriteFileAtomic(script_.path(), RenderPreload(files_, order, "/", true, 0), 0600));
    std::string user = "root";
    if (struct passwd* pw = ::getpwuid(::geteuid())) user = pw->pw_name;
    std::vector<std::string> argv = {
        in_.php, "-d", "opcache.enable=1", "-d", "opcache.enable_cli=1", "-d",
        "opcache.preload=" + script_.path(), "-d", "opcache.preload_user=" + user, "-d",
        "opcache.memory_consumption=2048", "-d", "opcache.interned_strings_buffer=256", "-d",
        "opcache.max_accelerated_files=1000000",
        // Every message, one per line, on the captured stderr.
        "-d", "display_errors=0", "-d", "display_startup_errors=0", "-d", "log_errors=1", "-d",
        "error_log=", "-d", "html_errors=0", "-d", "error_reporting=-1", "-r",
        std::string("echo '") + kMarker + "', PHP_EOL;"};
    CapturedRun run;
    Status st = RunCapturingOutput(argv, Left(), &run);
    ++report_.php_runs;
    report_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (st.kind() == Status::Kind::kNotFound || st.kind() == Status::Kind::kNotExecutable) {
      return Status::Usage("--verify-with " + in_.php + ": " + st.message());
    }
    INITKIT_RETURN_IF_ERROR(st);
    if (run.timed_out) {
      return Status::Failed("--verify-with: PHP did not finish within the " +
                            std::to_string(static_cast<int>(report_.max_seconds)) +
                            " s left; nothing was written");
    }
    o->messages = ParsePhpMessages(run.output);
    o->started = run.output.find(kMarker) != std::string::npos;
    return Status::Ok();
  }

  bool Fails(const Outcome& o) const {
    if (!o.started) return true;
    for (const PhpMessage& m : o.messages) {
      if ((m.severity == PhpMessage::kFatal || m.severity == PhpMessage::kWarning) &&
          !baseline_.count(m.text)) {
        return true;
      }
    }
    return false;
  }

  // The file whose addition makes the list fail: the shortest failing
  // prefix ends with it (the list puts dependencies first, so every prefix
  // is a list PHP can judge on its own).
  Status Bisect(const std::vector<size_t>& order, size_t* culprit) {
    size_t ok = 0, bad = order.size();  // prefix(ok) loads, prefix(bad) fails
    while (bad - ok > 1) {
      size_t mid = ok + (bad - ok) / 2;
      Outcome o;
      INITKIT_RETURN_IF_ERROR(Load(std::vector<size_t>(order.begin(), order.begin() + mid), &o));
      (Fails(o) ? bad : ok) = mid;
    }
    if (bad == 0) return Status::Failed("--verify-with: PHP fails with an empty list");
    *culprit = order[bad - 1];
    return Status::Ok();
  }

  // A file refused only because a class of another refused file is missing
  // ("Unknown parent X") stays for the analysis, which names the real cause.
  void LeaveCollateralToTheAnalysis(const Outcome& o, std::map<size_t, Exclusion>* drops) {
    std::unordered_map<std::string, size_t> declared;
    for (const auto& [f, ex] : *drops) {
      for (const PhpClass& c : files_[f].info.classes) {
        if (!c.anonymous && !c.conditional) declared.emplace(ToLower(c.name), f);
      }
    }
    std::vector<size_t> collateral;
    for (const PhpMessage& m : o.messages) {
      size_t unknown = m.text.find(": Unknown ");
      if (unknown == std::string::npos) continue;
      size_t name_at = m.text.find(' ', unknown + 10);
      size_t name_end = m.text.find(" in /", name_at);
      if (name_at == std::string::npos || name_end == std::string::npos) continue;
      auto d = declared.find(ToLower(m.text.substr(name_at + 1, name_end - name_at - 1)));
      auto f = by_path_.find(m.file);
      if (d != declared.end() && f != by_path_.end() && d->second != f->second) {
        collateral.push_back(f->second);
      }
    }
    for (size_t f : collateral) drops->erase(f);
  }

  const VerifyInput& in_;
  std::vector<SourceFile>& files_;
  const BuiltinClasses& builtins_;
  std::map<size_t, Exclusion>& forced_;
  VerifyReport& report_;
  std::unordered_map<std::string, size_t> by_path_;
  std::set<std::string> baseline_;
  TempScript script_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

std::vector<PhpMessage> ParsePhpMessages(const std::string& output) {
  static const std::pair<std::string_view, PhpMessage::Severity> kPrefixes[] = {
      {"Fatal error:", PhpMessage::kFatal},
      {"Parse error:", PhpMessage::kFatal},
      {"Compile error:", PhpMessage::kFatal},
      {"Core error:", PhpMessage::kFatal},
      {"Recoverable fatal error:", PhpMessage::kFatal},
      {"Warning:", PhpMessage::kWarning},
      {"Compile warning:", PhpMessage::kWarning},
      {"Core warning:", PhpMessage::kWarning},
      {"Deprecated:", PhpMessage::kNotice},
      {"Notice:", PhpMessage::kNotice},
      {"Strict Standards:", PhpMessage::kNotice}};
  std::vector<PhpMessage> out;
  size_t pos = 0;
  while (pos < output.size()) {
    size_t eol = output.find('\n', pos);
    if (eol == std::string::npos) eol = output.size();
    std::string_view line(output.data() + pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line == kMarker) continue;
    if (StartsWith(line, "PHP ")) line.remove_prefix(4);
    PhpMessage m;
    for (const auto& [prefix, severity] : kPrefixes) {
      if (StartsWith(line, prefix)) {
        m.severity = severity;
        line.remove_prefix(prefix.size());
        break;
      }
    }
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    m.text = std::string(line);
    size_t on = line.rfind(" on line ");
    size_t in = on == std::string_view::npos ? on : line.rfind(" in /", on);
    if (in != std::string_view::npos) m.file = std::string(line.substr(in + 4, on - in - 4));
    out.push_back(std::move(m));
  }
  return out;
}

Status VerifyWithPhp(const VerifyInput& in, std::vector<SourceFile>* files,
                     const BuiltinClasses& builtins, std::map<size_t, Exclusion>* forced,
                     Analysis* a, VerifyReport* report) {
  return Verifier(in, files, builtins, forced, report).Run(a);
}

}  // namespace initkit::preload
