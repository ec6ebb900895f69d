// TreeCopier: carries out a CopyPlan with a pool of threads.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/status.h"
#include "tools/bootstrap/copy_plan.h"
#include "tools/bootstrap/fs_util.h"
#include "tools/bootstrap/options.h"

namespace initkit::bootstrap {

/// Live counters of a copy, read by the progress reporter while it runs.
struct CopyStats {
  std::atomic<uint64_t> files_copied{0};
  std::atomic<uint64_t> bytes_copied{0};
  std::atomic<uint64_t> symlinks_created{0};
  std::atomic<uint64_t> dirs_created{0};
  std::atomic<uint64_t> deleted{0};     // entries removed (a tree counts each entry)
  std::atomic<uint64_t> meta_fixed{0};  // chmod/chown of kept entries
  std::atomic<uint64_t> hardlinks{0};   // names linked (CopyPlan::links)
};

/// Applies `plan` (from BuildPlan on the same roots) to the destination
/// directory `dst_root`, reading from `src_root`. Every destination access
/// is an *at call under a directory fd opened with O_NOFOLLOW, so a symlink
/// in the destination is replaced, never followed. Stops at the first error
/// (a Failed status naming the path and the reason) or stop signal
/// (Interrupted). Subtrees without work are not visited. The plan's hard
/// links are made last, once every file they point to is in place, under
/// directory fds opened segment by segment with O_NOFOLLOW.
Status ExecutePlan(const Options& opt, const CopyPlan& plan, int src_root, int dst_root,
                   CopyStats* stats);

}  // namespace initkit::bootstrap
