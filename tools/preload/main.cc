// initkit-preload: writes an OPcache preload list PHP loads without warnings.
#include <malloc.h>

#include <thread>

#include "common/config.h"
#include "common/log.h"
#include "common/signals.h"
#include "tools/preload/preload.h"

namespace {

initkit::ToolSpec Spec() {
  using initkit::FlagType;
  initkit::ToolSpec s;
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
       .value_name = "FILE"},
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
       .help = "run this PHP with the result and drop what it still refuses, until it is silent",
       .value_name = "PHP_BINARY"},
      {.name = "jobs",
       .type = FlagType::kInt,
       .default_value = "0",
       .help = "threads for scanning (0: one per CPU, at most 8)",
       .value_name = "N"},
  };
  return s;
}

initkit::Status OptionsFromConfig(const initkit::Config& c, initkit::preload::Options* o) {
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
  INITKIT_RETURN_IF_ERROR(initkit::preload::ParseByteSize(c.Get("memory-budget"), "--memory-budget",
                                                          &o->memory_budget));
  int64_t jobs = c.GetInt("jobs");
  if (jobs < 0) return initkit::Status::Usage("--jobs must be 0 or more");
  if (jobs == 0) jobs = std::min<int64_t>(8, std::max(1u, std::thread::hardware_concurrency()));
  o->jobs = static_cast<int>(std::min<int64_t>(jobs, 16));
  if (o->output.empty()) return initkit::Status::Usage("--output must not be empty");
  return initkit::Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  // The scan builds ~50 MB of small objects on two threads; glibc grows a
  // thread's heap a little at a time (about 2,000 mprotect calls on the
  // fixture app). Growing it 8 MB at a time costs no memory until touched.
  mallopt(M_TOP_PAD, 8 << 20);
  initkit::signals::Install();
  initkit::Config config;
  if (int code = initkit::ParseAndInit(Spec(), argc, argv, &config); code >= 0) return code;

  initkit::preload::Options options;
  initkit::preload::RunSummary summary;
  initkit::Status st = OptionsFromConfig(config, &options);
  if (st.ok()) st = initkit::preload::Run(options, &summary);
  if (!st.ok()) {
    initkit::log::Error(st.message(), {{"exit_code", st.ExitCode()}});
    return st.ExitCode();
  }
  initkit::log::Info(
      "preload list written",
      {{"output", options.output},
       {"files", static_cast<unsigned long>(summary.preloaded_files)},
       {"classes", static_cast<unsigned long>(summary.preloaded_classes)},
       {"left_out", static_cast<unsigned long>(summary.excluded_files)},
       {"estimated_bytes", static_cast<unsigned long long>(summary.estimated_bytes)}});
  return 0;
}
