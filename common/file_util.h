// File helpers: atomic writes and bounded reads.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace initkit {

/// Writes `content` to `path` so that readers see the old file or the whole
/// new one, never a part: temp file in the same directory created with
/// `mode`, fsync, rename, fsync of the directory. On error the temp file is
/// removed and the status names the path and errno text.
Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode);

/// Removes the ".NAME.tmp-XXXX" regular files WriteFileAtomic leaves in
/// `dir` when a run is killed between creating and renaming one (only those
/// of NAME == `only` when it is not empty). They never hold the only copy of
/// anything: the rename had not happened. A missing `dir` is not an error.
Status RemoveStaleTempFiles(const std::string& dir, const std::string& only = "");

/// Reads at most `max_bytes` of `path` (more is an error).
Status ReadFileToString(const std::string& path, std::string* out,
                        std::size_t max_bytes = 64UL * 1024 * 1024);

/// "strerror(errno)" as a string, thread-safe.
std::string ErrnoText(int err);

}  // namespace initkit
