// Directory-fd based file system helpers for the copy engine.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace initkit::bootstrap {

/// One name of a directory as getdents64 reports it.
struct DirEntry {
  std::string name;
  unsigned char type;  // DT_*; DT_UNKNOWN on file systems that do not say
  ino_t ino;           // d_ino
};

/// Reads every name of the open directory `fd` except "." and "..".
/// errno-style failures come back as the errno value (0 on success).
int ReadDirEntries(int fd, std::vector<DirEntry>* out);

/// Two open directory fds (source, destination; -1 = none), closed when the
/// last task holding them ends.
struct DirFds {
  DirFds(int s, int d) : src(s), dst(d) {}
  ~DirFds();
  DirFds(const DirFds&) = delete;
  DirFds& operator=(const DirFds&) = delete;
  int src;
  int dst;
};

/// Grows this process's fd table to at least `slots` entries (fewer when the
/// hard RLIMIT_NOFILE is lower), raising the soft limit only while it does.
/// Call it while the process has one thread: the kernel grows the table of a
/// multi-threaded process only after an RCU grace period per doubling
/// (expand_fdtable() in fs/file.c), ~10 ms each on a 2-vCPU VM, which made a
/// copy that held thousands of directory fds 2-3x slower. A table never
/// shrinks, and the soft limit is back to what it was on return.
void ReserveFdTable(int slots);

/// Raises the soft RLIMIT_NOFILE to the hard limit for its lifetime (a walk
/// holds two fds per level of the tree, and a tree may be thousands deep);
/// the destructor restores the old limit, so `-- CMD` starts with the limit
/// the container gave.
class RaisedFdLimit {
 public:
  RaisedFdLimit();
  ~RaisedFdLimit();
  RaisedFdLimit(const RaisedFdLimit&) = delete;
  RaisedFdLimit& operator=(const RaisedFdLimit&) = delete;

 private:
  struct rlimit old_ {};
  bool raised_ = false;
};

/// What main reserves: the copy holds two fds per directory on the path
/// being walked plus a few per thread, far below this for an application
/// tree. Only a tree hundreds of levels deep grows the table further, which
/// is slower but still correct.
constexpr int kFdTableSlots = 1024;

/// The size of this process's fd table (FDSize in /proc/self/status), 0 when
/// it cannot be read.
int FdTableSize();

/// Removes `name` in directory `dirfd` whatever it is, recursively for a
/// directory, never following a symlink (a symlink itself is unlinked).
/// `display` is the path used in error messages. Adds removed entries to
/// *removed. ENOENT is success.
Status RemoveAt(int dirfd, const std::string& name, const std::string& display, uint64_t* removed);

/// Copies `size` bytes from `in` to `out` (both at offset 0):
/// copy_file_range, else sendfile, else read/write; remembers which one the
/// kernel refused so later files skip it. Stops early (Interrupted) when a
/// stop signal arrives between chunks. `display` names the destination.
class DataCopier {
 public:
  /// `method`: first method to try (see method()); -1 = copy_file_range.
  explicit DataCopier(int method = -1) : method_(method < 0 ? 0 : method) {}
  Status Copy(int in, int out, uint64_t size, const std::string& display);
  /// Copies a file with holes: only its data extents (SEEK_DATA/SEEK_HOLE),
  /// each to the same offset of `out`, then sets out's size to `size`, so
  /// the copy allocates what the source does, as `cp` does. copy_file_range
  /// alone would not: across file systems (image layer -> emptyDir) and on
  /// tmpfs it writes the holes out as zeros. Falls back to Copy when the
  /// source's file system cannot report holes.
  Status CopySparse(int in, int out, uint64_t size, const std::string& display);
  /// 0 = copy_file_range, 1 = sendfile, 2 = read/write (for tests/logs).
  int method() const { return method_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int> method_{0};
};

/// `path` made safe for one log line or dry-run line: bytes outside
/// printable ASCII and backslashes become \n, \t, \\ or \xNN.
std::string DisplayPath(std::string_view path);

/// "a/b" + "c" -> "a/b/c"; "" + "c" -> "c".
std::string JoinRel(std::string_view dir, std::string_view name);

}  // namespace initkit::bootstrap
