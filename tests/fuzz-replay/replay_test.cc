// Replays every seed (fuzz/corpus/<target>/) and every saved crash
// (fuzz/regressions/<target>/) through its fuzz target in the ordinary
// ASan/UBSan build, so a fixed crash stays fixed without clang or libFuzzer.
// The fuzz/*_fuzz.cc files are compiled into this binary (root CMakeLists.txt).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <set>

#include "fuzz/fuzz_target.h"
#include "tests/fakes/test_util.h"

namespace fs = std::filesystem;

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

namespace {

// The file being replayed, named when a sanitizer ends the process or the
// safety-net alarm fires (a regression that hangs must not wait for CTest's
// 1200 s timeout to say which input it was).
std::string g_current;
constexpr unsigned kHangSeconds = 120;

[[maybe_unused]] void NameCurrentFile() {
  std::fprintf(stderr, "fuzz replay died on %s\n", g_current.c_str());
}

void OnHang(int) {
  static const char kMsg[] = "fuzz replay: an input did not finish (hang?): ";
  (void)!write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
  (void)!write(STDERR_FILENO, g_current.data(), g_current.size());
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(1);
}

const fs::path kFuzzDir = fs::path(INITKIT_SOURCE_DIR) / "fuzz";

std::vector<fs::path> FilesIn(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FuzzReplay, EveryTargetHasASeedCorpus) {
  ASSERT_FALSE(initkit::fuzz::Targets().empty());
  for (const auto& t : initkit::fuzz::Targets()) {
    EXPECT_FALSE(FilesIn(kFuzzDir / "corpus" / t.name).empty()) << "no seeds for " << t.name;
  }
}

TEST(FuzzReplay, CorpusAndRegressionDirectoriesNameATarget) {
  std::set<std::string> names;
  for (const auto& t : initkit::fuzz::Targets()) names.insert(t.name);
  for (const char* kind : {"corpus", "regressions"}) {
    if (!fs::is_directory(kFuzzDir / kind)) continue;
    for (const auto& e : fs::directory_iterator(kFuzzDir / kind)) {
      EXPECT_TRUE(names.count(e.path().filename().string()))
          << e.path() << " belongs to no fuzz target";
    }
  }
}

TEST(FuzzReplay, EveryFileRunsCleanThroughItsTarget) {
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_set_death_callback(NameCurrentFile);
#endif
  std::signal(SIGALRM, OnHang);
  int replayed = 0;
  for (const auto& t : initkit::fuzz::Targets()) {
    for (const char* kind : {"corpus", "regressions"}) {
      for (const fs::path& file : FilesIn(kFuzzDir / kind / t.name)) {
        std::string data = initkit::testing::ReadFile(file.string());
        g_current = std::string(t.name) + " " + file.string();
        alarm(kHangSeconds);
        // An invariant failure throws (fuzz_target.h); a memory error or UB
        // aborts the binary under the sanitizers, which fails the test too.
        try {
          t.fn(data);
        } catch (const std::exception& e) {
          ADD_FAILURE() << t.name << " on " << file << ": " << e.what();
        }
        alarm(0);
        ++replayed;
      }
    }
  }
  EXPECT_GT(replayed, 0);
}

}  // namespace
