// Fault matrix (issue #9): initkit-preload killed with SIGKILL at each step
// of writing its outputs never leaves a half-written preload.php or report
// (each is the previous complete file or the new complete one), and a
// re-run produces the same preload.php as an undisturbed run.
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

namespace fs = std::filesystem;

const char kOldPhp[] = "<?php // the previous complete preload\n";
const char kOldReport[] = "{\"previous\": true}\n";

class PreloadKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out = tmp.Sub("out");
    fs::create_directories(out);
    args = {"--app-dir", std::string(INITKIT_SOURCE_DIR) + "/tests/preload/data/small-app",
            "--output",  out + "/preload.php",
            "--report",  out + "/report.json"};
  }
  TempDir tmp;
  std::string out;
  std::vector<std::string> args;
};

// Starts the tool and SIGKILLs it right after the n-th file creation or
// rename in the output directory (inotify), i.e. between the steps of
// "write a temporary file, rename it into place" for each output.
RunOutput KillAfterEvent(const std::vector<std::string>& args, const std::string& dir, int n) {
  int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  EXPECT_GE(ino, 0);
  EXPECT_GE(inotify_add_watch(ino, dir.c_str(), IN_CREATE | IN_MOVED_TO), 0);
  RunningBinary bin(BinPath("initkit-preload"), args);
  int seen = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (seen < n && std::chrono::steady_clock::now() < deadline) {
    struct pollfd p = {ino, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      if (::kill(bin.pid(), 0) != 0) break;
      continue;
    }
    alignas(struct inotify_event) char buf[4096];
    ssize_t len = ::read(ino, buf, sizeof buf);
    for (ssize_t off = 0; off < len;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(buf + off);
      ++seen;
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
    }
  }
  if (seen >= n) bin.Signal(SIGKILL);
  ::close(ino);
  return bin.Wait();
}

TEST_F(PreloadKillTest, SigkillAtEveryWriteStepLeavesCompleteFilesAndARerunRecovers) {
  RunOutput ref = RunBinary("initkit-preload", args);
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  const std::string want_php = ReadFile(out + "/preload.php");
  ASSERT_NE(want_php.find("opcache_compile_file"), std::string::npos) << want_php;
  int killed = 0;
  // Events: temp preload created, renamed; temp report created, renamed.
  for (int n = 1; n <= 4; ++n) {
    WriteFile(out + "/preload.php", kOldPhp);
    WriteFile(out + "/report.json", kOldReport);
    RunOutput r = KillAfterEvent(args, out, n);
    if (r.exit_code == 128 + SIGKILL) {
      ++killed;
    } else {
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    std::string php = ReadFile(out + "/preload.php");
    EXPECT_TRUE(php == kOldPhp || php == want_php) << "step " << n << ": half-written preload.php";
    std::string report = ReadFile(out + "/report.json");
    auto j = nlohmann::json::parse(report, nullptr, false);
    EXPECT_TRUE(report == kOldReport || (j.is_object() && j.contains("included")))
        << "step " << n << ": half-written report";

    // As a kill between create and rename leaves it (whether or not this
    // kill landed there).
    WriteFile(out + "/.preload.php.tmp-AbC123", "<?php // half");
    r = RunBinary("initkit-preload", args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ReadFile(out + "/preload.php"), want_php) << "step " << n;
    j = nlohmann::json::parse(ReadFile(out + "/report.json"), nullptr, false);
    EXPECT_TRUE(j.is_object() && j.contains("included")) << "step " << n;
    // A killed run may leave its temporary file; the re-run removes it, so
    // killed runs do not litter the app directory.
    for (const auto& e : fs::directory_iterator(out)) {
      std::string name = e.path().filename();
      EXPECT_TRUE(name == "preload.php" || name == "report.json")
          << "step " << n << ": left behind: " << name;
    }
  }
  EXPECT_GT(killed, 0) << "the tool always finished before the kill";
}

// --verify-with: a tool killed while PHP judges the list takes PHP with it
// (death signal) and leaves the previous output as it was.
TEST_F(PreloadKillTest, SigkillDuringVerifyKillsPhpAndKeepsTheOldOutput) {
  // A stand-in PHP that records its pid and then hangs on the list.
  std::string fake = tmp.Sub("fake-php");
  WriteFile(fake,
            "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in opcache.preload=*) list=${a#*=};; esac; "
            "done\necho $$ >>" +
                tmp.Sub("pids") +
                "\nif grep -q opcache_compile_file \"$list\"; then exec sleep 300; fi\n"
                "echo initkit-preload-verified\n");
  ::chmod(fake.c_str(), 0755);
  WriteFile(out + "/preload.php", kOldPhp);
  std::vector<std::string> a = args;
  a.insert(a.end(), {"--verify-with", fake});
  RunningBinary bin(BinPath("initkit-preload"), a);
  // Wait for the second PHP start (the first one judges an empty list).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string pids;
  while (std::chrono::steady_clock::now() < deadline) {
    pids = fs::exists(tmp.Sub("pids")) ? ReadFile(tmp.Sub("pids")) : "";
    if (std::count(pids.begin(), pids.end(), '\n') >= 2) break;
    ::poll(nullptr, 0, 20);
  }
  ASSERT_GE(std::count(pids.begin(), pids.end(), '\n'), 2) << pids;
  pid_t php = static_cast<pid_t>(std::stol(pids.substr(pids.rfind('\n', pids.size() - 2) + 1)));
  bin.Signal(SIGKILL);
  RunOutput r = bin.Wait();
  EXPECT_EQ(r.exit_code, 128 + SIGKILL);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (::kill(php, 0) == 0 && std::chrono::steady_clock::now() < deadline) ::poll(nullptr, 0, 20);
  EXPECT_NE(::kill(php, 0), 0) << "PHP (pid " << php << ") outlived the killed tool";
  EXPECT_EQ(ReadFile(out + "/preload.php"), kOldPhp);
}

}  // namespace
}  // namespace initkit::testing
