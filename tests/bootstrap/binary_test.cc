// Tests of the initkit-bootstrap binary: exit codes, signals, `-- CMD`,
// read-only and full destinations.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include <gtest/gtest.h>

#include "tests/bootstrap/tree_helpers.h"
#include "tests/fakes/test_util.h"
#include "tools/bootstrap/fs_util.h"

namespace initkit::bootstrap {
namespace {

using namespace testhelp;
using initkit::testing::BinPath;
using initkit::testing::ReadFile;
using initkit::testing::RunBinary;
using initkit::testing::RunningBinary;
using initkit::testing::RunOutput;
using initkit::testing::TempDir;
using initkit::testing::WriteFile;

const char kTool[] = "initkit-bootstrap";

class BinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src = tmp.Sub("src");
    dst = tmp.Sub("dst");
    WriteFile(src + "/index.php", "<?php\n");
    WriteFile(src + "/vendor/autoload.php", "<?php\n");
  }
  TempDir tmp;
  std::string src, dst;
};

TEST_F(BinaryTest, CopiesAndLogsASummary) {
  RunOutput r = RunBinary(
      kTool, {"--from", src, "--to", dst, "--mkdir", "storage/forms", "--log-format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dst + "/vendor/autoload.php"), "<?php\n");
  EXPECT_TRUE(Exists(dst + "/storage/forms"));
  EXPECT_NE(r.err.find("\"msg\":\"copy complete\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"files_copied\":2"), std::string::npos) << r.err;
  nlohmann::json marker = nlohmann::json::parse(ReadFile(dst + "/.initkit-ready"));
  EXPECT_EQ(marker["files"], 2);
}

TEST_F(BinaryTest, FlagsFromTheEnvironment) {
  RunOutput r = RunBinary(kTool, {},
                          {{"INITKIT_FROM", src},
                           {"INITKIT_TO", dst},
                           {"INITKIT_MKDIR", "storage/a\nstorage/b"},
                           {"INITKIT_FILE_MODE", "0600"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Exists(dst + "/storage/a"));
  EXPECT_TRUE(Exists(dst + "/storage/b"));
  EXPECT_EQ(ModeOf(dst + "/index.php") & 07777, 0600u);
}

TEST_F(BinaryTest, UsageErrorsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {{"--to", dst}, "--from"},
      {{"--from", tmp.Sub("missing"), "--to", dst}, "missing"},
      {{"--from", src, "--to", dst, "--dir-mode", "999"}, "--dir-mode"},
      {{"--from", src, "--to", dst, "--owner", "www-data"}, "--owner"},
      {{"--from", src, "--to", dst, "--mkdir", "../escape"}, "--mkdir"},
      {{"--from", src, "--to", dst, "--jobs", "0"}, "--jobs"},
      {{"--from", src, "--to", dst, "--bogus"}, "bogus"},
      {{"--from", src, "--to", dst, "--marker", "a/b"}, "--marker"},
  };
  for (const Case& c : cases) {
    RunOutput r = RunBinary(kTool, c.args);
    EXPECT_EQ(r.exit_code, 2) << c.expect << ": " << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
  }
  EXPECT_FALSE(Exists(dst + "/.initkit-ready"));
}

TEST_F(BinaryTest, CommandExecsInPlace) {
  RunningBinary b(BinPath(kTool), {"--from", src, "--to", dst, "--", "sh", "-c", "echo $$"});
  RunOutput r = b.Wait();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::to_string(b.pid()) + "\n");
  EXPECT_TRUE(Exists(dst + "/.initkit-ready"));

  r = RunBinary(kTool, {"--from", src, "--to", dst, "--", "sh", "-c", "exit 7"});
  EXPECT_EQ(r.exit_code, 7);
  r = RunBinary(kTool, {"--from", src, "--to", dst, "--", tmp.Sub("no-such-command")});
  EXPECT_EQ(r.exit_code, 127) << r.err;
  // The command never runs after a failed copy.
  r = RunBinary(kTool, {"--from", tmp.Sub("missing"), "--to", dst, "--", "sh", "-c", "echo RAN"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out.find("RAN"), std::string::npos);
}

TEST_F(BinaryTest, DryRunPrintsThePlan) {
  RunOutput r = RunBinary(kTool, {"--from", src, "--to", dst, "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("copy vendor/autoload.php"), std::string::npos) << r.out;
  EXPECT_FALSE(Exists(dst));
}

TEST_F(BinaryTest, ReadOnlyDestinationExitsOne) {
  Mkdir(dst);
  TmpfsMount m(dst, "size=4m");
  if (!m.ok()) GTEST_SKIP() << "cannot mount a tmpfs here: " << strerror(m.error());
  ASSERT_TRUE(m.MakeReadOnly());
  RunOutput r = RunBinary(kTool, {"--from", src, "--to", dst});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot write to --to " + dst + ": Read-only file system"),
            std::string::npos)
      << r.err;
  // There was no marker, so the message does not speak of one.
  EXPECT_EQ(r.err.find("marker"), std::string::npos) << r.err;
}

TEST_F(BinaryTest, ReadOnlyDestinationWithAMarkerSaysSo) {
  Mkdir(dst);
  TmpfsMount m(dst, "size=4m");
  if (!m.ok()) GTEST_SKIP() << "cannot mount a tmpfs here: " << strerror(m.error());
  WriteFile(dst + "/.initkit-ready", "{}");
  ASSERT_TRUE(m.MakeReadOnly());
  RunOutput r = RunBinary(kTool, {"--from", src, "--to", dst});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot remove the marker " + dst + "/.initkit-ready: Read-only"),
            std::string::npos)
      << r.err;
}

TEST_F(BinaryTest, SparseGigabyteFitsA64MiBTmpfs) {
  // 1 GiB apparent, one byte of data at 512 MiB.
  const off_t kSize = 1ll << 30;
  int fd = open((src + "/sparse.img").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, kSize), 0);
  ASSERT_EQ(pwrite(fd, "X", 1, kSize / 2), 1);
  close(fd);
  struct stat st;
  ASSERT_EQ(stat((src + "/sparse.img").c_str(), &st), 0);
  if (st.st_blocks * 512 > (1 << 20)) GTEST_SKIP() << "no holes on the source file system";
  Mkdir(dst);
  TmpfsMount m(dst, "size=64m");
  if (!m.ok()) GTEST_SKIP() << "cannot mount a tmpfs here: " << strerror(m.error());
  RunOutput r = RunBinary(kTool, {"--from", src, "--to", dst});
  ASSERT_EQ(r.exit_code, 0) << r.err;  // the space check counts blocks, not the size
  ASSERT_EQ(stat((dst + "/sparse.img").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, kSize);
  EXPECT_LE(st.st_blocks * 512, 1 << 20);
  fd = open((dst + "/sparse.img").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char c[2] = {0, 0};
  EXPECT_EQ(pread(fd, c, 2, kSize / 2 - 1), 2);
  EXPECT_EQ(c[0], '\0');
  EXPECT_EQ(c[1], 'X');
  close(fd);
  EXPECT_TRUE(Exists(dst + "/.initkit-ready"));
}

// The fd table a run ends with, from its "fd table" debug record.
int FdTableSlots(const std::string& log) {
  const std::string key = "\"msg\":\"fd table\",\"slots\":";
  size_t at = log.find(key);
  return at == std::string::npos ? -1 : std::atoi(log.c_str() + at + key.size());
}

// A run held one fd per directory of the tree, and each growth of a
// multi-threaded process's fd table waits for an RCU grace period: a
// no-change re-run of 11.7k files took 100 ms instead of 35. The table a
// run needs must not depend on how many directories the tree has.
TEST_F(BinaryTest, FdTableDoesNotGrowWithTheTree) {
  const std::vector<std::string> debug = {"--log-level", "debug", "--log-format", "json"};
  auto run = [&](const std::string& from, const std::string& to) {
    std::vector<std::string> args = {"--from", from, "--to", to};
    args.insert(args.end(), debug.begin(), debug.end());
    RunOutput r = RunBinary(kTool, args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return FdTableSlots(r.err);
  };
  const int small = run(src, dst);
  ASSERT_GT(small, 0);
  // main reserved it before any thread started (ReserveFdTable).
  struct rlimit rl;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  EXPECT_GE(small, static_cast<int>(std::min<rlim_t>(kFdTableSlots, rl.rlim_max)));
  const std::string wide = tmp.Sub("wide");
  for (int i = 0; i < 40; ++i) {
    for (int j = 0; j < 100; ++j) {
      WriteFile(wide + "/d" + std::to_string(i) + "/e" + std::to_string(j) + "/f.php", "<?php\n");
    }
  }
  const std::string to = tmp.Sub("wide-copy");
  EXPECT_EQ(run(wide, to), small) << "fresh copy of 4,040 directories";
  EXPECT_EQ(run(wide, to), small) << "no-change re-run";
}

// The copy raises the soft RLIMIT_NOFILE (a deep tree holds two fds per
// level); the command it execs starts with the limit the container gave.
TEST_F(BinaryTest, CommandGetsTheOriginalFdLimit) {
  struct rlimit old;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  if (old.rlim_max != RLIM_INFINITY && old.rlim_max <= 512) GTEST_SKIP() << "hard limit too low";
  struct rlimit low = {512, old.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  RunOutput r = RunBinary(kTool, {"--from", src, "--to", dst, "--", "sh", "-c", "ulimit -Sn"});
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "512\n");
}

TEST_F(BinaryTest, FullDestinationExitsOneWithBothNumbers) {
  Mkdir(dst);
  TmpfsMount m(dst, "size=1m");
  if (!m.ok()) GTEST_SKIP() << "cannot mount a tmpfs here: " << strerror(m.error());
  WriteFile(dst + "/.initkit-ready", "{}");  // from an earlier run: must go
  WriteFile(src + "/big.bin", std::string(3 << 20, 'x'));
  RunOutput r = RunBinary(kTool, {"--from", src, "--to", dst});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("not enough space in " + dst), std::string::npos) << r.err;
  size_t at = r.err.find("needs ");
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_GE(std::stoull(r.err.substr(at + 6)), 3ull << 20) << r.err;
  EXPECT_NE(r.err.find("1048576 bytes are free"), std::string::npos) << r.err;
  EXPECT_FALSE(Exists(dst + "/.initkit-ready"));
  EXPECT_FALSE(Exists(dst + "/big.bin"));
}

TEST_F(BinaryTest, TooFewInodesExitsOne) {
  Mkdir(dst);
  TmpfsMount m(dst, "size=8m,nr_inodes=40");
  if (!m.ok()) GTEST_SKIP() << "cannot mount a tmpfs here: " << strerror(m.error());
  struct statvfs vfs;
  ASSERT_EQ(statvfs(dst.c_str(), &vfs), 0);
  int fill = 0;
  while (vfs.f_favail > 20) {
    WriteFile(dst + "/fill" + std::to_string(fill++), "");
    ASSERT_EQ(statvfs(dst.c_str(), &vfs), 0);
  }
  for (int i = 0; i < 30; ++i) WriteFile(src + "/many/f" + std::to_string(i), "x");
  RunOutput r = RunBinary(kTool, {"--from", src, "--to", dst});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("not enough inodes"), std::string::npos) << r.err;
  EXPECT_FALSE(Exists(dst + "/.initkit-ready"));
}

TEST_F(BinaryTest, SigtermMidCopyLeavesNoMarkerAndExits143) {
  // Deterministic "mid-copy": a debug record is logged per copied file to a
  // small stderr pipe that nobody reads, so the copy blocks after a few
  // files; SIGTERM arrives while it is blocked.
  for (int i = 0; i < 3000; ++i) {
    WriteFile(src + "/d" + std::to_string(i % 10) + "/file-with-a-long-name-" + std::to_string(i) +
                  ".php",
              "<?php\n");
  }
  int err_pipe[2];
  ASSERT_EQ(pipe2(err_pipe, O_CLOEXEC), 0);
  int cap = fcntl(err_pipe[0], F_SETPIPE_SZ, 4096);
  ASSERT_GT(cap, 0);
  std::string bin = BinPath(kTool);
  std::vector<std::string> args = {bin, "--from",      src,     "--to",         dst,   "--jobs",
                                   "1", "--log-level", "debug", "--log-format", "json"};
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(err_pipe[1], 2);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(err_pipe[1]);
  // Wait until the pipe is (nearly) full: the tool is blocked in a write.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int avail = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(ioctl(err_pipe[0], FIONREAD, &avail), 0);
    if (avail >= cap - 512) break;
    poll(nullptr, 0, 5);  // polling a condition with a deadline, not a sleep-as-sync
  }
  ASSERT_GE(avail, cap - 512) << "the tool never filled its stderr pipe";
  EXPECT_FALSE(Exists(dst + "/.initkit-ready"));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  std::string err;
  char buf[65536];
  for (;;) {
    ssize_t n = read(err_pipe[0], buf, sizeof buf);
    if (n <= 0) break;
    err.append(buf, static_cast<size_t>(n));
  }
  close(err_pipe[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << err.substr(err.size() > 2000 ? err.size() - 2000 : 0);
  EXPECT_EQ(WEXITSTATUS(status), 143) << err.substr(err.size() > 2000 ? err.size() - 2000 : 0);
  EXPECT_FALSE(Exists(dst + "/.initkit-ready"));
  EXPECT_NE(err.find("SIGTERM"), std::string::npos);
  // The copy stopped part way.
  size_t copied = 0;
  for (size_t p = 0; (p = err.find("\"msg\":\"copied\"", p)) != std::string::npos; ++p) ++copied;
  EXPECT_GT(copied, 0u);
  EXPECT_LT(copied, 3000u);
}

}  // namespace
}  // namespace initkit::bootstrap
