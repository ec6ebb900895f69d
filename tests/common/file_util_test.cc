// Atomic file writes (common/file_util).
#include "common/file_util.h"

#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/fakes/test_util.h"

namespace initkit {
namespace {

TEST(FileUtilTest, AtomicWriteSetsModeAndLeavesNoTemp) {
  testing::TempDir dir;
  std::string path = dir.Sub("f");
  ASSERT_TRUE(WriteFileAtomic(path, "one", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(path, "two", 0600).ok());
  EXPECT_EQ(testing::ReadFile(path), "two");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) (void)e, ++entries;
  EXPECT_EQ(entries, 1);
  Status bad = WriteFileAtomic(dir.Sub("missing/f"), "x", 0600);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("missing/f"), std::string::npos);
}

}  // namespace
}  // namespace initkit
