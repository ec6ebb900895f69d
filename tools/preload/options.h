// initkit-preload's flag table and the typed options parsed from it once.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace initkit::preload {

/// Everything a run needs, validated.
struct Options {
  std::string app_dir;
  std::string vendor_dir = "vendor";   // relative to app_dir unless absolute
  std::vector<std::string> psr4_dirs;  // extra/explicit PSR-4 dirs (relative to app_dir)
  std::vector<std::string> excludes;   // globs on paths relative to app_dir
  std::string output = "preload.php";  // relative to app_dir unless absolute
  std::string report;  // "" = preload-report.json beside the output; else relative to app_dir
  bool absolute_paths = false;
  std::string php_classes;     // file overriding the built-in class table
  std::string opcache_status;  // hot mode: opcache_get_status(true) JSON
  uint64_t memory_budget = 64ull << 20;
  std::string verify_with;  // PHP binary for the optional verification loop
  std::chrono::milliseconds verify_timeout{std::chrono::minutes(10)};  // the whole loop
  int verify_rounds = 20;                                              // lists PHP judges
  int jobs = 2;
};

/// The flag table of initkit-preload.
ToolSpec PreloadToolSpec();

/// Reads and validates the parsed flags into *o (--jobs 0 becomes one per
/// CPU, at most 8). Bad values are Usage errors naming the flag.
Status OptionsFromConfig(const Config& c, Options* o);

/// "64M", "512K", "1G", "1048576" -> bytes. Usage error naming `flag`.
Status ParseByteSize(const std::string& text, const std::string& flag, uint64_t* out);

}  // namespace initkit::preload
