#include "tools/bootstrap/fs_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "common/file_util.h"
#include "common/signals.h"

namespace initkit::bootstrap {
namespace {

struct LinuxDirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// Large enough that most PHP app directories are read in one call.
constexpr size_t kDirBufSize = 64UL * 1024;
// Data is copied in chunks so a stop signal is seen within one chunk.
constexpr size_t kChunk = 16UL * 1024 * 1024;

}  // namespace

int ReadDirEntries(int fd, std::vector<DirEntry>* out) {
  thread_local std::unique_ptr<char[]> buf;
  if (!buf) buf.reset(new char[kDirBufSize]);
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf.get(), kDirBufSize);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return 0;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<LinuxDirent64*>(buf.get() + off);
      off += d->d_reclen;
      const char* name = d->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
      out->push_back(DirEntry{name, d->d_type, static_cast<ino_t>(d->d_ino)});
    }
  }
}

void ReserveFdTable(int slots) {
  RaisedFdLimit raised;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t top = std::min<rlim_t>(static_cast<rlim_t>(slots), rl.rlim_cur);
  if (top < 1) return;
  int fd = open("/", O_PATH | O_CLOEXEC);
  if (fd < 0) return;
  // F_DUPFD takes the lowest free fd >= its argument: never one in use.
  int high = fcntl(fd, F_DUPFD_CLOEXEC, static_cast<int>(top - 1));
  if (high >= 0) close(high);
  close(fd);
}

RaisedFdLimit::RaisedFdLimit() {
  if (getrlimit(RLIMIT_NOFILE, &old_) != 0 || old_.rlim_cur >= old_.rlim_max) return;
  struct rlimit rl = old_;
  rl.rlim_cur = rl.rlim_max;
  raised_ = setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

RaisedFdLimit::~RaisedFdLimit() {
  if (raised_) (void)setrlimit(RLIMIT_NOFILE, &old_);
}

int FdTableSize() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("FDSize:", 0) == 0) return std::atoi(line.c_str() + 7);
  }
  return 0;
}

DirFds::~DirFds() {
  if (src >= 0) close(src);
  if (dst >= 0) close(dst);
}

Status RemoveAt(int dirfd, const std::string& name, const std::string& display, uint64_t* removed) {
  if (unlinkat(dirfd, name.c_str(), 0) == 0) {
    ++*removed;
    return Status::Ok();
  }
  int err = errno;
  if (err == ENOENT) return Status::Ok();
  if (err != EISDIR && err != EPERM) {
    return Status::Failed("cannot remove " + DisplayPath(display) + ": " + ErrnoText(err));
  }
  // A directory: empty it through an fd opened without following symlinks,
  // so a symlink swapped in cannot redirect the removal.
  int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return Status::Failed("cannot remove " + DisplayPath(display) + ": " + ErrnoText(err));
  }
  std::vector<DirEntry> entries;
  int rerr = ReadDirEntries(fd, &entries);
  Status st;
  if (rerr != 0) {
    st = Status::Failed("cannot read directory " + DisplayPath(display) + ": " + ErrnoText(rerr));
  }
  for (const DirEntry& e : entries) {
    if (!st.ok()) break;
    st = RemoveAt(fd, e.name, display + "/" + e.name, removed);
  }
  close(fd);
  if (!st.ok()) return st;
  if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return Status::Failed("cannot remove " + DisplayPath(display) + ": " + ErrnoText(errno));
  }
  ++*removed;
  return Status::Ok();
}

Status DataCopier::Copy(int in, int out, uint64_t size, const std::string& display) {
  uint64_t done = 0;
  auto fail = [&](const char* what, int err) {
    return Status::Failed(std::string(what) + " " + DisplayPath(display) + ": " + ErrnoText(err));
  };
  while (done < size) {
    if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
    size_t want = static_cast<size_t>(std::min<uint64_t>(size - done, kChunk));
    int method = method_.load(std::memory_order_relaxed);
    ssize_t n;
    if (method == 0) {
      n = copy_file_range(in, nullptr, out, nullptr, want, 0);
      if (n < 0 && done == 0 &&
          (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
           errno == EBADF)) {
        method_.store(1, std::memory_order_relaxed);
        continue;
      }
    } else if (method == 1) {
      n = sendfile(out, in, nullptr, want);
      if (n < 0 && done == 0 && (errno == EINVAL || errno == ENOSYS)) {
        method_.store(2, std::memory_order_relaxed);
        continue;
      }
    } else {
      thread_local std::unique_ptr<char[]> buf;
      constexpr size_t kBuf = 256UL * 1024;
      if (!buf) buf.reset(new char[kBuf]);
      n = read(in, buf.get(), std::min(want, kBuf));
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail("cannot read source of", errno);
      }
      for (ssize_t w = 0; w < n;) {
        ssize_t m = write(out, buf.get() + w, n - w);
        if (m < 0) {
          if (errno == EINTR) continue;
          return fail("cannot write", errno);
        }
        w += m;
      }
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot copy data to", errno);
    }
    if (n == 0) break;  // the source shrank since it was listed
    done += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status DataCopier::CopySparse(int in, int out, uint64_t size, const std::string& display) {
  auto fail = [&](const char* what, int err) {
    return Status::Failed(std::string(what) + " " + DisplayPath(display) + ": " + ErrnoText(err));
  };
  const off_t end = static_cast<off_t>(size);
  off_t off = 0;
  while (off < end) {
    off_t data = lseek(in, off, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // the rest is a hole
      if (off == 0 && (errno == EINVAL || errno == EOPNOTSUPP)) {
        if (lseek(in, 0, SEEK_SET) != 0) return fail("cannot read source of", errno);
        return Copy(in, out, size, display);
      }
      return fail("cannot read source of", errno);
    }
    if (data >= end) break;
    off_t hole = lseek(in, data, SEEK_HOLE);
    if (hole < 0) return fail("cannot read source of", errno);
    hole = std::min(hole, end);
    if (lseek(in, data, SEEK_SET) != data) return fail("cannot read source of", errno);
    if (lseek(out, data, SEEK_SET) != data) return fail("cannot write", errno);
    INITKIT_RETURN_IF_ERROR(Copy(in, out, static_cast<uint64_t>(hole - data), display));
    off = hole;
  }
  if (ftruncate(out, end) != 0) return fail("cannot write", errno);
  return Status::Ok();
}

std::string DisplayPath(std::string_view path) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(path.size());
  for (unsigned char c : path) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string JoinRel(std::string_view dir, std::string_view name) {
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  out.append(dir);
  if (!out.empty()) out += '/';
  out.append(name);
  return out;
}

}  // namespace initkit::bootstrap
