// dir: and env-file: targets: killed at every file event, disk full,
// read-only filesystem, stale temporary files.
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tests/bootstrap/tree_helpers.h"  // TmpfsMount: the bootstrap tests' full/read-only filesystems
#include "tests/secrets-faults/harness.h"

namespace initkit::secrets::faults {
namespace {

using bootstrap::testhelp::TmpfsMount;

struct Entry {
  std::string content;
  mode_t mode = 0;
};

/// Every directory entry (name -> content and mode), dot files included.
std::map<std::string, Entry> Snapshot(const std::string& dir) {
  std::map<std::string, Entry> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    struct stat sb;
    if (lstat((dir + "/" + n).c_str(), &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
    out[n] = {testing::ReadFile(dir + "/" + n), static_cast<mode_t>(sb.st_mode & 07777)};
  }
  closedir(d);
  return out;
}

bool Same(const std::map<std::string, Entry>& a, const std::map<std::string, Entry>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end() || it->second.content != v.content || it->second.mode != v.mode) return false;
  }
  return true;
}

std::vector<std::string> TempFiles(const std::map<std::string, Entry>& snap) {
  std::vector<std::string> out;
  for (const auto& [k, v] : snap) {
    if (k.find(".tmp-") != std::string::npos) out.push_back(k);
  }
  return out;
}

Map Values(const std::map<std::string, Entry>& snap) {
  Map out;
  for (const auto& [k, v] : snap) {
    if (k[0] != '.') out[k] = v.content;
  }
  return out;
}

/// Starts a dir-target sync and SIGKILLs it as soon as inotify reports the
/// `n`-th file creation or rename into `dir` (or lets it finish).
RunOutput KillAtFileEvent(const Harness& h, const std::string& dir, int n) {
  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  EXPECT_GE(fd, 0) << strerror(errno);
  EXPECT_GE(inotify_add_watch(fd, dir.c_str(), IN_CREATE | IN_MOVED_TO), 0) << strerror(errno);
  std::unique_ptr<RunningBinary> run = h.Start({"sync", "--target", "dir:" + dir});
  int exited = static_cast<int>(syscall(SYS_pidfd_open, run->pid(), 0));  // readable at exit
  EXPECT_GE(exited, 0) << strerror(errno);
  int seen = 0;
  auto until = std::chrono::steady_clock::now() + kWait;
  while (seen < n && std::chrono::steady_clock::now() < until) {
    pollfd p[2] = {{fd, POLLIN, 0}, {exited, POLLIN, 0}};
    if (poll(p, 2, 1000) <= 0) continue;
    if (p[1].revents) break;  // finished before the n-th event
    alignas(inotify_event) char buf[4096];
    ssize_t len = read(fd, buf, sizeof buf);
    for (ssize_t off = 0; off < len;) {
      auto* ev = reinterpret_cast<inotify_event*>(buf + off);
      ++seen;
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  close(exited);
  run->Signal(SIGKILL);
  close(fd);
  return run->Wait(kWait);
}

// Files are either absent or complete and 0600; a re-run cleans temporary
// files and never replaces a once-key a file already held.
class DirKillTest : public ::testing::TestWithParam<std::tuple<bool, int>> {};

TEST_P(DirKillTest, EveryFileIsAbsentOrCompleteAndTheReRunKeepsOnceKeys) {
  auto [earlier_run, event] = GetParam();
  Harness h;
  std::string dir = h.dir().Sub("run-secrets");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  Map before;
  if (earlier_run) {
    ASSERT_EQ(h.Run({"sync", "--target", "dir:" + dir}).exit_code, 0);
    before = OnceOf(Values(Snapshot(dir)));
    ASSERT_EQ(before.size(), 3u);
  }
  RunOutput killed = KillAtFileEvent(h, dir, event);
  EXPECT_TRUE(killed.exit_code == 137 || killed.exit_code == 0) << killed.exit_code << killed.err;

  std::map<std::string, Entry> snap = Snapshot(dir);
  static const std::regex hex("[0-9a-f]{32}");
  for (const auto& [name, e] : snap) {
    if (name.find(".tmp-") != std::string::npos) continue;  // never read as a value
    EXPECT_EQ(e.mode, 0600u) << name;
    if (name == ".initkit-state.json") {
      EXPECT_FALSE(json::parse(e.content, nullptr, false).is_discarded()) << "torn state file";
    } else if (name == kRotateKey) {
      std::string raw;
      EXPECT_TRUE(Base64Decode(e.content, &raw) && std::regex_match(raw, hex)) << name;
    } else {
      EXPECT_TRUE(std::regex_match(e.content, hex)) << name << " is not a complete value";
    }
  }
  Map landed = OnceOf(Values(snap));
  if (earlier_run) {
    EXPECT_TRUE(landed == before) << "stored values differ";
  }

  RunOutput again = h.Run({"sync", "--target", "dir:" + dir});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  std::map<std::string, Entry> after = Snapshot(dir);
  EXPECT_TRUE(TempFiles(after).empty()) << TempFiles(after).front();
  Map final_once = OnceOf(Values(after));
  EXPECT_EQ(final_once.size(), 3u);
  for (const auto& [k, v] : landed) EXPECT_TRUE(final_once[k] == v) << k << " was replaced";
  EXPECT_TRUE(after.count(".initkit-state.json"));
}

// A fresh sync makes 10 file events (4 values and the state file: a temp
// file each, then a rename); a later one 2 (the rotated value).
INSTANTIATE_TEST_SUITE_P(Fresh, DirKillTest,
                         ::testing::Combine(::testing::Values(false),
                                            ::testing::Values(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)));
INSTANTIATE_TEST_SUITE_P(AfterACompletedRun, DirKillTest,
                         ::testing::Combine(::testing::Values(true), ::testing::Values(1, 2)));

TEST(StaleTempFileTest, IsRemovedByTheNextRunAndNeverReadAsAValue) {
  Harness h;
  std::string dir = h.dir().Sub("run-secrets");
  ASSERT_EQ(h.Run({"sync", "--target", "dir:" + dir}).exit_code, 0);
  Map before = OnceOf(Values(Snapshot(dir)));
  // What a SIGKILL between WriteFileAtomic's open and rename leaves behind.
  testing::WriteFile(dir + "/.APP_ADMIN_PWD.tmp-k1ll3d", "0123", 0600);
  testing::WriteFile(h.dir().Sub(".app.env.tmp-k1ll3d"), "APP_ADMIN_PWD=01", 0600);
  testing::WriteFile(h.dir().Sub(".other.tmp-k1ll3d"), "not ours", 0600);
  ASSERT_EQ(h.Run({"sync", "--target", "dir:" + dir}).exit_code, 0);
  EXPECT_TRUE(TempFiles(Snapshot(dir)).empty());
  EXPECT_TRUE(OnceOf(Values(Snapshot(dir))) == before) << "stored values differ";
  ASSERT_EQ(h.Run({"sync", "--target", "env-file:" + h.dir().Sub("app.env")}).exit_code, 0);
  std::map<std::string, Entry> top = Snapshot(h.dir().path());
  EXPECT_FALSE(top.count(".app.env.tmp-k1ll3d"));
  EXPECT_TRUE(top.count(".other.tmp-k1ll3d"));  // only the env file's own temporaries go
}

// ---- full and read-only filesystems ---------------------------------------

/// Fills the filesystem of `dir` until writes fail with ENOSPC.
void Fill(const std::string& dir) {
  std::string path = dir + "/.filler";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << strerror(errno);
  std::string chunk(4096, 'f');
  while (write(fd, chunk.data(), chunk.size()) > 0) {
  }
  EXPECT_EQ(errno, ENOSPC);
  // Partial pages too: byte by byte until nothing fits.
  while (write(fd, "f", 1) == 1) {
  }
  close(fd);
}

struct FsCase {
  const char* name;
  bool env_file;   // env-file: target, else dir:
  bool read_only;  // else full
};

class FsFaultTest : public ::testing::TestWithParam<FsCase> {};

TEST_P(FsFaultTest, IsExit1NamingThePathAndKeepsThePreviousFiles) {
  const FsCase& c = GetParam();
  Harness h;
  std::string mnt = h.dir().Sub("mnt");
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  TmpfsMount m(mnt, "size=256k");
  if (!m.ok()) GTEST_SKIP() << "cannot mount a tmpfs here: " << strerror(m.error());
  std::string target = c.env_file ? "env-file:" + mnt + "/app.env" : "dir:" + mnt + "/secrets";
  std::string path = c.env_file ? mnt + "/app.env" : mnt + "/secrets";
  ASSERT_EQ(h.Run({"sync", "--target", target}).exit_code, 0);
  std::map<std::string, Entry> before = Snapshot(c.env_file ? mnt : path);
  if (c.read_only) {
    ASSERT_TRUE(m.MakeReadOnly()) << strerror(errno);
  } else {
    Fill(mnt);
    before = Snapshot(c.env_file ? mnt : path);  // with the filler
  }
  RunOutput r = h.Run({"sync", "--target", target});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(c.read_only ? "Read-only file system" : "No space left on device"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Summary(r)["exit_code"], 1);
  EXPECT_TRUE(Same(Snapshot(c.env_file ? mnt : path), before)) << "previous files changed";
  if (!c.read_only) {
    // Space back: the next run succeeds and keeps the once-keys.
    ASSERT_EQ(unlink((mnt + "/.filler").c_str()), 0);
    ASSERT_EQ(h.Run({"sync", "--target", target}).exit_code, 0);
    if (!c.env_file) {
      EXPECT_TRUE(OnceOf(Values(Snapshot(path))) == OnceOf(Values(before)))
          << "stored values differ";
    }
  }
}

const FsCase kFsCases[] = {
    {"DirFull", false, false},
    {"DirReadOnly", false, true},
    {"EnvFileFull", true, false},
    {"EnvFileReadOnly", true, true},
};
INSTANTIATE_TEST_SUITE_P(All, FsFaultTest, ::testing::ValuesIn(kFsCases),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace initkit::secrets::faults
