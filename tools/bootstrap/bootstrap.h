// Bootstrap: one complete initkit-bootstrap run (marker, plan, copy, mkdirs).
#pragma once

#include <cstdint>
#include <ostream>

#include "common/config.h"
#include "common/status.h"
#include "tools/bootstrap/options.h"

namespace initkit::bootstrap {

/// What a run did, for the summary record and the marker.
struct RunSummary {
  uint64_t files = 0;  // regular files in the source (copied + unchanged)
  uint64_t files_copied = 0;
  uint64_t files_skipped = 0;  // unchanged files and symlinks
  uint64_t symlinks = 0;
  uint64_t dirs = 0;
  uint64_t deleted = 0;
  uint64_t bytes = 0;  // total size of the source files
  uint64_t bytes_copied = 0;
  uint64_t specials_skipped = 0;
  uint64_t hardlinks = 0;  // names linked to another copied file (CopyPlan::links)
  uint64_t excluded = 0;
  double seconds = 0;
};

/// Runs the copy described by `opt`: removes the marker, plans, checks the
/// free space (statvfs), copies, creates --mkdir directories, then writes
/// the marker atomically. With dry_run, prints the plan to `dry_out` and
/// changes nothing. A missing or unreadable --from is a Usage error; any
/// failure while writing is Failed naming the path; a stop signal is
/// Interrupted. No marker exists unless the whole run succeeded.
Status Run(const Options& opt, std::ostream& dry_out, RunSummary* summary);

/// initkit-bootstrap's work from its parsed flags (BootstrapToolSpec):
/// OptionsFromConfig, Run with the dry-run plan on stdout, then one
/// "copy complete" record. What main() hands to ToolMain.
Status RunFromConfig(const Config& config);

}  // namespace initkit::bootstrap
