// Options: what one initkit-bootstrap run is asked to do.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace initkit::bootstrap {

/// The validated settings of a copy (flags after parsing).
struct Options {
  std::string from;
  std::string to;
  mode_t dir_mode = 0755;
  mode_t file_mode = 0644;
  bool keep_exec = true;
  bool preserve_modes = false;
  std::vector<std::string> mkdirs;  // relative to `to`
  std::optional<uid_t> uid;         // --owner
  std::optional<gid_t> gid;
  std::vector<std::string> excludes;
  bool delete_extra = false;  // --delete
  std::string marker = ".initkit-ready";
  int jobs = 0;  // 0 = number of CPUs
  bool dry_run = false;
  std::chrono::milliseconds progress_interval{5000};
  // Not a flag: tests force the data copy fallbacks (DataCopier::method()).
  int copy_method = -1;
};

/// The flag table of initkit-bootstrap (docs/reference/initkit-bootstrap.md).
ToolSpec BootstrapToolSpec();

/// Reads and validates the parsed flags into *out. Bad values are Usage
/// errors naming the flag.
Status OptionsFromConfig(const Config& config, Options* out);

/// Parses an octal mode such as "0755" or "644" (at most 07777). Errors are
/// Usage statuses naming `flag`.
Status ParseMode(const std::string& flag, const std::string& text, mode_t* out);

/// Parses "UID:GID" (numeric; a FROM-scratch image has no user database).
Status ParseOwner(const std::string& text, uid_t* uid, gid_t* gid);

/// Checks a --mkdir value: relative, no "." / ".." / empty segments.
/// Returns the normalised path (duplicate and trailing slashes removed).
Status NormaliseRelPath(const std::string& flag, const std::string& text, std::string* out);

/// Checks a --marker name: one path segment, not "." or "..".
Status CheckMarkerName(const std::string& text);

/// The mode a copied entry gets: directories `dir_mode`, files `file_mode`
/// plus, with keep_exec, the execute bits its read bits allow when the
/// source had any execute bit; with preserve_modes the source's own bits.
mode_t TargetMode(const Options& opt, mode_t src_mode);

/// Number of CPUs this process may run on (at least 1).
int DefaultJobs();

}  // namespace initkit::bootstrap
