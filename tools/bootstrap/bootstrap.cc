#include "tools/bootstrap/bootstrap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/signals.h"
#include "tools/bootstrap/copy_plan.h"
#include "tools/bootstrap/fs_util.h"
#include "tools/bootstrap/tree_copier.h"

namespace initkit::bootstrap {
namespace {

constexpr int kDirOpenFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// Closes an fd at scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// Sets the umask to 0 for the run, so created entries get exactly the modes
// the flags ask for without a chmod per entry.
struct UmaskZero {
  mode_t old = umask(0);
  ~UmaskZero() { umask(old); }
};

std::string Octal(mode_t m) {
  char buf[16];
  (void)std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m));
  return buf;
}

Status OpenSource(const Options& opt, int* fd) {
  *fd = open(opt.from.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*fd < 0) {
    int err = errno;
    return Status::Usage("--from " + DisplayPath(opt.from) + ": " +
                         (err == ENOTDIR ? std::string("not a directory") : ErrnoText(err)));
  }
  return Status::Ok();
}

// Opens --to, creating it (and missing parents, with --dir-mode and the
// --owner) unless dry_run. *fd stays -1 when it does not exist in a dry run.
// An --to that exists is left as it is (see README: an emptyDir's owner and
// mode belong to the kubelet and the pod's fsGroup).
Status OpenDestination(const Options& opt, int* fd) {
  *fd = open(opt.to.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*fd >= 0) return Status::Ok();
  int err = errno;
  if (err == ENOTDIR) return Status::Usage("--to " + DisplayPath(opt.to) + ": not a directory");
  if (err != ENOENT) {
    return Status::Failed("cannot open --to " + DisplayPath(opt.to) + ": " + ErrnoText(err));
  }
  if (opt.dry_run) return Status::Ok();
  for (size_t pos = 1; pos <= opt.to.size(); ++pos) {
    if (pos != opt.to.size() && opt.to[pos] != '/') continue;
    std::string prefix = opt.to.substr(0, pos);
    if (mkdir(prefix.c_str(), opt.dir_mode) != 0) {
      if (errno == EEXIST) continue;
      return Status::Failed("cannot create --to " + DisplayPath(prefix) + ": " + ErrnoText(errno));
    }
    // Just created by us, so no symlink can stand there unless swapped in;
    // AT_SYMLINK_NOFOLLOW keeps even that from redirecting the chown.
    if (opt.uid &&
        fchownat(AT_FDCWD, prefix.c_str(), *opt.uid, *opt.gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return Status::Failed("cannot change owner of " + DisplayPath(prefix) + ": " +
                            ErrnoText(errno));
    }
    // chown clears set-id bits; mkdir ignores the sticky and set-id bits.
    if ((opt.dir_mode & 07000) && chmod(prefix.c_str(), opt.dir_mode) != 0) {
      return Status::Failed("cannot change mode of " + DisplayPath(prefix) + ": " +
                            ErrnoText(errno));
    }
  }
  *fd = open(opt.to.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*fd < 0) {
    return Status::Failed("cannot open --to " + DisplayPath(opt.to) + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

// Creates one --mkdir path under `root`, segment by segment without
// following symlinks. Sets *would_create when something is missing; with
// `dry_run` nothing is created.
Status MakeDirs(const Options& opt, int root, const std::string& rel, bool dry_run,
                bool* would_create) {
  *would_create = false;
  int cur = root >= 0 ? fcntl(root, F_DUPFD_CLOEXEC, 0) : -1;
  size_t start = 0;
  std::string done;
  Status st;
  while (st.ok() && start <= rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string::npos) slash = rel.size();
    std::string seg = rel.substr(start, slash - start);
    start = slash + 1;
    done = JoinRel(done, seg);
    const std::string display = DisplayPath(opt.to + "/" + done);
    int next = cur >= 0 ? openat(cur, seg.c_str(), kDirOpenFlags) : -1;
    if (next < 0 && (cur < 0 || errno == ENOENT)) {
      *would_create = true;
      if (!dry_run) {
        if (mkdirat(cur, seg.c_str(), opt.dir_mode) != 0 && errno != EEXIST) {
          st = Status::Failed("cannot create directory " + display + ": " + ErrnoText(errno));
          break;
        }
        next = openat(cur, seg.c_str(), kDirOpenFlags);
        if (next >= 0 && opt.uid && fchown(next, *opt.uid, *opt.gid) != 0) {
          st = Status::Failed("cannot change owner of " + display + ": " + ErrnoText(errno));
        }
        if (next >= 0 && st.ok() && (opt.dir_mode & 07000) && fchmod(next, opt.dir_mode) != 0) {
          st = Status::Failed("cannot change mode of " + display + ": " + ErrnoText(errno));
        }
      }
    }
    if (next < 0 && !dry_run && st.ok()) {
      int err = errno;
      st = Status::Failed(
          "--mkdir " + DisplayPath(rel) + ": " + display + " " +
          (err == ELOOP || err == ENOTDIR ? "exists and is not a directory" : ErrnoText(err)));
    }
    if (cur >= 0) close(cur);
    cur = next;
  }
  if (cur >= 0) close(cur);
  return st;
}

// Removes the marker of an earlier run. unlink(2) reports EROFS before it
// looks the name up, so a read-only --to fails here whether or not a marker
// is there; the message speaks of the marker only when there is one.
Status RemoveMarker(const Options& opt, int dst) {
  if (unlinkat(dst, opt.marker.c_str(), 0) == 0 || errno == ENOENT) return Status::Ok();
  const int err = errno;
  struct stat st;
  if (fstatat(dst, opt.marker.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
    return Status::Failed("cannot write to --to " + DisplayPath(opt.to) + ": " + ErrnoText(err));
  }
  return Status::Failed("cannot remove the marker " + DisplayPath(opt.to + "/" + opt.marker) +
                        ": " + ErrnoText(err));
}

// Writes the marker atomically, owned by --owner when given. Until the chown
// succeeded the run is not complete, so a failed chown removes it again.
Status WriteMarker(const Options& opt, int dst, const std::string& content) {
  const std::string path = opt.to + "/" + opt.marker;
  INITKIT_RETURN_IF_ERROR(WriteFileAtomic(path, content, 0644));
  if (opt.uid && fchownat(dst, opt.marker.c_str(), *opt.uid, *opt.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    const int err = errno;
    (void)unlinkat(dst, opt.marker.c_str(), 0);
    return Status::Failed("cannot change owner of " + DisplayPath(path) + ": " + ErrnoText(err));
  }
  return Status::Ok();
}

Status CheckSpace(const Options& opt, int dst, const PlanTotals& t) {
  if (dst < 0) return Status::Ok();
  struct statvfs vfs;
  if (fstatvfs(dst, &vfs) != 0) {
    return Status::Failed("cannot read free space of " + DisplayPath(opt.to) + ": " +
                          ErrnoText(errno));
  }
  const uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (t.blocks_needed > avail) {
    return Status::Failed("not enough space in " + DisplayPath(opt.to) + ": the copy needs " +
                          std::to_string(t.blocks_needed) + " bytes, " + std::to_string(avail) +
                          " bytes are free");
  }
  if (vfs.f_files > 0 && t.new_entries > vfs.f_favail) {
    return Status::Failed("not enough inodes in " + DisplayPath(opt.to) + ": the copy needs " +
                          std::to_string(t.new_entries) + ", " + std::to_string(vfs.f_favail) +
                          " are free");
  }
  return Status::Ok();
}

void PrintPlan(const Options& opt, const CopyPlan& plan, std::ostream& out) {
  std::vector<const DirNode*> stack{&plan.root};
  const std::string owner =
      opt.uid ? std::to_string(*opt.uid) + ":" + std::to_string(*opt.gid) : std::string();
  while (!stack.empty()) {
    const DirNode* n = stack.back();
    stack.pop_back();
    std::vector<const Deletion*> dels;
    for (const Deletion& d : n->deletions) dels.push_back(&d);
    std::sort(dels.begin(), dels.end(),
              [](const Deletion* a, const Deletion* b) { return a->name < b->name; });
    for (const Deletion* d : dels) {
      out << "delete " << DisplayPath(JoinRel(n->rel, d->name)) << (d->is_dir ? "/" : "") << "\n";
    }
    std::vector<const Entry*> entries;
    for (const Entry& e : n->entries) entries.push_back(&e);
    std::sort(entries.begin(), entries.end(),
              [](const Entry* a, const Entry* b) { return a->name < b->name; });
    std::vector<const DirNode*> children;
    for (const Entry* e : entries) {
      const std::string rel = DisplayPath(JoinRel(n->rel, e->name));
      const char* verb = e->action == Action::kReplace ? "replace" : "";
      switch (e->kind) {
        case Kind::kFile:
          if (e->action != Action::kKeep && !e->hardlink_of.empty()) {
            out << (*verb ? "replace-with-link" : "link") << " " << rel << " => "
                << DisplayPath(e->hardlink_of) << "\n";
          } else if (e->action != Action::kKeep) {
            out << (*verb ? verb : "copy") << " " << rel << " (" << e->size << " bytes, mode "
                << Octal(e->mode) << ")\n";
          }
          break;
        case Kind::kSymlink:
          if (e->action != Action::kKeep) {
            out << (*verb ? "replace-with-symlink" : "symlink") << " " << rel << " -> "
                << DisplayPath(e->link_target) << "\n";
          }
          break;
        case Kind::kDir:
          if (e->action != Action::kKeep) {
            out << (*verb ? "replace-with-dir" : "mkdir") << " " << rel << "/ (mode "
                << Octal(e->mode) << ")\n";
          }
          if (e->action != Action::kKeep || e->child->dirty) children.push_back(e->child.get());
          break;
        default:
          break;
      }
      if (e->action == Action::kKeep && e->fix_mode) {
        out << "chmod " << Octal(e->mode) << " " << rel << "\n";
      }
      if (e->action == Action::kKeep && e->fix_owner) {
        out << "chown " << owner << " " << rel << "\n";
      }
    }
    for (auto it = children.rbegin(); it != children.rend(); ++it) stack.push_back(*it);
  }
}

// Logs a progress record every `interval` until stopped.
class ProgressReporter {
 public:
  ProgressReporter(std::chrono::milliseconds interval, const CopyStats& stats, uint64_t total_files,
                   uint64_t total_bytes)
      : interval_(interval),
        stats_(stats),
        total_files_(total_files),
        total_bytes_(total_bytes),
        start_(std::chrono::steady_clock::now()),
        thread_([this] { Loop(); }) {}
  ~ProgressReporter() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return done_; })) {
      double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      uint64_t bytes = stats_.bytes_copied.load();
      log::Info("copying", {{"files_copied", static_cast<unsigned long long>(stats_.files_copied)},
                            {"files_to_copy", static_cast<unsigned long long>(total_files_)},
                            {"bytes_copied", static_cast<unsigned long long>(bytes)},
                            {"bytes_to_copy", static_cast<unsigned long long>(total_bytes_)},
                            {"mb_per_second", secs > 0 ? bytes / secs / 1e6 : 0.0}});
    }
  }
  const std::chrono::milliseconds interval_;
  const CopyStats& stats_;
  const uint64_t total_files_, total_bytes_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts after everything it reads
};

}  // namespace

Status Run(const Options& opt, std::ostream& dry_out, RunSummary* summary) {
  const auto start = std::chrono::steady_clock::now();
  // For the copy only: `-- CMD` gets the container's limit back.
  RaisedFdLimit raised_fd_limit;
  UmaskZero umask_zero;
  Fd src, dst;
  INITKIT_RETURN_IF_ERROR(OpenSource(opt, &src.fd));
  INITKIT_RETURN_IF_ERROR(OpenDestination(opt, &dst.fd));
  if (dst.fd >= 0) {
    struct stat a, b;
    if (fstat(src.fd, &a) == 0 && fstat(dst.fd, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino) {
      return Status::Usage("--from and --to are the same directory: " + DisplayPath(opt.to));
    }
  }
  // No marker from here on until the copy is complete.
  if (!opt.dry_run) INITKIT_RETURN_IF_ERROR(RemoveMarker(opt, dst.fd));

  CopyPlan plan;
  INITKIT_RETURN_IF_ERROR(BuildPlan(opt, src.fd, dst.fd, &plan));
  const PlanTotals& t = plan.totals;
  log::Debug("plan ready", {{"files", static_cast<unsigned long long>(t.files)},
                            {"files_to_copy", static_cast<unsigned long long>(t.files_to_copy)},
                            {"bytes_to_copy", static_cast<unsigned long long>(t.bytes_to_copy)},
                            {"deletions", static_cast<unsigned long long>(t.deletions)}});
  Status space = CheckSpace(opt, dst.fd, t);

  if (opt.dry_run) {
    PrintPlan(opt, plan, dry_out);
    for (const std::string& m : opt.mkdirs) {
      bool missing = false;
      INITKIT_RETURN_IF_ERROR(MakeDirs(opt, dst.fd, m, /*dry_run=*/true, &missing));
      if (missing) dry_out << "mkdir " << DisplayPath(m) << "/ (--mkdir)\n";
    }
    if (!space.ok()) dry_out << "error: " << space.message() << "\n";
    dry_out << "would copy " << t.files_to_copy << " files (" << t.bytes_to_copy << " bytes), link "
            << t.hardlinks << ", leave " << t.unchanged << " unchanged, fix " << t.meta_fixes
            << " modes/owners, delete " << t.deletions << ", then write the marker "
            << DisplayPath(opt.marker) << "\n";
    dry_out.flush();
    return space;
  }
  INITKIT_RETURN_IF_ERROR(space);

  CopyStats stats;
  Status st;
  {
    ProgressReporter progress(opt.progress_interval, stats, t.files_to_copy, t.bytes_to_copy);
    st = ExecutePlan(opt, plan, src.fd, dst.fd, &stats);
  }
  // The fd table must not grow with the tree (see ReserveFdTable); a test
  // reads this record.
  if (log::Enabled(log::Level::kDebug)) log::Debug("fd table", {{"slots", FdTableSize()}});
  if (st.ok() && signals::StopRequested()) st = Status::Interrupted(signals::StopSignal());
  INITKIT_RETURN_IF_ERROR(st);
  for (const std::string& m : opt.mkdirs) {
    bool created = false;
    INITKIT_RETURN_IF_ERROR(MakeDirs(opt, dst.fd, m, /*dry_run=*/false, &created));
  }

  RunSummary& s = *summary;
  s.files = t.files;
  s.files_copied = stats.files_copied;
  s.files_skipped = t.unchanged;
  s.symlinks = t.symlinks;
  s.dirs = t.dirs;
  s.deleted = stats.deleted;
  s.bytes = t.bytes;
  s.bytes_copied = stats.bytes_copied;
  s.specials_skipped = t.specials;
  s.hardlinks = stats.hardlinks;
  s.excluded = t.excluded;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
  nlohmann::json marker = {
      {"files", s.files},
      {"files_copied", s.files_copied},
      {"files_skipped", s.files_skipped},
      {"symlinks", s.symlinks},
      {"dirs", s.dirs},
      {"deleted", s.deleted},
      {"bytes", s.bytes},
      {"bytes_copied", s.bytes_copied},
      {"hardlinks", s.hardlinks},
      {"seconds", s.seconds},
      {"tool", "initkit-bootstrap"},
      {"version", INITKIT_VERSION},
  };
  return WriteMarker(opt, dst.fd, DumpJson(marker) + "\n");
}

Status RunFromConfig(const Config& config) {
  Options opt;
  INITKIT_RETURN_IF_ERROR(OptionsFromConfig(config, &opt));
  RunSummary s;
  INITKIT_RETURN_IF_ERROR(Run(opt, std::cout, &s));
  if (!opt.dry_run) {
    log::Info("copy complete", {{"files", s.files},
                                {"files_copied", s.files_copied},
                                {"files_skipped", s.files_skipped},
                                {"deleted", s.deleted},
                                {"bytes", s.bytes},
                                {"bytes_copied", s.bytes_copied},
                                {"hardlinks", s.hardlinks},
                                {"seconds", s.seconds},
                                {"to", opt.to}});
  }
  return Status::Ok();
}

}  // namespace initkit::bootstrap
