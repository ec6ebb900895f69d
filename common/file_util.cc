#include "common/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <vector>

#include "common/log.h"

namespace initkit {
namespace {

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Failed(ErrnoText(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

std::string RandomSuffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (int i = 0; i < 10; ++i) s.push_back(kChars[rng() % (sizeof kChars - 1)]);
  return s;
}

}  // namespace

std::string ErrnoText(int err) {
  char buf[256];
  return std::string(strerror_r(err, buf, sizeof buf));
}

Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode) {
  std::string dir = ".";
  std::string base = path;
  if (auto slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    base = path.substr(slash + 1);
  }
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 5 && fd < 0; ++attempt) {
    tmp = dir + "/." + base + ".tmp-" + RandomSuffix();
    // O_EXCL|O_NOFOLLOW: never write through a planted file or symlink.
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
    if (fd < 0 && errno != EEXIST) {
      return Status::Failed("cannot create temporary file for " + path + ": " + ErrnoText(errno));
    }
  }
  if (fd < 0) return Status::Failed("cannot create temporary file for " + path);
  Status st = WriteAll(fd, content);
  // The umask may have narrowed the creation mode; the caller's mode wins.
  if (st.ok() && ::fchmod(fd, mode & 07777) != 0) st = Status::Failed(ErrnoText(errno));
  if (st.ok() && ::fsync(fd) != 0) st = Status::Failed(ErrnoText(errno));
  if (::close(fd) != 0 && st.ok()) st = Status::Failed(ErrnoText(errno));
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = Status::Failed(ErrnoText(errno));
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return Status::Failed("cannot write " + path + ": " + st.message());
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // makes the rename durable; failure here loses nothing already visible
    ::close(dfd);
  }
  return Status::Ok();
}

Status ReadFileToString(const std::string& path, std::string* out, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Failed("cannot read " + path + ": " + ErrnoText(errno));
  out->clear();
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::Failed("cannot read " + path + ": " + ErrnoText(err));
    }
    if (n == 0) break;
    if (out->size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      return Status::Failed("cannot read " + path + ": larger than " + std::to_string(max_bytes) +
                            " bytes");
    }
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return Status::Ok();
}

Status RemoveStaleTempFiles(const std::string& dir, const std::string& only) {
  DIR* d = opendir(dir.c_str());
  if (!d) return Status::Ok();  // nothing written there yet
  std::vector<std::string> stale;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    std::size_t tmp = n.rfind(".tmp-");
    if (n.size() < 2 || n[0] != '.' || tmp == std::string::npos || tmp < 2) continue;
    if (!only.empty() && n.substr(1, tmp - 1) != only) continue;
    stale.push_back(dir + "/" + n);
  }
  closedir(d);
  for (const std::string& p : stale) {
    struct stat sb;
    if (lstat(p.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
    if (unlink(p.c_str()) != 0 && errno != ENOENT) {
      return Status::Failed("removing stale temporary file " + p + ": " + ErrnoText(errno));
    }
    log::Info("removed a temporary file left by an interrupted run", {{"path", p}});
  }
  return Status::Ok();
}

}  // namespace initkit
