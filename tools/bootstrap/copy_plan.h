// CopyPlan: what the copy will do, from one parallel walk of both trees.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/glob.h"
#include "common/status.h"
#include "tools/bootstrap/fs_util.h"
#include "tools/bootstrap/options.h"

namespace initkit::bootstrap {

/// What a name is, in the source or the destination.
enum class Kind : uint8_t { kNone, kFile, kDir, kSymlink, kOther };

/// What the copy does with one source entry.
enum class Action : uint8_t {
  kKeep,     // destination already equal (maybe fix_mode / fix_owner)
  kCreate,   // destination has no such name
  kReplace,  // destination has something else there: remove it, then create
};

struct DirNode;

/// One source entry and the decision about it.
struct Entry {
  std::string name;
  Kind kind = Kind::kNone;
  Kind dst_kind = Kind::kNone;
  Action action = Action::kKeep;
  bool fix_mode = false;   // kKeep only: chmod to `mode`
  bool fix_owner = false;  // kKeep only: chown to the --owner
  // Dirs: the destination may hold this name; the child's scan opens it and
  // sets action (and fix_*) from what it finds.
  bool probe_dst = false;
  mode_t mode = 0;  // target mode
  uint64_t size = 0;
  // Files with fewer blocks than their size (st_blocks): may have holes,
  // copied extent by extent so the holes stay holes.
  bool sparse = false;
  struct timespec atime {};
  struct timespec mtime {};
  std::string link_target;         // symlinks
  std::unique_ptr<DirNode> child;  // directories
  uint64_t blocks = 0;             // what this entry added to PlanTotals::blocks_needed
  ino_t dst_ino = 0;               // the destination file's inode, when there is one
  // Files only: the relative path of the entry this one is a hard link of
  // in the source. Such an entry is not copied: the copy links it after
  // the data is in place (CopyPlan::links), or keeps it when the
  // destination already holds that link.
  std::string hardlink_of;
};

/// A destination name the source no longer has, to remove with --delete.
struct Deletion {
  std::string name;
  bool is_dir = false;
};

/// One directory of the source tree.
struct DirNode {
  std::string rel;  // relative to the roots, "" for the roots themselves
  std::vector<Entry> entries;
  std::vector<Deletion> deletions;
  bool dirty = false;  // this directory or a descendant has work to do
};

/// Counts over the whole plan.
struct PlanTotals {
  uint64_t files = 0;  // regular files in the (non-excluded) source
  uint64_t dirs = 0;
  uint64_t symlinks = 0;
  uint64_t bytes = 0;          // their total size
  uint64_t files_to_copy = 0;  // created or replaced
  uint64_t bytes_to_copy = 0;
  // Bytes the copy allocates: per file its data rounded up to 4 KiB (the
  // data extents of a sparse file, not its size), 4 KiB per other entry.
  uint64_t blocks_needed = 0;
  uint64_t new_entries = 0;  // inodes the copy creates
  uint64_t unchanged = 0;    // files and symlinks left alone
  uint64_t meta_fixes = 0;   // chmod/chown of kept entries
  uint64_t deletions = 0;    // top-level names to delete (a tree counts once)
  uint64_t specials = 0;     // FIFOs, sockets, devices skipped
  uint64_t excluded = 0;
  uint64_t hardlinks = 0;  // names linked to another copied file instead of copied
};

/// A name to (re)create as a hard link of another file of the copy.
struct HardLink {
  std::string target;    // relative path of the file linked to (copied first)
  std::string name;      // relative path of the new link
  bool replace = false;  // something is in the way at `name`: remove it first
};

/// The complete plan: a tree of DirNodes mirroring the source.
struct CopyPlan {
  CopyPlan() = default;
  CopyPlan(const CopyPlan&) = delete;
  CopyPlan& operator=(const CopyPlan&) = delete;
  /// Frees the tree without recursion: a source may be thousands deep.
  ~CopyPlan();
  DirNode root;
  PlanTotals totals;
  /// Hard links to make once the files are copied, in path order.
  std::vector<HardLink> links;
};

/// Walks the source (open directory `src_root`) and, when it exists
/// (`dst_root` >= 0), the destination in parallel and decides for every
/// entry what to do. Files hard-linked together in the source (st_nlink > 1,
/// same inode) are copied once, as the first of them in path order; the
/// others become HardLinks of it, as `cp -a` keeps them. Reads only. `protect` holds destination
/// paths that
/// --delete must keep (--mkdir dirs and their parents); the marker is kept
/// and never copied. Fails (kFailed) on an unreadable source entry, and
/// with Interrupted on a stop signal.
Status BuildPlan(const Options& opt, int src_root, int dst_root, CopyPlan* plan);

/// True when --delete must keep the destination path `rel`: a --mkdir
/// directory, anything under one, or one of its parents.
bool IsProtected(const std::vector<std::string>& mkdirs, std::string_view rel);

}  // namespace initkit::bootstrap
