#include "tools/preload/options.h"

#include <algorithm>
#include <thread>

namespace initkit::preload {

ToolSpec PreloadToolSpec() {
  ToolSpec s;
  s.name = "initkit-preload";
  s.summary =
      "Computes an opcache.preload script from Composer's autoload maps without running PHP: "
      "files whose classes PHP could not link, that declare classes conditionally, have "
      "top-level side effects or declare a class twice are left out, with reasons in the "
      "report. Relative paths are relative to --app-dir.";
  s.flags = {
      {.name = "app-dir",
       .help = "application root (holds composer.json)",
       .required = true,
       .value_name = "DIR"},
      {.name = "vendor-dir",
       .default_value = "vendor",
       .help = "Composer vendor directory",
       .value_name = "DIR"},
      {.name = "psr4-dir",
       .type = FlagType::kList,
       .help = "app PSR-4 directory to walk (repeatable; default: the non-vendor entries of "
               "autoload_psr4.php)",
       .value_name = "DIR"},
      {.name = "exclude",
       .type = FlagType::kList,
       .help = "leave out files whose app-relative path matches GLOB (repeatable; '*' stays in "
               "one segment, '**' crosses, a trailing '/' means everything below)",
       .value_name = "GLOB"},
      {.name = "output",
       .default_value = "preload.php",
       .help = "preload script to write",
       .value_name = "FILE"},
      {.name = "report",
       .default_value = "",
       .help = "JSON report to write: counts, included files, every file left out with its "
               "reason (default: preload-report.json beside --output)",
       .value_name = "FILE"},
      {.name = "absolute-paths",
       .type = FlagType::kBool,
       .default_value = "false",
       .help = "write absolute paths instead of paths relative to the script's __DIR__"},
      {.name = "php-classes",
       .default_value = "",
       .help = "the target PHP's built-in classes, one per line (replaces the shipped PHP "
               "8.2 table), e.g. from php -r 'echo implode(\"\\n\", array_merge("
               "get_declared_classes(), get_declared_interfaces(), get_declared_traits()));'",
       .value_name = "PATH"},
      {.name = "opcache-status",
       .default_value = "",
       .help = "hot mode: JSON of opcache_get_status(true) from a warmed pod; preload the "
               "most-hit files within --memory-budget",
       .value_name = "FILE"},
      {.name = "memory-budget",
       .default_value = "64M",
       .help = "hot mode: shared memory to fill (K, M, G)",
       .value_name = "SIZE"},
      {.name = "verify-with",
       .default_value = "",
       .help = "start this PHP with the list and drop each file it refuses (a fatal error or "
               "warning naming the file; one naming none is bisected) until it loads the list "
               "without either; Deprecated/Notice lines become notes in the report; the output "
               "is written only once PHP loaded it cleanly",
       .value_name = "PATH"},
      {.name = "verify-timeout",
       .type = FlagType::kDuration,
       .default_value = "10m",
       .help = "--verify-with: give up (exit 1, nothing written) after this long",
       .value_name = "DURATION"},
      {.name = "verify-rounds",
       .type = FlagType::kInt,
       .default_value = "20",
       .help = "--verify-with: give up (exit 1, nothing written) after PHP has judged this many "
               "lists",
       .value_name = "N"},
      {.name = "jobs",
       .type = FlagType::kInt,
       .default_value = "0",
       .help = "threads for scanning (0: one per CPU, at most 8)",
       .value_name = "N"},
  };
  return s;
}

Status OptionsFromConfig(const Config& c, Options* o) {
  o->app_dir = c.Get("app-dir");
  o->vendor_dir = c.Get("vendor-dir");
  o->psr4_dirs = c.GetList("psr4-dir");
  o->excludes = c.GetList("exclude");
  o->output = c.Get("output");
  o->report = c.Get("report");
  o->absolute_paths = c.GetBool("absolute-paths");
  o->php_classes = c.Get("php-classes");
  o->opcache_status = c.Get("opcache-status");
  o->verify_with = c.Get("verify-with");
  o->verify_timeout = c.GetDuration("verify-timeout");
  if (o->verify_timeout.count() <= 0) return Status::Usage("--verify-timeout must be positive");
  int64_t rounds = c.GetInt("verify-rounds");
  if (rounds < 1 || rounds > 1000) return Status::Usage("--verify-rounds must be 1 to 1000");
  o->verify_rounds = static_cast<int>(rounds);
  INITKIT_RETURN_IF_ERROR(
      ParseByteSize(c.Get("memory-budget"), "--memory-budget", &o->memory_budget));
  int64_t jobs = c.GetInt("jobs");
  if (jobs < 0) return Status::Usage("--jobs must be 0 or more");
  if (jobs == 0) jobs = std::min<int64_t>(8, std::max(1u, std::thread::hardware_concurrency()));
  o->jobs = static_cast<int>(std::min<int64_t>(jobs, 16));
  if (o->output.empty()) return Status::Usage("--output must not be empty");
  return Status::Ok();
}

Status ParseByteSize(const std::string& text, const std::string& flag, uint64_t* out) {
  if (text.empty()) return Status::Usage(flag + ": empty size");
  size_t n = 0;
  uint64_t v = 0;
  while (n < text.size() && text[n] >= '0' && text[n] <= '9') {
    v = v * 10 + static_cast<uint64_t>(text[n] - '0');
    if (v > (1ull << 50)) return Status::Usage(flag + " " + text + ": too large");
    ++n;
  }
  if (n == 0) return Status::Usage(flag + " " + text + ": expected a size like 64M");
  std::string unit = text.substr(n);
  if (unit == "" || unit == "B") {
  } else if (unit == "K" || unit == "k" || unit == "KB" || unit == "KiB") {
    v <<= 10;
  } else if (unit == "M" || unit == "m" || unit == "MB" || unit == "MiB") {
    v <<= 20;
  } else if (unit == "G" || unit == "g" || unit == "GB" || unit == "GiB") {
    v <<= 30;
  } else {
    return Status::Usage(flag + " " + text + ": unknown unit (use K, M or G)");
  }
  *out = v;
  return Status::Ok();
}

}  // namespace initkit::preload
