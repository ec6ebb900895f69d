#include "tools/bootstrap/tree_copier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <string_view>
#include <utility>

#include "common/file_util.h"
#include "common/log.h"
#include "common/signals.h"
#include "tools/bootstrap/work_pool.h"

namespace initkit::bootstrap {
namespace {

// Files of one directory are handed out in slices of this many, so a
// directory with thousands of files keeps every thread busy.
constexpr size_t kSlice = 48;

constexpr int kDirOpenFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

class Copier {
 public:
  Copier(const Options& opt, WorkPool* pool, CopyStats* stats)
      : opt_(opt), pool_(pool), stats_(stats), data_(opt.copy_method) {}

  // Works through directory `node`, whose fds are `fds`.
  Status Dir(const DirNode* node, std::shared_ptr<DirFds> fds);

 private:
  Status OpenChild(const DirNode* parent, const Entry& e, std::shared_ptr<DirFds> pfds);
  Status Slice(const DirNode* node, const std::shared_ptr<DirFds>& fds, size_t begin, size_t end);
  Status File(const DirNode* node, int sfd, int dfd, const Entry& e);
  Status Symlink(const DirNode* node, int dfd, const Entry& e);
  Status FixMeta(const DirNode* node, int dfd, const Entry& e);
  Status Err(const char* what, const DirNode* node, const std::string& name, int err) const {
    return Status::Failed(std::string(what) + " " + DisplayPath(Dst(node, name)) + ": " +
                          ErrnoText(err));
  }
  std::string Dst(const DirNode* node, const std::string& name) const {
    return opt_.to + "/" + JoinRel(node->rel, name);
  }
  Status Remove(const DirNode* node, int dfd, const std::string& name) {
    uint64_t removed = 0;
    Status st = RemoveAt(dfd, name, Dst(node, name), &removed);
    stats_->deleted += removed;
    return st;
  }

  const Options& opt_;
  WorkPool* pool_;
  CopyStats* stats_;
  DataCopier data_;
  std::atomic<bool> noatime_{true};
};

// By value: OpenChild hands its reference over (std::move), so the fds close
// as soon as the last slice or child that needs them is done.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
Status Copier::Dir(const DirNode* node, std::shared_ptr<DirFds> fds) {
  if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
  for (const Deletion& d : node->deletions) INITKIT_RETURN_IF_ERROR(Remove(node, fds->dst, d.name));
  // Subdirectories are queued before the file slices, so idle threads take
  // the slices first (LIFO) and the walk stays depth-first.
  for (const Entry& e : node->entries) {
    if (e.kind != Kind::kDir) continue;
    if (e.action == Action::kKeep && !e.fix_mode && !e.fix_owner && !e.child->dirty) continue;
    pool_->Add([this, node, &e, fds]() { return OpenChild(node, e, fds); });
  }
  size_t n = node->entries.size();
  size_t begin = 0;
  while (n - begin > kSlice) {
    pool_->Add([this, node, fds, begin]() { return Slice(node, fds, begin, begin + kSlice); });
    begin += kSlice;
  }
  return Slice(node, fds, begin, n);
}

Status Copier::OpenChild(const DirNode* parent, const Entry& e, std::shared_ptr<DirFds> pfds) {
  if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
  const char* name = e.name.c_str();
  bool created = false;
  if (e.action != Action::kKeep) {
    if (e.action == Action::kReplace) INITKIT_RETURN_IF_ERROR(Remove(parent, pfds->dst, e.name));
    if (mkdirat(pfds->dst, name, e.mode) != 0) {
      return Err("cannot create directory", parent, e.name, errno);
    }
    created = true;
    stats_->dirs_created++;
  }
  // The walk closed its fds of this directory: an fd kept per directory
  // would grow the fd table, and each growth of a multi-threaded process's
  // table waits for an RCU grace period (see ReserveFdTable).
  auto fds = std::make_shared<DirFds>(-1, -1);
  fds->dst = openat(pfds->dst, name, kDirOpenFlags);
  if (fds->dst < 0) return Err("cannot open directory", parent, e.name, errno);
  fds->src = openat(pfds->src, name, kDirOpenFlags);
  if (fds->src < 0) {
    return Status::Failed("cannot open directory " +
                          DisplayPath(opt_.from + "/" + JoinRel(parent->rel, e.name)) + ": " +
                          ErrnoText(errno));
  }
  const int d = fds->dst;
  pfds.reset();
  if ((created || e.fix_owner) && opt_.uid && fchown(d, *opt_.uid, *opt_.gid) != 0) {
    return Err("cannot change owner of", parent, e.name, errno);
  }
  // Also after chown, which clears set-id bits; and when mkdir's mode was
  // narrowed by a default ACL or holds bits mkdir ignores.
  if ((e.fix_mode || (created && (opt_.uid || (e.mode & 07000)))) && fchmod(d, e.mode) != 0) {
    return Err("cannot change mode of", parent, e.name, errno);
  }
  if (e.fix_mode || e.fix_owner) stats_->meta_fixed++;
  if (!e.child->dirty && !created) return Status::Ok();
  return Dir(e.child.get(), std::move(fds));
}

Status Copier::Slice(const DirNode* node, const std::shared_ptr<DirFds>& fds, size_t begin,
                     size_t end) {
  for (size_t i = begin; i < end; ++i) {
    if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
    if (pool_->failed()) return Status::Ok();
    const Entry& e = node->entries[i];
    if (e.kind == Kind::kDir || !e.hardlink_of.empty()) continue;  // links: LinkAll
    if (e.action == Action::kKeep) {
      if (e.fix_mode || e.fix_owner) INITKIT_RETURN_IF_ERROR(FixMeta(node, fds->dst, e));
      continue;
    }
    if (e.action == Action::kReplace) INITKIT_RETURN_IF_ERROR(Remove(node, fds->dst, e.name));
    if (e.kind == Kind::kFile) {
      INITKIT_RETURN_IF_ERROR(File(node, fds->src, fds->dst, e));
    } else {
      INITKIT_RETURN_IF_ERROR(Symlink(node, fds->dst, e));
    }
  }
  return Status::Ok();
}

Status Copier::File(const DirNode* node, int sfd, int dfd, const Entry& e) {
  const char* name = e.name.c_str();
  // O_EXCL: never opens (or follows) anything that is already there.
  int out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, e.mode);
  if (out < 0) return Err("cannot create", node, e.name, errno);
  Status st;
  if (e.size > 0) {
    // O_NOATIME needs the file's owner (or CAP_FOWNER): a non-root init
    // container reading root's image gets EPERM once and stops asking,
    // instead of paying a second open per file.
    const bool noatime = noatime_.load(std::memory_order_relaxed);
    int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (noatime ? O_NOATIME : 0));
    if (in < 0 && noatime && errno == EPERM) {
      noatime_.store(false, std::memory_order_relaxed);
      in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (in < 0) {
      st = Status::Failed("cannot open " +
                          DisplayPath(opt_.from + "/" + JoinRel(node->rel, e.name)) + ": " +
                          ErrnoText(errno));
    } else {
      st = e.sparse ? data_.CopySparse(in, out, e.size, Dst(node, e.name))
                    : data_.Copy(in, out, e.size, Dst(node, e.name));
      close(in);
    }
  }
  if (st.ok() && opt_.uid && fchown(out, *opt_.uid, *opt_.gid) != 0) {
    st = Err("cannot change owner of", node, e.name, errno);
  }
  if (st.ok() && ((opt_.uid && (e.mode & 06000)) || (e.mode & 01000)) && fchmod(out, e.mode) != 0) {
    st = Err("cannot change mode of", node, e.name, errno);
  }
  if (st.ok()) {
    struct timespec times[2] = {e.atime, e.mtime};
    if (futimens(out, times) != 0) st = Err("cannot set times of", node, e.name, errno);
  }
  if (close(out) != 0 && st.ok()) st = Err("cannot write", node, e.name, errno);
  if (!st.ok()) {
    // Never leave a partial file that a re-run could mistake for a copy.
    unlinkat(dfd, name, 0);
    return st;
  }
  stats_->files_copied++;
  stats_->bytes_copied += e.size;
  if (log::Enabled(log::Level::kDebug)) {
    log::Debug("copied", {{"path", DisplayPath(JoinRel(node->rel, e.name))},
                          {"bytes", static_cast<unsigned long long>(e.size)}});
  }
  return Status::Ok();
}

Status Copier::Symlink(const DirNode* node, int dfd, const Entry& e) {
  const char* name = e.name.c_str();
  if (symlinkat(e.link_target.c_str(), dfd, name) != 0) {
    return Err("cannot create symlink", node, e.name, errno);
  }
  if (opt_.uid && fchownat(dfd, name, *opt_.uid, *opt_.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return Err("cannot change owner of", node, e.name, errno);
  }
  struct timespec times[2] = {e.atime, e.mtime};
  if (utimensat(dfd, name, times, AT_SYMLINK_NOFOLLOW) != 0) {
    return Err("cannot set times of", node, e.name, errno);
  }
  stats_->symlinks_created++;
  return Status::Ok();
}

Status Copier::FixMeta(const DirNode* node, int dfd, const Entry& e) {
  const char* name = e.name.c_str();
  if (e.fix_owner && fchownat(dfd, name, *opt_.uid, *opt_.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return Err("cannot change owner of", node, e.name, errno);
  }
  if (e.fix_mode) {
    // fchmodat2 (Linux 6.6) refuses symlinks itself; older kernels get an
    // O_NOFOLLOW open + fchmod, which cannot be redirected either.
    long r = syscall(452 /* SYS_fchmodat2 */, dfd, name, e.mode, AT_SYMLINK_NOFOLLOW);
    if (r != 0 && (errno == ENOSYS || errno == EINVAL)) {
      int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      r = fd < 0 ? -1 : fchmod(fd, e.mode);
      int err = errno;
      if (fd >= 0) close(fd);
      errno = err;
    }
    if (r != 0) return Err("cannot change mode of", node, e.name, errno);
  }
  stats_->meta_fixed++;
  return Status::Ok();
}

// Opens the destination directory `rel` under `root` one segment at a time
// without following a symlink. Returns the fd, or -1 with errno set.
int OpenDirBeneath(int root, std::string_view rel) {
  int cur = fcntl(root, F_DUPFD_CLOEXEC, 0);
  size_t start = 0;
  while (cur >= 0 && start < rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string_view::npos) slash = rel.size();
    const std::string seg(rel.substr(start, slash - start));
    start = slash + 1;
    int next = openat(cur, seg.c_str(), kDirOpenFlags);
    int err = errno;
    close(cur);
    errno = err;
    cur = next;
  }
  return cur;
}

// Splits "a/b/c" into "a/b" and "c".
std::pair<std::string_view, std::string_view> SplitRel(std::string_view rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string_view::npos) return {std::string_view(), rel};
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}

// Makes the plan's hard links: every target is a copied (or kept) file by now.
Status LinkAll(const Options& opt, const CopyPlan& plan, int dst_root, CopyStats* stats) {
  for (const HardLink& l : plan.links) {
    if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
    const std::string display = opt.to + "/" + l.name;
    auto [tdir, tname] = SplitRel(l.target);
    auto [ndir, nname] = SplitRel(l.name);
    int tfd = OpenDirBeneath(dst_root, tdir);
    if (tfd < 0) {
      return Status::Failed("cannot open directory " +
                            DisplayPath(opt.to + "/" + std::string(tdir)) + ": " +
                            ErrnoText(errno));
    }
    int nfd = OpenDirBeneath(dst_root, ndir);
    if (nfd < 0) {
      int err = errno;
      close(tfd);
      return Status::Failed("cannot open directory " +
                            DisplayPath(opt.to + "/" + std::string(ndir)) + ": " + ErrnoText(err));
    }
    const std::string name(nname), target(tname);
    Status st;
    if (l.replace) {
      uint64_t removed = 0;
      st = RemoveAt(nfd, name, display, &removed);
      stats->deleted += removed;
    }
    // Flags 0: a symlink swapped in at the target is linked itself, never
    // followed.
    if (st.ok() && linkat(tfd, target.c_str(), nfd, name.c_str(), 0) != 0) {
      st = Status::Failed("cannot link " + DisplayPath(display) + " to " +
                          DisplayPath(opt.to + "/" + l.target) + ": " + ErrnoText(errno));
    }
    close(tfd);
    close(nfd);
    INITKIT_RETURN_IF_ERROR(st);
    stats->hardlinks++;
  }
  return Status::Ok();
}

}  // namespace

Status ExecutePlan(const Options& opt, const CopyPlan& plan, int src_root, int dst_root,
                   CopyStats* stats) {
  if (!plan.root.dirty) return Status::Ok();
  WorkPool pool(opt.jobs > 0 ? opt.jobs : DefaultJobs());
  Copier copier(opt, &pool, stats);
  int s = fcntl(src_root, F_DUPFD_CLOEXEC, 0);
  int d = fcntl(dst_root, F_DUPFD_CLOEXEC, 0);
  if (s < 0 || d < 0) {
    int err = errno;
    if (s >= 0) close(s);
    if (d >= 0) close(d);
    return Status::Failed("cannot duplicate a directory fd: " + ErrnoText(err));
  }
  auto fds = std::make_shared<DirFds>(s, d);
  const DirNode* root = &plan.root;
  pool.Add([&copier, root, fds]() mutable { return copier.Dir(root, std::move(fds)); });
  fds.reset();
  INITKIT_RETURN_IF_ERROR(pool.Run());
  return LinkAll(opt, plan, dst_root, stats);
}

}  // namespace initkit::bootstrap
