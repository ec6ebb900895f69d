// Helpers for the bootstrap tests: build trees, snapshot them, run copies.
#pragma once

#include <fcntl.h>
#include <ftw.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/fakes/test_util.h"
#include "tools/bootstrap/bootstrap.h"
#include "tools/bootstrap/options.h"

namespace initkit::bootstrap::testhelp {

/// What a test compares about one path.
struct Node {
  mode_t mode = 0;  // with type bits
  ino_t ino = 0;
  off_t size = 0;
  struct timespec mtime {};
  struct timespec ctime {};
  uid_t uid = 0;
  gid_t gid = 0;
  std::string link;
};

inline bool SameTime(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/// Every path under `root` (relative, "" excluded) with its lstat data.
inline std::map<std::string, Node> Snapshot(const std::string& root) {
  static std::map<std::string, Node>* out;
  static size_t prefix;
  std::map<std::string, Node> result;
  out = &result;
  prefix = root.size() + 1;
  nftw(
      root.c_str(),
      [](const char* path, const struct stat* st, int, struct FTW*) {
        std::string p(path);
        if (p.size() < prefix) return 0;
        Node n;
        n.mode = st->st_mode;
        n.ino = st->st_ino;
        n.size = st->st_size;
        n.mtime = st->st_mtim;
        n.ctime = st->st_ctim;
        n.uid = st->st_uid;
        n.gid = st->st_gid;
        if (S_ISLNK(st->st_mode)) {
          char buf[4096];
          ssize_t k = readlink(path, buf, sizeof buf);
          if (k > 0) n.link.assign(buf, static_cast<size_t>(k));
        }
        (*out)[p.substr(prefix)] = n;
        return 0;
      },
      64, FTW_PHYS);
  return result;
}

inline void Mkdir(const std::string& path, mode_t mode = 0755) {
  ASSERT_EQ(mkdir(path.c_str(), mode), 0) << path;
  ASSERT_EQ(chmod(path.c_str(), mode), 0) << path;
}

inline void Symlink(const std::string& target, const std::string& path) {
  ASSERT_EQ(symlink(target.c_str(), path.c_str()), 0) << path;
}

inline void SetMtime(const std::string& path, time_t sec, long nsec) {
  struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << path;
}

inline bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

inline mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode;
}

/// Options for an in-process copy.
inline Options MakeOptions(const std::string& from, const std::string& to) {
  Options o;
  o.from = from;
  o.to = to;
  o.jobs = 2;
  return o;
}

/// Runs a copy in-process; dry-run output goes to *out when given.
inline Status Copy(const Options& o, RunSummary* summary = nullptr, std::string* out = nullptr) {
  RunSummary s;
  std::ostringstream os;
  Status st = Run(o, os, summary ? summary : &s);
  if (out) *out = os.str();
  return st;
}

/// A tmpfs mounted on `dir` for the life of the object; ok() false when
/// this process may not mount (then tests skip).
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, const std::string& options, unsigned long flags = 0)
      : dir_(dir) {
    mounted_ = mount("tmpfs", dir.c_str(), "tmpfs", flags, options.c_str()) == 0;
    if (!mounted_) error_ = errno;
  }
  ~TmpfsMount() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  bool ok() const { return mounted_; }
  int error() const { return error_; }
  /// Remounts read-only.
  bool MakeReadOnly() {
    return mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0;
  }

 private:
  std::string dir_;
  bool mounted_ = false;
  int error_ = 0;
};

}  // namespace initkit::bootstrap::testhelp
