#include "tools/bootstrap/copy_plan.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "common/file_util.h"
#include "common/log.h"
#include "common/signals.h"
#include "tools/bootstrap/fs_util.h"
#include "tools/bootstrap/work_pool.h"

namespace initkit::bootstrap {
namespace {

struct AtomicTotals {
  std::atomic<uint64_t> files{0}, dirs{0}, symlinks{0}, bytes{0}, files_to_copy{0},
      bytes_to_copy{0}, blocks_needed{0}, new_entries{0}, unchanged{0}, meta_fixes{0}, deletions{0},
      specials{0}, excluded{0}, hardlinks{0};
};

Kind KindOf(mode_t m) {
  if (S_ISREG(m)) return Kind::kFile;
  if (S_ISDIR(m)) return Kind::kDir;
  if (S_ISLNK(m)) return Kind::kSymlink;
  return Kind::kOther;
}

Status ReadLink(int dirfd, const std::string& name, size_t hint, std::string* out,
                const std::string& display) {
  size_t cap = hint > 0 ? hint + 1 : 256;
  for (;;) {
    out->resize(cap);
    ssize_t n = readlinkat(dirfd, name.c_str(), out->data(), cap);
    if (n < 0) {
      return Status::Failed("cannot read symlink " + DisplayPath(display) + ": " +
                            ErrnoText(errno));
    }
    if (static_cast<size_t>(n) < cap) {
      out->resize(static_cast<size_t>(n));
      return Status::Ok();
    }
    cap *= 2;
  }
}

uint64_t Round4k(uint64_t n) { return (n + 4095) & ~uint64_t{4095}; }

// The bytes a copy of the sparse file `name` allocates: its data extents
// (SEEK_DATA/SEEK_HOLE), each rounded up to 4 KiB. When the file system
// cannot say, the apparent size (never an underestimate).
uint64_t DataBytes(int dirfd, const std::string& name, uint64_t size) {
  int fd = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Round4k(size);
  uint64_t total = 0;
  off_t off = 0;
  while (static_cast<uint64_t>(off) < size) {
    off_t data = lseek(fd, off, SEEK_DATA);
    if (data < 0) {
      if (errno != ENXIO) total = Round4k(size);  // ENXIO: only a hole is left
      break;
    }
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) {
      total = Round4k(size);
      break;
    }
    hole = std::min<off_t>(hole, static_cast<off_t>(size));
    if (hole <= data) break;
    total += Round4k(static_cast<uint64_t>(hole - (data & ~off_t{4095})));
    off = hole;
  }
  close(fd);
  return total;
}

class Planner {
 public:
  Planner(const Options& opt, int dst_root, WorkPool* pool)
      : opt_(opt), excludes_(opt.excludes), pool_(pool) {
    struct stat st;
    if (dst_root >= 0 && fstat(dst_root, &st) == 0) {
      dst_dev_ = st.st_dev;
      dst_ino_ = st.st_ino;
      have_dst_id_ = true;
    }
  }

  // Scans one directory pair; `fds` are this directory's own fds.
  Status Scan(DirNode* node, std::shared_ptr<DirFds> fds);
  // Opens the child directory `entry` of `parent` on both sides and scans
  // it. With entry->probe_dst the destination name is opened as a directory:
  // one that opens is kept (mode and owner compared on the fd, no second
  // lookup), ENOENT makes a create, ENOTDIR/ELOOP (a file or symlink there)
  // a replace.
  Status OpenAndScan(Entry* entry, std::shared_ptr<DirFds> parent);

  AtomicTotals totals;

  // Files seen with st_nlink > 1, by (device, inode).
  struct LinkMember {
    DirNode* node;
    size_t index;
  };
  std::mutex links_mu;
  std::map<std::pair<dev_t, ino_t>, std::vector<LinkMember>> links;

 private:
  // Counts an entry the copy creates (action kCreate or kReplace).
  void CountNew(Entry* e, int src_dirfd) {
    totals.new_entries++;
    if (e->kind == Kind::kFile) {
      totals.files_to_copy++;
      totals.bytes_to_copy += e->size;
      e->blocks = e->sparse ? DataBytes(src_dirfd, e->name, e->size) : Round4k(e->size);
    } else {
      e->blocks = 4096;
    }
    totals.blocks_needed += e->blocks;
  }

  // Sets the fix_mode / fix_owner of a kept entry from its destination stat.
  void NoteMeta(Entry* e, const struct stat& dt) {
    e->fix_mode = e->kind != Kind::kSymlink && (dt.st_mode & 07777) != e->mode;
    e->fix_owner = opt_.uid && (dt.st_uid != *opt_.uid || dt.st_gid != *opt_.gid);
    if (e->fix_mode || e->fix_owner) totals.meta_fixes++;
  }

  std::string SrcPath(const std::string& rel) const { return opt_.from + "/" + rel; }
  std::string DstPath(const std::string& rel) const { return opt_.to + "/" + rel; }

  const Options& opt_;
  ExcludeSet excludes_;
  WorkPool* pool_;
  bool have_dst_id_ = false;
  dev_t dst_dev_ = 0;
  ino_t dst_ino_ = 0;
};

Status Planner::OpenAndScan(Entry* entry, std::shared_ptr<DirFds> parent) {
  if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
  DirNode* node = entry->child.get();
  const std::string& name = entry->name;
  const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  int s = openat(parent->src, name.c_str(), flags);
  if (s < 0) {
    return Status::Failed("cannot open directory " + DisplayPath(SrcPath(node->rel)) + ": " +
                          ErrnoText(errno));
  }
  int d = -1;
  if (entry->probe_dst) {
    d = openat(parent->dst, name.c_str(), flags);
    if (d >= 0) {
      struct stat dt;
      if (fstat(d, &dt) != 0) {
        int err = errno;
        close(s);
        close(d);
        return Status::Failed("cannot stat " + DisplayPath(DstPath(node->rel)) + ": " +
                              ErrnoText(err));
      }
      entry->dst_kind = Kind::kDir;
      entry->action = Action::kKeep;
      NoteMeta(entry, dt);
    } else if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
      entry->action = errno == ENOENT ? Action::kCreate : Action::kReplace;
      CountNew(entry, parent->src);
    } else {
      int err = errno;
      close(s);
      return Status::Failed("cannot open directory " + DisplayPath(DstPath(node->rel)) + ": " +
                            ErrnoText(err));
    }
  }
  parent.reset();
  return Scan(node, std::make_shared<DirFds>(s, d));
}

// By value: the caller hands its reference over, so the fds close as soon as
// the last scan or copy that needs them is done.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
Status Planner::Scan(DirNode* node, std::shared_ptr<DirFds> fds) {
  std::vector<DirEntry> names;
  if (int err = ReadDirEntries(fds->src, &names); err != 0) {
    return Status::Failed("cannot read directory " +
                          DisplayPath(node->rel.empty() ? opt_.from : SrcPath(node->rel)) + ": " +
                          ErrnoText(err));
  }
  const bool at_root = node->rel.empty();
  // Names the destination keeps even with --delete (excluded, skipped).
  std::unordered_set<std::string> keep;
  node->entries.reserve(names.size());
  for (DirEntry& de : names) {
    if (at_root && de.name == opt_.marker) continue;
    std::string rel;
    if (!excludes_.empty()) {
      rel = JoinRel(node->rel, de.name);
      bool is_dir = de.type == DT_DIR;
      if (de.type == DT_UNKNOWN) {
        struct stat st;
        is_dir = fstatat(fds->src, de.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                 S_ISDIR(st.st_mode);
      }
      if (excludes_.Matches(rel, is_dir)) {
        totals.excluded++;
        keep.insert(std::move(de.name));
        continue;
      }
    }
    struct stat st {};
    if (de.type == DT_DIR && !opt_.preserve_modes && !(have_dst_id_ && de.ino == dst_ino_)) {
      // A directory's target mode is --dir-mode and its times are not
      // copied, so getdents' type is all it needs: one lookup less per
      // directory. (A d_ino equal to --to's is stat'ed: it may be --to.)
      st.st_mode = S_IFDIR | 0755;
    } else if (fstatat(fds->src, de.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (rel.empty()) rel = JoinRel(node->rel, de.name);
      return Status::Failed("cannot stat " + DisplayPath(SrcPath(rel)) + ": " + ErrnoText(errno));
    }
    Kind kind = KindOf(st.st_mode);
    if (kind == Kind::kOther ||
        (kind == Kind::kDir && have_dst_id_ && st.st_dev == dst_dev_ && st.st_ino == dst_ino_)) {
      if (rel.empty()) rel = JoinRel(node->rel, de.name);
      log::Warn(kind == Kind::kOther ? "skipping special file (FIFO, socket or device)"
                                     : "skipping the destination directory inside the source",
                {{"path", DisplayPath(SrcPath(rel))}});
      totals.specials++;
      keep.insert(std::move(de.name));
      continue;
    }
    Entry e;
    e.name = std::move(de.name);
    e.kind = kind;
    e.mode = TargetMode(opt_, st.st_mode);
    if (kind == Kind::kFile) {
      e.atime = st.st_atim;
      e.mtime = st.st_mtim;
      e.size = static_cast<uint64_t>(st.st_size);
      if (st.st_nlink > 1) {
        std::lock_guard<std::mutex> lock(links_mu);
        links[{st.st_dev, st.st_ino}].push_back(LinkMember{node, node->entries.size()});
      }
      e.sparse = static_cast<uint64_t>(st.st_blocks) * 512 < e.size;
      totals.files++;
      totals.bytes += e.size;
    } else if (kind == Kind::kSymlink) {
      e.atime = st.st_atim;
      e.mtime = st.st_mtim;
      totals.symlinks++;
      INITKIT_RETURN_IF_ERROR(ReadLink(fds->src, e.name, static_cast<size_t>(st.st_size),
                                       &e.link_target, SrcPath(JoinRel(node->rel, e.name))));
    } else {
      totals.dirs++;
      e.child = std::make_unique<DirNode>();
      e.child->rel = rel.empty() ? JoinRel(node->rel, e.name) : std::move(rel);
    }
    e.action = Action::kCreate;
    node->entries.push_back(std::move(e));
  }

  // Compare with what the destination already has. Its listing is read only
  // for --delete (the names to remove): otherwise each source name is looked
  // up there directly, which a re-run pays anyway, and a fresh directory
  // (fds->dst < 0) costs nothing.
  std::unordered_map<std::string, unsigned char> dst_names;
  const bool list_dst = fds->dst >= 0 && opt_.delete_extra;
  if (list_dst) {
    std::vector<DirEntry> dnames;
    if (int err = ReadDirEntries(fds->dst, &dnames); err != 0) {
      return Status::Failed("cannot read directory " +
                            DisplayPath(at_root ? opt_.to : DstPath(node->rel)) + ": " +
                            ErrnoText(err));
    }
    dst_names.reserve(dnames.size());
    for (DirEntry& d : dnames) dst_names.emplace(std::move(d.name), d.type);
  }
  for (Entry& e : node->entries) {
    if (fds->dst < 0) {
      CountNew(&e, fds->src);
      continue;
    }
    unsigned char dst_type = DT_UNKNOWN;
    if (list_dst) {
      auto it = dst_names.find(e.name);
      if (it == dst_names.end()) {
        CountNew(&e, fds->src);
        continue;
      }
      dst_type = it->second;
      dst_names.erase(it);
    }
    if (e.kind == Kind::kDir && (dst_type == DT_DIR || dst_type == DT_UNKNOWN)) {
      // Decided by the child's scan on the fd it opens (OpenAndScan).
      e.probe_dst = true;
      continue;
    }
    struct stat dt;
    if (fstatat(fds->dst, e.name.c_str(), &dt, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) {
        return Status::Failed("cannot stat " + DisplayPath(DstPath(JoinRel(node->rel, e.name))) +
                              ": " + ErrnoText(errno));
      }
      CountNew(&e, fds->src);
      continue;
    }
    e.dst_kind = KindOf(dt.st_mode);
    if (e.dst_kind == Kind::kFile) e.dst_ino = dt.st_ino;
    bool same = false;
    if (e.kind == Kind::kFile && e.dst_kind == Kind::kFile) {
      same = static_cast<uint64_t>(dt.st_size) == e.size && dt.st_mtim.tv_sec == e.mtime.tv_sec &&
             dt.st_mtim.tv_nsec == e.mtime.tv_nsec;
    } else if (e.kind == Kind::kSymlink && e.dst_kind == Kind::kSymlink) {
      std::string target;
      INITKIT_RETURN_IF_ERROR(ReadLink(fds->dst, e.name, static_cast<size_t>(dt.st_size), &target,
                                       DstPath(JoinRel(node->rel, e.name))));
      same = target == e.link_target;
    }
    if (same) {
      e.action = Action::kKeep;
      NoteMeta(&e, dt);
      totals.unchanged++;
    } else {
      e.action = Action::kReplace;
      CountNew(&e, fds->src);
    }
  }
  // What is left in the destination, the source does not have.
  if (opt_.delete_extra) {
    for (auto& [name, type] : dst_names) {
      if (at_root && name == opt_.marker) continue;
      if (keep.count(name)) continue;
      std::string rel = JoinRel(node->rel, name);
      bool is_dir = type == DT_DIR;
      if (type == DT_UNKNOWN) {
        struct stat st;
        is_dir =
            fstatat(fds->dst, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
      }
      if (excludes_.Matches(rel, is_dir) || IsProtected(opt_.mkdirs, rel)) continue;
      node->deletions.push_back(Deletion{name, is_dir});
      totals.deletions++;
    }
  }
  for (Entry& e : node->entries) {
    if (e.kind != Kind::kDir) continue;
    Entry* entry = &e;
    pool_->Add([this, entry, fds]() { return OpenAndScan(entry, fds); });
  }
  return Status::Ok();
}

// Marks directories whose subtree has work, bottom-up without recursion (the
// tree may be thousands of levels deep).
void MarkDirty(DirNode* root) {
  std::vector<std::pair<DirNode*, bool>> stack{{root, false}};
  std::vector<DirNode*> order;
  while (!stack.empty()) {
    DirNode* n = stack.back().first;
    stack.pop_back();
    order.push_back(n);
    for (Entry& e : n->entries) {
      if (e.child) stack.push_back({e.child.get(), false});
    }
  }
  // Children come after their parent in `order`: walk it backwards.
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    DirNode* n = *it;
    bool dirty = !n->deletions.empty();
    for (Entry& e : n->entries) {
      if (e.action != Action::kKeep || e.fix_mode || e.fix_owner) dirty = true;
      if (e.child && e.child->dirty) dirty = true;
    }
    n->dirty = dirty;
  }
}

// Turns every group of source hard links into one copied file (the first
// in path order, so the choice does not depend on thread timing) and links
// for the others, and takes the links out of the copy's counts.
void PlanHardLinks(Planner* planner, CopyPlan* plan) {
  AtomicTotals& t = planner->totals;
  for (auto& [id, members] : planner->links) {
    if (members.size() < 2) continue;
    std::vector<std::pair<std::string, Entry*>> group;
    for (const auto& m : members) {
      Entry* e = &m.node->entries[m.index];
      group.emplace_back(JoinRel(m.node->rel, e->name), e);
    }
    std::sort(group.begin(), group.end());
    const Entry* first = group[0].second;
    for (size_t i = 1; i < group.size(); ++i) {
      Entry& e = *group[i].second;
      e.hardlink_of = group[0].first;
      // Not copied: whatever the walk counted for it goes.
      if (e.action != Action::kKeep) {
        t.files_to_copy--;
        t.bytes_to_copy -= e.size;
        t.blocks_needed -= e.blocks;
        t.new_entries--;
      }
      if (e.fix_mode || e.fix_owner) t.meta_fixes--;
      e.fix_mode = e.fix_owner = false;  // the inode is the first name's
      const bool linked = e.action == Action::kKeep && first->action == Action::kKeep &&
                          e.dst_ino != 0 && e.dst_ino == first->dst_ino;
      if (linked) continue;
      if (e.action == Action::kKeep) {
        // An equal but separate file (or a link to something else).
        t.unchanged--;
        e.action = Action::kReplace;
      }
      t.hardlinks++;
      plan->links.push_back(HardLink{group[0].first, group[i].first, e.action == Action::kReplace});
    }
  }
  std::sort(plan->links.begin(), plan->links.end(),
            [](const HardLink& a, const HardLink& b) { return a.name < b.name; });
}

}  // namespace

CopyPlan::~CopyPlan() {
  std::vector<std::unique_ptr<DirNode>> all;
  auto detach = [&all](DirNode& n) {
    for (Entry& e : n.entries) {
      if (e.child) all.push_back(std::move(e.child));
    }
  };
  detach(root);
  for (size_t i = 0; i < all.size(); ++i) detach(*all[i]);
}

bool IsProtected(const std::vector<std::string>& mkdirs, std::string_view rel) {
  for (const std::string& m : mkdirs) {
    if (m.size() >= rel.size()) {
      // rel is m itself or one of its parents.
      if (m.compare(0, rel.size(), rel) == 0 && (m.size() == rel.size() || m[rel.size()] == '/')) {
        return true;
      }
    } else if (rel.compare(0, m.size(), m) == 0 && rel[m.size()] == '/') {
      return true;  // under a --mkdir directory
    }
  }
  return false;
}

Status BuildPlan(const Options& opt, int src_root, int dst_root, CopyPlan* plan) {
  WorkPool pool(opt.jobs > 0 ? opt.jobs : DefaultJobs());
  Planner planner(opt, dst_root, &pool);
  int s = fcntl(src_root, F_DUPFD_CLOEXEC, 0);
  int d = dst_root >= 0 ? fcntl(dst_root, F_DUPFD_CLOEXEC, 0) : -1;
  if (s < 0 || (dst_root >= 0 && d < 0)) {
    int err = errno;
    if (s >= 0) close(s);
    return Status::Failed("cannot duplicate a directory fd: " + ErrnoText(err));
  }
  auto fds = std::make_shared<DirFds>(s, d);
  DirNode* root = &plan->root;
  pool.Add([&planner, root, fds]() mutable { return planner.Scan(root, std::move(fds)); });
  fds.reset();
  INITKIT_RETURN_IF_ERROR(pool.Run());
  PlanHardLinks(&planner, plan);
  MarkDirty(root);
  const AtomicTotals& t = planner.totals;
  PlanTotals& o = plan->totals;
  o.files = t.files;
  o.dirs = t.dirs;
  o.symlinks = t.symlinks;
  o.bytes = t.bytes;
  o.files_to_copy = t.files_to_copy;
  o.bytes_to_copy = t.bytes_to_copy;
  o.blocks_needed = t.blocks_needed;
  o.new_entries = t.new_entries;
  o.unchanged = t.unchanged;
  o.meta_fixes = t.meta_fixes;
  o.deletions = t.deletions;
  o.specials = t.specials;
  o.excluded = t.excluded;
  o.hardlinks = t.hardlinks;
  return Status::Ok();
}

}  // namespace initkit::bootstrap
