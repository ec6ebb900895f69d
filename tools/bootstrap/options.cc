#include "tools/bootstrap/options.h"

#include <sched.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <thread>

namespace initkit::bootstrap {
namespace {

bool ParseUnsigned(const std::string& text, int base, unsigned long long max,
                   unsigned long long* out) {
  if (text.empty() || text.size() > 20) return false;
  for (char c : text) {
    if (c < '0' || c > '9' || (base == 8 && c > '7')) return false;
  }
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, base);
  if (errno != 0 || *end != '\0' || v > max) return false;
  *out = v;
  return true;
}

}  // namespace

ToolSpec BootstrapToolSpec() {
  ToolSpec spec;
  spec.name = "initkit-bootstrap";
  spec.summary =
      "Copies the application tree --from into --to (the shared emptyDir): parallel, "
      "incremental, never following symlinks; writes the marker when complete.";
  spec.accepts_command = true;
  auto flag = [&](std::string name, FlagType type, std::string def, std::string help,
                  std::string value_name = "VALUE") {
    return &AddFlag(&spec, std::move(name), type, std::move(def), std::move(help),
                    std::move(value_name));
  };

  flag("from", FlagType::kString, "", "Source directory (the app inside the image)", "DIR")
      ->required = true;
  flag("to", FlagType::kString, "", "Destination directory (the emptyDir); created if missing",
       "DIR")
      ->required = true;
  flag("dir-mode", FlagType::kString, "0755", "Mode of copied directories", "MODE");
  flag("file-mode", FlagType::kString, "0644", "Mode of copied files", "MODE");
  flag("keep-exec", FlagType::kBool, "true",
       "A file with any execute bit gets the execute bits its read bits allow")
      ->negatable = true;
  flag("preserve-modes", FlagType::kBool, "false", "Keep the source modes instead");
  flag("mkdir", FlagType::kList, "", "Directory to create relative to --to", "REL_PATH");
  flag("owner", FlagType::kString, "",
       "Numeric owner of everything created: copies, --mkdir dirs, the marker, and --to with "
       "its parents when they are created (an existing --to keeps its owner)",
       "UID:GID");
  flag("exclude", FlagType::kList, "",
       "Leave out what matches GLOB (relative path; '*' stays in one segment, '**' crosses; "
       "no '/' = that name at any depth; 'dir/**' keeps dir, empty)",
       "GLOB");
  flag("delete", FlagType::kBool, "false",
       "Remove what the source no longer has (never --mkdir dirs, excluded paths, the marker)");
  flag("marker", FlagType::kString, ".initkit-ready",
       "File in --to written (JSON) only after a complete copy", "NAME");
  flag("jobs", FlagType::kInt, "", "Parallel threads (default: number of CPUs)", "N");
  flag("dry-run", FlagType::kBool, "false", "Print what would be done; change nothing");
  // --progress-interval is a common flag (common/config.cc): the copy's
  // progress records follow it like every wait's.
  return spec;
}

Status OptionsFromConfig(const Config& config, Options* out) {
  Options o;
  o.from = config.Get("from");
  o.to = config.Get("to");
  if (o.from.empty()) return Status::Usage("--from must not be empty");
  if (o.to.empty()) return Status::Usage("--to must not be empty");
  while (o.from.size() > 1 && o.from.back() == '/') o.from.pop_back();
  while (o.to.size() > 1 && o.to.back() == '/') o.to.pop_back();
  INITKIT_RETURN_IF_ERROR(ParseMode("dir-mode", config.Get("dir-mode"), &o.dir_mode));
  INITKIT_RETURN_IF_ERROR(ParseMode("file-mode", config.Get("file-mode"), &o.file_mode));
  o.keep_exec = config.GetBool("keep-exec");
  o.preserve_modes = config.GetBool("preserve-modes");
  for (const std::string& m : config.GetList("mkdir")) {
    std::string norm;
    INITKIT_RETURN_IF_ERROR(NormaliseRelPath("mkdir", m, &norm));
    o.mkdirs.push_back(std::move(norm));
  }
  if (config.IsSet("owner")) {
    uid_t uid;
    gid_t gid;
    INITKIT_RETURN_IF_ERROR(ParseOwner(config.Get("owner"), &uid, &gid));
    o.uid = uid;
    o.gid = gid;
  }
  o.excludes = config.GetList("exclude");
  o.delete_extra = config.GetBool("delete");
  o.marker = config.Get("marker");
  INITKIT_RETURN_IF_ERROR(CheckMarkerName(o.marker));
  if (config.IsSet("jobs")) {
    int64_t jobs = config.GetInt("jobs");
    if (jobs < 1 || jobs > 256) return Status::Usage("--jobs: must be between 1 and 256");
    o.jobs = static_cast<int>(jobs);
  } else {
    o.jobs = DefaultJobs();
  }
  o.dry_run = config.GetBool("dry-run");
  o.progress_interval = config.GetDuration("progress-interval");
  if (o.progress_interval.count() <= 0) {
    return Status::Usage("--progress-interval: must be greater than 0");
  }
  *out = std::move(o);
  return Status::Ok();
}

Status ParseMode(const std::string& flag, const std::string& text, mode_t* out) {
  unsigned long long v = 0;
  if (!ParseUnsigned(text, 8, 07777, &v)) {
    return Status::Usage("--" + flag + ": \"" + text +
                         "\" is not an octal mode between 0000 and 7777");
  }
  *out = static_cast<mode_t>(v);
  return Status::Ok();
}

Status ParseOwner(const std::string& text, uid_t* uid, gid_t* gid) {
  size_t colon = text.find(':');
  unsigned long long u = 0, g = 0;
  // (uid_t)-1 means "unchanged" to chown(2), so it is not a valid owner.
  const unsigned long long kMax = 0xFFFFFFFEull;
  if (colon == std::string::npos || !ParseUnsigned(text.substr(0, colon), 10, kMax, &u) ||
      !ParseUnsigned(text.substr(colon + 1), 10, kMax, &g)) {
    return Status::Usage("--owner: \"" + text + "\" is not UID:GID (two numbers, e.g. 82:82)");
  }
  *uid = static_cast<uid_t>(u);
  *gid = static_cast<gid_t>(g);
  return Status::Ok();
}

Status NormaliseRelPath(const std::string& flag, const std::string& text, std::string* out) {
  if (text.empty() || text[0] == '/') {
    return Status::Usage("--" + flag + ": \"" + text + "\" must be a relative path");
  }
  std::string norm;
  size_t start = 0;
  while (start <= text.size()) {
    size_t slash = text.find('/', start);
    if (slash == std::string::npos) slash = text.size();
    std::string seg = text.substr(start, slash - start);
    start = slash + 1;
    if (seg.empty()) continue;
    if (seg == "." || seg == "..") {
      return Status::Usage("--" + flag + ": \"" + text + "\" must not contain . or ..");
    }
    if (!norm.empty()) norm += '/';
    norm += seg;
  }
  if (norm.empty()) return Status::Usage("--" + flag + ": \"" + text + "\" names no directory");
  *out = std::move(norm);
  return Status::Ok();
}

Status CheckMarkerName(const std::string& text) {
  if (text.empty() || text == "." || text == ".." || text.find('/') != std::string::npos ||
      text.find('\0') != std::string::npos) {
    return Status::Usage("--marker: \"" + text + "\" must be a plain file name");
  }
  return Status::Ok();
}

mode_t TargetMode(const Options& opt, mode_t src_mode) {
  if (opt.preserve_modes) return src_mode & 07777;
  if (S_ISDIR(src_mode)) return opt.dir_mode;
  mode_t m = opt.file_mode;
  if (opt.keep_exec && (src_mode & 0111)) m |= (m & 0444) >> 2;
  return m;
}

int DefaultJobs() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace initkit::bootstrap
