#include "tools/preload/preload.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/glob.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/signals.h"
#include "tools/preload/composer_autoload.h"
#include "tools/preload/json_writer.h"
#include "tools/preload/preload_script.h"
#include "tools/preload/verify.h"

namespace initkit::preload {

namespace fs = std::filesystem;

namespace {

// What OPcache needs per byte of source, measured on the fixture app
// (104.6 MB of shared memory for 35.4 MB of PHP).
constexpr double kMemoryPerSourceByte = 3.0;

std::string Absolute(const std::string& base, const std::string& p) {
  if (!p.empty() && p[0] == '/') return NormalizePath(p);
  return NormalizePath(base + "/" + p);
}

std::string RelativeTo(const std::string& base, const std::string& p) {
  if (p.size() > base.size() && p.compare(0, base.size(), base) == 0 && p[base.size()] == '/') {
    return p.substr(base.size() + 1);
  }
  return p;
}

bool DefaultExcluded(const std::string& rel, std::string* why) {
  size_t i = 0;
  while (i < rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) break;  // the file name itself does not count
    std::string_view part(rel.data() + i, j - i);
    if (part == "tests" || part == "patches") {
      *why = "under a " + std::string(part) + "/ directory";
      return true;
    }
    i = j + 1;
  }
  if (rel.find("codeigniter/framework/") != std::string::npos) {
    *why = "CodeIgniter 3 (load_class() relies on require_once side effects)";
    return true;
  }
  return false;
}

struct Candidates {
  std::vector<SourceFile> files;
  std::vector<std::pair<std::string, std::string>> pattern_excluded;  // rel, why
};

Status CollectCandidates(const Options& opts, const std::string& app, Candidates* c) {
  std::string vendor = Absolute(app, opts.vendor_dir);
  std::string composer = vendor + "/composer";
  std::unordered_set<std::string> seen;
  auto add = [&](const std::string& path) {
    if (!seen.insert(path).second) return;
    std::string rel = RelativeTo(app, path);
    std::string why;
    if (DefaultExcluded(rel, &why)) {
      c->pattern_excluded.emplace_back(rel, why);
      return;
    }
    for (const std::string& g : opts.excludes) {
      if (GlobMatch(g, rel)) {
        c->pattern_excluded.emplace_back(rel, "matches --exclude " + g);
        return;
      }
    }
    SourceFile f;
    f.path = path;
    f.rel = rel;
    c->files.push_back(std::move(f));
  };

  std::string cm_path = composer + "/autoload_classmap.php";
  std::string text;
  Status st = ReadFileToString(cm_path, &text);
  if (!st.ok()) {
    return Status::Usage(
        "cannot read Composer class map " + cm_path + " (" + st.message() +
        "); run composer dump-autoload --optimize, or check --app-dir/--vendor-dir");
  }
  ClassMap cm;
  INITKIT_RETURN_IF_ERROR(ParseClassMap(text, composer, cm_path, &cm));
  c->files.reserve(cm.size() + 1024);  // SourceFile is large to move
  seen.reserve(cm.size() + 1024);
  for (const auto& [cls, path] : cm) add(path);

  std::vector<std::string> dirs;
  std::string psr4_path = composer + "/autoload_psr4.php";
  if (opts.psr4_dirs.empty() && ReadFileToString(psr4_path, &text).ok()) {
    Psr4Map pm;
    INITKIT_RETURN_IF_ERROR(ParsePsr4Map(text, composer, psr4_path, &pm));
    for (const auto& [prefix, ds] : pm) {
      for (const auto& d : ds) {
        // Vendor packages are in the (optimised) class map already.
        if (d.compare(0, vendor.size() + 1, vendor + "/") != 0) dirs.push_back(d);
      }
    }
  }
  for (const std::string& d : opts.psr4_dirs) {
    std::string abs = Absolute(app, d);
    std::error_code ec;
    if (!fs::is_directory(abs, ec)) {
      return Status::Usage("--psr4-dir " + d + ": " + abs + " is not a directory");
    }
    dirs.push_back(abs);
  }
  for (const std::string& d : dirs) {
    std::error_code ec;
    std::vector<std::string> found;
    for (fs::recursive_directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec) && it->path().extension() == ".php") {
        found.push_back(NormalizePath(it->path().string()));
      }
    }
    std::sort(found.begin(), found.end());
    for (const auto& p : found) add(p);
  }
  return Status::Ok();
}

// The tool exits right after Run: the big structures (hundreds of thousands
// of small allocations) are parked here, where leak checkers still see them,
// instead of being freed one by one, which cost about a tenth of the run.
template <typename T>
T& KeepUntilExit(T&& value) {
  static auto* kept = new std::vector<std::shared_ptr<void>>();
  auto p = std::make_shared<std::decay_t<T>>(std::forward<T>(value));
  kept->push_back(p);
  return *p;
}

// Reads the files one scanning thread is given, with the same limit and
// messages as ReadFileToString but cheaper per file: one buffer reused for
// every file, read into directly (no copy through a stack buffer, no
// allocation). (Opening files relative to a cached directory descriptor
// was tried: it saved no system time.)
class SourceReader {
 public:
  Status Read(const std::string& path, std::string_view* text) {
    static constexpr size_t kMaxBytes = 64UL * 1024 * 1024;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::Failed("cannot read " + path + ": " + ErrnoText(errno));
    size_t len = 0;
    for (;;) {
      if (len == cap_) Grow(len);
      ssize_t n = ::read(fd, buf_.get() + len, cap_ - len);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return Status::Failed("cannot read " + path + ": " + ErrnoText(err));
      }
      if (n == 0) break;
      len += static_cast<size_t>(n);
      if (len > kMaxBytes) {
        ::close(fd);
        return Status::Failed("cannot read " + path + ": larger than " + std::to_string(kMaxBytes) +
                              " bytes");
      }
    }
    ::close(fd);
    *text = std::string_view(buf_.get(), len);
    return Status::Ok();
  }

 private:
  void Grow(size_t keep) {
    size_t cap = cap_ == 0 ? 256UL * 1024 : cap_ * 2;
    std::unique_ptr<char[]> bigger(new char[cap]);
    if (keep > 0) std::memcpy(bigger.get(), buf_.get(), keep);
    buf_ = std::move(bigger);
    cap_ = cap;
  }

  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
};

// Reads and scans every file on `jobs` threads, which take a few files at a
// time.
Status ScanAll(std::vector<SourceFile>* files, int jobs) {
  static constexpr size_t kBatch = 8;
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  auto work = [&] {
    SourceReader reader;
    while (!stop.load()) {
      size_t first = next.fetch_add(kBatch);
      if (first >= files->size()) return;
      size_t last = std::min(files->size(), first + kBatch);
      for (size_t i = first; i < last; ++i) {
        if (signals::StopRequested()) {
          stop = true;
          return;
        }
        SourceFile& f = (*files)[i];
        std::string_view text;
        Status st = reader.Read(f.path, &text);
        if (!st.ok()) {
          f.info.error = "unreadable: " + st.message();
          continue;
        }
        f.size = text.size();
        f.info = ScanPhp(text);
      }
    }
  };
  jobs = std::max(1, std::min(jobs, 16));
  std::vector<std::thread> threads;
  for (int t = 1; t < jobs; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
  return Status::Ok();
}

struct HotScript {
  std::string path;
  uint64_t hits = 0;
  uint64_t memory = 0;
  int64_t last_used = 0;
};

Status ReadOpcacheStatus(const std::string& path, std::vector<HotScript>* out) {
  std::string text;
  Status st = ReadFileToString(path, &text);
  if (!st.ok()) return Status::Usage("--opcache-status " + path + ": " + st.message());
  nlohmann::json doc;
  st = ParseJson(text, &doc);
  if (!st.ok()) return Status::Usage("--opcache-status " + path + ": " + st.message());
  if (!doc.is_object() || !doc.contains("scripts") || !doc["scripts"].is_object()) {
    return Status::Usage("--opcache-status " + path +
                         ": no \"scripts\" object (expected opcache_get_status(true) as JSON)");
  }
  for (auto& [key, v] : doc["scripts"].items()) {
    if (!v.is_object()) continue;
    HotScript h;
    h.path = v.value("full_path", key);
    h.hits = v.value("hits", uint64_t{0});
    h.memory = v.value("memory_consumption", uint64_t{0});
    h.last_used = v.value("last_used_timestamp", int64_t{0});
    out->push_back(std::move(h));
  }
  std::stable_sort(out->begin(), out->end(), [](const HotScript& a, const HotScript& b) {
    if (a.hits != b.hits) return a.hits > b.hits;
    return a.last_used > b.last_used;
  });
  return Status::Ok();
}

// Picks the most-used preloadable files within the budget, each with the
// files it depends on. Returns the chosen subset of `a.order`, in order.
// `*mem` holds each file's estimated memory and gets the measured figure
// of every file the status names.
std::vector<size_t> SelectHot(const std::vector<HotScript>& hot, const Analysis& a,
                              const std::vector<SourceFile>& files, uint64_t budget,
                              std::vector<uint64_t>* mem_io, std::map<size_t, Exclusion>* dropped) {
  std::vector<bool> in_order(files.size(), false);
  for (size_t i : a.order) in_order[i] = true;
  std::unordered_map<std::string, size_t> by_rel, by_path;
  for (size_t i = 0; i < files.size(); ++i) {
    by_path[files[i].path] = i;
    by_rel[files[i].rel] = i;
  }
  std::vector<uint64_t>& mem = *mem_io;
  auto find = [&](const std::string& p) -> long {
    auto it = by_path.find(p);
    if (it != by_path.end()) return static_cast<long>(it->second);
    // A production pod's paths differ in prefix: match the longest tail.
    for (size_t s = p.find('/'); s != std::string::npos; s = p.find('/', s + 1)) {
      auto r = by_rel.find(p.substr(s + 1));
      if (r != by_rel.end()) return static_cast<long>(r->second);
    }
    return -1;
  };
  for (const HotScript& h : hot) {
    long i = find(h.path);
    if (i >= 0 && h.memory > 0) mem[i] = h.memory;
  }
  std::vector<bool> chosen(files.size(), false);
  uint64_t used = 0;
  for (const HotScript& h : hot) {
    long i = find(h.path);
    if (i < 0 || !in_order[i] || chosen[i]) continue;
    std::vector<size_t> closure, todo = {static_cast<size_t>(i)};
    std::unordered_set<size_t> seen;
    uint64_t need = 0;
    while (!todo.empty()) {
      size_t f = todo.back();
      todo.pop_back();
      if (chosen[f] || !seen.insert(f).second) continue;
      closure.push_back(f);
      need += mem[f];
      for (size_t d : a.deps[f]) todo.push_back(d);
    }
    if (used + need > budget) continue;
    used += need;
    for (size_t f : closure) chosen[f] = true;
  }
  std::vector<size_t> out;
  for (size_t i : a.order) {
    if (chosen[i]) {
      out.push_back(i);
    } else {
      dropped->emplace(
          i, Exclusion{"not-hot", "not among the most-used files within --memory-budget"});
    }
  }
  return out;
}

}  // namespace

Status RunFromConfig(const Config& config) {
  Options options;
  INITKIT_RETURN_IF_ERROR(OptionsFromConfig(config, &options));
  RunSummary summary;
  INITKIT_RETURN_IF_ERROR(Run(options, &summary));
  log::Info("preload list written",
            {{"output", options.output},
             {"files", static_cast<unsigned long>(summary.preloaded_files)},
             {"classes", static_cast<unsigned long>(summary.preloaded_classes)},
             {"left_out", static_cast<unsigned long>(summary.excluded_files)},
             {"estimated_bytes", static_cast<unsigned long long>(summary.estimated_bytes)}});
  return Status::Ok();
}

bool GlobMatch(const std::string& glob, const std::string& rel) {
  // The one matcher bootstrap uses too, so a pattern means the same in both.
  return ExcludeSet({glob}).MatchesPathOrParent(rel);
}

Status Run(const Options& opts, RunSummary* summary) {
  auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  if (opts.app_dir.empty()) return Status::Usage("--app-dir is required");
  std::string app = fs::absolute(opts.app_dir, ec).string();
  app = NormalizePath(app);
  if (!fs::is_directory(app, ec)) {
    return Status::Usage("--app-dir " + opts.app_dir + ": not a directory");
  }

  BuiltinClasses builtins = BuiltinClasses::Default();
  if (!opts.php_classes.empty()) {
    std::string text;
    Status st = ReadFileToString(opts.php_classes, &text);
    if (!st.ok()) return Status::Usage("--php-classes " + opts.php_classes + ": " + st.message());
    INITKIT_RETURN_IF_ERROR(builtins.LoadOverride(text, opts.php_classes));
  }
  std::vector<HotScript> hot;
  if (!opts.opcache_status.empty()) {
    INITKIT_RETURN_IF_ERROR(ReadOpcacheStatus(opts.opcache_status, &hot));
  }

  Candidates& cand = KeepUntilExit(Candidates());
  INITKIT_RETURN_IF_ERROR(CollectCandidates(opts, app, &cand));
  std::vector<SourceFile>& files = cand.files;
  INITKIT_RETURN_IF_ERROR(ScanAll(&files, opts.jobs));
  auto t_scan = std::chrono::steady_clock::now();

  // CodeIgniter 3 classes by name, wherever they live.
  std::map<size_t, Exclusion> forced;
  for (size_t i = 0; i < files.size(); ++i) {
    for (const PhpClass& c : files[i].info.classes) {
      if (c.name.rfind("CI_", 0) == 0) {
        forced[i] = {"codeigniter3", c.name +
                                         " is a CodeIgniter 3 class (load_class() relies on "
                                         "require_once side effects)"};
      }
    }
  }

  std::string output = Absolute(app, opts.output);
  std::string out_dir = output.substr(0, output.find_last_of('/'));
  if (out_dir.empty()) out_dir = "/";
  std::string report =
      opts.report.empty() ? out_dir + "/preload-report.json" : Absolute(app, opts.report);
  for (const std::string& path : {output, report}) {
    if (path.empty()) continue;
    std::string dir = path.substr(0, path.find_last_of('/'));
    if (!dir.empty() && !fs::is_directory(dir, ec) && !fs::create_directories(dir, ec) && ec) {
      return Status::Failed("cannot create the directory of " + path + ": " + ec.message());
    }
    // A run killed mid-write leaves its ".preload.php.tmp-XXXX"; without
    // this every killed run would add one to the app directory for good.
    std::string base = path.substr(path.find_last_of('/') + 1);
    INITKIT_RETURN_IF_ERROR(RemoveStaleTempFiles(dir.empty() ? "/" : dir, base));
  }
  // Analyze again in --verify-with rounds, whose analyses are freed.
  Analysis& a = KeepUntilExit(opts.verify_with.empty() ? AnalyzeForExit(files, builtins, forced)
                                                       : Analyze(files, builtins, forced));
  auto t_analyze = std::chrono::steady_clock::now();
  VerifyReport verify;
  if (!opts.verify_with.empty()) {
    VerifyInput in;
    in.php = opts.verify_with;
    in.time_limit = opts.verify_timeout;
    in.max_rounds = opts.verify_rounds;
    INITKIT_RETURN_IF_ERROR(VerifyWithPhp(in, &files, builtins, &forced, &a, &verify));
  }
  int rounds = verify.rounds;

  std::vector<size_t> order = a.order;
  std::map<size_t, Exclusion> not_hot;
  // OPcache memory per file: measured in hot mode, else estimated.
  std::vector<uint64_t> mem(files.size(), 0);
  for (size_t i = 0; i < files.size(); ++i) {
    mem[i] = static_cast<uint64_t>(static_cast<double>(files[i].size) * kMemoryPerSourceByte);
  }
  if (!opts.opcache_status.empty()) {
    order = SelectHot(hot, a, files, opts.memory_budget, &mem, &not_hot);
  }
  std::vector<bool> chosen(files.size(), false);
  for (size_t i : order) chosen[i] = true;
  size_t classes = 0;
  uint64_t est = 0;
  for (size_t i : order) {
    for (const PhpClass& c : files[i].info.classes) {
      classes += !c.conditional && !c.anonymous;  // what PHP's preload statistics count
    }
    est += mem[i];
  }

  // preload.php is written (two fsyncs) while the report is put together
  // and written (two more): on a disk the syncs are most of this part.
  // Both are atomic; a failure of either fails the run.
  std::string text = RenderPreload(files, order, out_dir, opts.absolute_paths, classes);
  Status output_st;
  std::thread output_writer([&] { output_st = WriteFileAtomic(output, text, 0644); });
  struct Joiner {
    std::thread& t;
    ~Joiner() {
      if (t.joinable()) t.join();
    }
  } join_output{output_writer};

  summary->candidate_files = files.size();
  summary->preloaded_files = order.size();
  summary->preloaded_classes = classes;
  summary->excluded_files = files.size() - order.size() + cand.pattern_excluded.size();
  summary->estimated_bytes = est;
  summary->verify_rounds = rounds;

  Status report_st;
  {
    std::map<std::string, size_t> by_reason;
    if (!cand.pattern_excluded.empty()) {
      by_reason["excluded-by-pattern"] += cand.pattern_excluded.size();
    }
    for (size_t i = 0; i < files.size(); ++i) {
      if (chosen[i]) continue;
      ++by_reason[a.excluded[i].reason.empty() ? not_hot[i].reason : a.excluded[i].reason];
    }
    // Keys in sorted order: the layout nlohmann::json's dump(1) gave.
    JsonWriter w;
    w.BeginObject();
    auto t_end = std::chrono::steady_clock::now();
    w.Key("analysis_seconds");
    w.Double(std::chrono::duration<double>(t_analyze - t_scan).count());
    w.Key("app_dir");
    w.String(app);
    w.Key("counts");
    w.BeginObject();
    w.Key("candidate_files");
    w.Uint(files.size() + cand.pattern_excluded.size());
    w.Key("excluded_by_reason");
    w.BeginObject();
    for (const auto& [reason, n] : by_reason) {
      w.Key(reason);
      w.Uint(n);
    }
    w.EndObject();
    w.Key("excluded_files");
    w.Uint(summary->excluded_files);
    w.Key("preloaded_classes");
    w.Uint(classes);
    w.Key("preloaded_files");
    w.Uint(order.size());
    w.EndObject();
    w.Key("estimated_memory_bytes");
    w.Uint(est);
    w.Key("excluded");
    w.BeginArray();
    for (const auto& [rel, why] : cand.pattern_excluded) {
      w.BeginObject();
      w.Key("detail");
      w.String(why);
      w.Key("file");
      w.String(rel);
      w.Key("reason");
      w.String("excluded-by-pattern");
      w.EndObject();
    }
    for (size_t i = 0; i < files.size(); ++i) {
      if (chosen[i]) continue;
      const Exclusion& ex = a.excluded[i].reason.empty() ? not_hot[i] : a.excluded[i];
      w.BeginObject();
      w.Key("classes");
      w.BeginArray();
      for (const PhpClass& c : files[i].info.classes) {
        if (!c.anonymous) w.String(c.name);
      }
      w.EndArray();
      w.Key("detail");
      w.String(ex.detail);
      w.Key("file");
      w.String(files[i].rel);
      w.Key("reason");
      w.String(ex.reason);
      w.EndObject();
    }
    w.EndArray();
    w.Key("included");
    w.BeginArray();
    for (size_t i : order) {
      w.BeginObject();
      w.Key("classes");
      w.BeginArray();
      for (const PhpClass& c : files[i].info.classes) {
        if (!c.anonymous && !c.conditional) w.String(c.name);
      }
      w.EndArray();
      w.Key("file");
      w.String(files[i].rel);
      if (!files[i].info.notes.empty()) {
        w.Key("notes");
        w.StringArray(files[i].info.notes);
      }
      w.EndObject();
    }
    w.EndArray();
    w.Key("output");
    w.String(output);
    w.Key("scan_seconds");
    w.Double(std::chrono::duration<double>(t_scan - t0).count());
    w.Key("seconds");
    w.Double(std::chrono::duration<double>(t_end - t0).count());
    w.Key("tool");
    w.String("initkit-preload");
    w.Key("verify_rounds");
    w.Int(rounds);
    if (!opts.verify_with.empty()) {
      w.Key("verify");
      w.BeginObject();
      w.Key("max_rounds");
      w.Int(verify.max_rounds);
      w.Key("max_seconds");
      w.Double(verify.max_seconds);
      w.Key("notes");
      w.StringArray(verify.notes);
      w.Key("php");
      w.String(opts.verify_with);
      w.Key("php_runs");
      w.Int(verify.php_runs);
      w.Key("rounds");
      w.Int(verify.rounds);
      w.Key("seconds");
      w.Double(verify.seconds);
      w.EndObject();
    }
    w.Key("version");
    w.String(INITKIT_VERSION);
    w.EndObject();
    std::string doc = w.Take();
    doc += '\n';
    report_st = WriteFileAtomic(report, doc, 0644);
  }
  output_writer.join();
  INITKIT_RETURN_IF_ERROR(output_st);
  return report_st;
}

}  // namespace initkit::preload
