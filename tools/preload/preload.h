// initkit-preload: computes an OPcache preload list statically, with reasons.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "tools/preload/analysis.h"
#include "tools/preload/options.h"

namespace initkit::preload {

/// What a run produced (for tests and the log line).
struct RunSummary {
  size_t candidate_files = 0;
  size_t preloaded_files = 0;
  size_t preloaded_classes = 0;
  size_t excluded_files = 0;
  uint64_t estimated_bytes = 0;
  int verify_rounds = 0;
};

/// Reads the Composer maps and PSR-4 directories under opts.app_dir, scans
/// every candidate file, decides what PHP can preload and writes
/// opts.output (atomically) and opts.report. Usage errors name the input;
/// write failures are Failed statuses naming the path.
Status Run(const Options& opts, RunSummary* summary);

/// The tool's work from parsed flags (ToolMain's run): OptionsFromConfig,
/// Run, and the closing "preload list written" record.
Status RunFromConfig(const Config& config);

/// Whether `rel` (a file path relative to the app dir) is excluded by the
/// --exclude `glob`: the file or a directory above it matches, by the rules
/// of common/glob.h (as initkit-bootstrap's --exclude; '*' stays in one
/// segment, `**` crosses, a trailing '/' means a directory).
bool GlobMatch(const std::string& glob, const std::string& rel);

}  // namespace initkit::preload
