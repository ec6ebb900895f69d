// Security review of initkit-bootstrap (issue #9): a destination under
// attack while the copy runs, path traversal through flags, and SIGKILL
// mid-copy followed by a re-run.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/bootstrap/tree_helpers.h"
#include "tests/fakes/test_util.h"

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
namespace fs = std::filesystem;

const char kTool[] = "initkit-bootstrap";
const char kVictim[] = "the attacker wants this file overwritten\n";

// Regular files and symlinks of `root` with their content / target: what
// "the same tree" means for these tests.
std::map<std::string, std::string> Content(const std::string& root) {
  std::map<std::string, std::string> out;
  for (const auto& [rel, node] : Snapshot(root)) {
    if (S_ISREG(node.mode)) out[rel] = ReadFile(root + "/" + rel);
    if (S_ISLNK(node.mode)) out[rel] = "-> " + node.link;
    if (S_ISDIR(node.mode)) out[rel] = "/";
  }
  return out;
}

class BootstrapAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src = tmp.Sub("src");
    dst = tmp.Sub("dst");
    outside = tmp.Sub("outside");
    WriteFile(outside + "/victim", kVictim, 0666);
    ::chmod(outside.c_str(), 0777);  // writable by anyone: only the tool's care protects it
  }
  void MakeTree(int dirs, int files_per_dir) {
    for (int d = 0; d < dirs; ++d) {
      for (int f = 0; f < files_per_dir; ++f) {
        WriteFile(src + "/d" + std::to_string(d) + "/f" + std::to_string(f) + ".php",
                  "<?php // " + std::to_string(d) + "/" + std::to_string(f) + "\n");
      }
    }
  }
  // The outside directory holds exactly the victim, unchanged.
  void ExpectOutsideUntouched() {
    auto snap = Snapshot(outside);
    EXPECT_EQ(snap.size(), 1u) << "something was created outside the destination";
    EXPECT_EQ(ReadFile(outside + "/victim"), kVictim) << "a write went through a symlink";
  }
  TempDir tmp;
  std::string src, dst, outside;
};

// Swaps destination subdirectories for symlinks to `outside` and plants
// file symlinks to the victim, as fast as it can, until stopped.
class Attacker {
 public:
  Attacker(std::string dst, std::string outside, int dirs)
      : dst_(std::move(dst)),
        outside_(std::move(outside)),
        dirs_(dirs),
        thread_([this] { Loop(); }) {}
  ~Attacker() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int swaps() const { return swaps_; }

 private:
  void Loop() {
    int n = 0;
    while (!stop_) {
      for (int d = 0; d < dirs_ && !stop_; ++d) {
        std::string dir = dst_ + "/d" + std::to_string(d);
        struct stat st;
        if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        // A not-yet-copied name inside a real directory: must not be written through.
        std::string planted = dir + "/f" + std::to_string(n % 50) + ".php";
        (void)::symlink((outside_ + "/victim").c_str(), planted.c_str());
        std::string aside = dst_ + "/.aside-" + std::to_string(n++);
        if (::rename(dir.c_str(), aside.c_str()) == 0 &&
            ::symlink(outside_.c_str(), dir.c_str()) == 0) {
          ++swaps_;
        }
      }
    }
  }
  std::string dst_, outside_;
  int dirs_;
  std::atomic<bool> stop_{false};
  std::atomic<int> swaps_{0};
  std::thread thread_;
};

// Finding checked: every destination access is relative to a directory fd
// opened with O_NOFOLLOW, files are created O_EXCL|O_NOFOLLOW, so a symlink
// swapped in mid-copy makes the copy fail (exit 1, no marker) instead of
// redirecting a write.
TEST_F(BootstrapAttackTest, SymlinkSwappedIntoTheDestinationMidCopyIsNeverWrittenThrough) {
  const int kDirs = 12;
  MakeTree(kDirs, 60);
  int total_swaps = 0;
  // First copies (directories created by the tool) and re-runs (directories
  // the walk opened earlier, every file replaced), each raced.
  for (int round = 0; round < 4; ++round) {
    if (round % 2 == 1) {
      for (int d = 0; d < kDirs; ++d) {
        for (int f = 0; f < 60; f += 7) {
          SetMtime(src + "/d" + std::to_string(d) + "/f" + std::to_string(f) + ".php", 1000 + round,
                   0);
        }
      }
    }
    RunningBinary bin(BinPath(kTool), {"--from", src, "--to", dst, "--jobs", "2"});
    Attacker attacker(dst, outside, kDirs);
    RunOutput r = bin.Wait();
    attacker.Stop();
    total_swaps += attacker.swaps();
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << ": " << r.err;
    if (r.exit_code != 0) {
      EXPECT_FALSE(Exists(dst + "/.initkit-ready")) << r.err;
    }
    ExpectOutsideUntouched();
    if (round % 2 == 0) continue;
    // Without the attacker a re-run repairs the destination completely.
    r = RunBinary(kTool, {"--from", src, "--to", dst, "--delete"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto want = Content(src);
    auto got = Content(dst);
    got.erase(".initkit-ready");
    EXPECT_EQ(got, want);
    ExpectOutsideUntouched();
  }
  EXPECT_GT(total_swaps, 0) << "the attacker never got to swap a directory";
}

// Finding checked: --marker is a plain file name inside --to; anything that
// could point elsewhere is a usage error naming the flag.
TEST_F(BootstrapAttackTest, MarkerCannotLeaveTheDestination) {
  MakeTree(1, 2);
  for (const std::string& bad :
       {std::string("../outside/victim"), outside + "/victim", std::string(".."), std::string("."),
        std::string(""), std::string("a/../../x"), std::string("x/")}) {
    RunOutput r = RunBinary(kTool, {"--from", src, "--to", dst, "--marker", bad});
    EXPECT_EQ(r.exit_code, 2) << "--marker '" << bad << "': " << r.err;
    EXPECT_NE(r.err.find("--marker"), std::string::npos) << r.err;
  }
  // Control characters are harmless: still one name inside --to, shown escaped.
  RunOutput r = RunBinary(kTool, {"--from", src, "--to", dst, "--marker", "ready\n\x01"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Exists(dst + "/ready\n\x01"));
  ExpectOutsideUntouched();
  std::set<std::string> top;
  for (const auto& e : fs::directory_iterator(tmp.path())) top.insert(e.path().filename());
  EXPECT_EQ(top, (std::set<std::string>{"src", "dst", "outside"}));
}

// Finding checked: --mkdir is validated (relative, no . or ..), and the
// marker may not be planted as a symlink to make the final write escape.
TEST_F(BootstrapAttackTest, MkdirTraversalIsRefusedAndAPlantedMarkerSymlinkIsReplaced) {
  MakeTree(1, 2);
  for (const std::string& bad :
       {std::string("../outside/x"), outside + "/x", std::string("a/../../x"), std::string(".")}) {
    RunOutput r = RunBinary(kTool, {"--from", src, "--to", dst, "--mkdir", bad});
    EXPECT_EQ(r.exit_code, 2) << "--mkdir '" << bad << "': " << r.err;
    EXPECT_NE(r.err.find("--mkdir"), std::string::npos) << r.err;
  }
  Mkdir(dst);
  Symlink(outside + "/victim", dst + "/.initkit-ready");
  // A --mkdir path through a planted symlink is not followed either.
  Symlink(outside, dst + "/storage");
  RunOutput r = RunBinary(kTool, {"--from", src, "--to", dst, "--mkdir", "storage/tmp"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("storage"), std::string::npos) << r.err;
  ExpectOutsideUntouched();
  ASSERT_EQ(::unlink((dst + "/storage").c_str()), 0);
  r = RunBinary(kTool, {"--from", src, "--to", dst, "--mkdir", "storage/tmp"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(S_ISREG(ModeOf(dst + "/.initkit-ready")));
  EXPECT_TRUE(S_ISDIR(ModeOf(dst + "/storage/tmp")));
  ExpectOutsideUntouched();
}

// Finding checked: --exclude patterns only filter names of the walk; a
// traversal pattern matches nothing outside and cannot widen --delete.
TEST_F(BootstrapAttackTest, ExcludePatternsCannotReachOutside) {
  MakeTree(2, 3);
  WriteFile(dst + "/stale.php", "old");
  for (const std::string& pattern :
       {std::string("../outside/victim"), std::string("../**"), outside + "/**",
        std::string("/../../*"), std::string("**/../victim"), std::string("\\"),
        std::string("[")}) {
    RunOutput r = RunBinary(kTool, {"--from", src, "--to", dst, "--delete", "--exclude", pattern});
    ASSERT_EQ(r.exit_code, 0) << "--exclude '" << pattern << "': " << r.err;
    auto got = Content(dst);
    got.erase(".initkit-ready");
    EXPECT_EQ(got, Content(src)) << "--exclude '" << pattern << "'";
    ExpectOutsideUntouched();
  }
}

// Fault: SIGKILL mid-copy (no handler can run). The marker is absent, and a
// plain re-run completes: the tree equals the source, the marker is written
// last (after every file: its mtime is not older than any copied file's ctime).
TEST_F(BootstrapAttackTest, SigkillMidCopyThenRerunCompletes) {
  MakeTree(10, 300);
  // Debug records (one per copied file) fill the stderr pipe that this test
  // does not read, so the tool blocks part way: a deterministic "mid-copy".
  RunningBinary bin(BinPath(kTool), {"--from", src, "--to", dst, "--jobs", "1", "--log-level",
                                     "debug", "--log-format", "json"});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  size_t files = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    files = 0;
    for (const auto& [rel, node] : Snapshot(dst)) files += S_ISREG(node.mode) ? 1 : 0;
    if (files >= 50) break;
    ::poll(nullptr, 0, 10);  // re-check a condition with a deadline
  }
  ASSERT_GE(files, 50u) << "the copy never got going";
  bin.Signal(SIGKILL);
  RunOutput killed = bin.Wait();
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
  EXPECT_FALSE(Exists(dst + "/.initkit-ready"));
  files = 0;
  for (const auto& [rel, node] : Snapshot(dst)) files += S_ISREG(node.mode) ? 1 : 0;
  EXPECT_LT(files, 3000u) << "the kill came after the copy finished";

  RunOutput r = RunBinary(kTool, {"--from", src, "--to", dst});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto got = Content(dst);
  got.erase(".initkit-ready");
  EXPECT_EQ(got, Content(src));
  // The marker of the re-run was written after every file it copied.
  auto snap = Snapshot(dst);
  const Node& marker = snap.at(".initkit-ready");
  for (const auto& [rel, node] : snap) {
    if (!S_ISREG(node.mode) || rel == ".initkit-ready") continue;
    EXPECT_FALSE(
        node.ctime.tv_sec > marker.mtime.tv_sec ||
        (node.ctime.tv_sec == marker.mtime.tv_sec && node.ctime.tv_nsec > marker.mtime.tv_nsec))
        << rel << " changed after the marker was written";
  }
  // Same sizes and mtimes as the source, so a third run copies nothing.
  r = RunBinary(kTool, {"--from", src, "--to", dst, "--log-format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("\"files_copied\":0"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace initkit::bootstrap
