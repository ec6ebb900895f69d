#include "tools/bootstrap/options.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>

#include <thread>

#include "tools/bootstrap/copy_plan.h"

namespace initkit::bootstrap {
namespace {

TEST(Options, ParseMode) {
  mode_t m = 0;
  EXPECT_TRUE(ParseMode("dir-mode", "0755", &m).ok());
  EXPECT_EQ(m, 0755u);
  EXPECT_TRUE(ParseMode("dir-mode", "644", &m).ok());
  EXPECT_EQ(m, 0644u);
  EXPECT_TRUE(ParseMode("dir-mode", "2775", &m).ok());
  EXPECT_EQ(m, 02775u);
  for (const char* bad : {"", "0789", "rwx", "17777", "-1", "0x1ff", " 755"}) {
    Status st = ParseMode("dir-mode", bad, &m);
    EXPECT_EQ(st.kind(), Status::Kind::kUsage) << bad;
    EXPECT_NE(st.message().find("--dir-mode"), std::string::npos);
  }
}

TEST(Options, ParseOwner) {
  uid_t u = 0;
  gid_t g = 0;
  ASSERT_TRUE(ParseOwner("82:83", &u, &g).ok());
  EXPECT_EQ(u, 82u);
  EXPECT_EQ(g, 83u);
  for (const char* bad : {"82", "www-data:www-data", ":1", "1:", "1:2:3", "4294967295:1", "-1:0"}) {
    EXPECT_EQ(ParseOwner(bad, &u, &g).kind(), Status::Kind::kUsage) << bad;
  }
}

TEST(Options, NormaliseRelPath) {
  std::string out;
  ASSERT_TRUE(NormaliseRelPath("mkdir", "storage//forms/", &out).ok());
  EXPECT_EQ(out, "storage/forms");
  EXPECT_FALSE(NormaliseRelPath("mkdir", "/abs", &out).ok());
  EXPECT_FALSE(NormaliseRelPath("mkdir", "a/../b", &out).ok());
  EXPECT_FALSE(NormaliseRelPath("mkdir", "./a", &out).ok());
  EXPECT_FALSE(NormaliseRelPath("mkdir", "", &out).ok());
  EXPECT_FALSE(NormaliseRelPath("mkdir", "//", &out).ok());
}

TEST(Options, MarkerName) {
  EXPECT_TRUE(CheckMarkerName(".initkit-ready").ok());
  EXPECT_FALSE(CheckMarkerName("a/b").ok());
  EXPECT_FALSE(CheckMarkerName("..").ok());
  EXPECT_FALSE(CheckMarkerName("").ok());
}

TEST(Options, TargetModeKeepsExecBitsTheReadBitsAllow) {
  Options o;  // 0755 / 0644, keep_exec
  EXPECT_EQ(TargetMode(o, S_IFREG | 0600), 0644u);
  EXPECT_EQ(TargetMode(o, S_IFREG | 0700), 0755u);
  EXPECT_EQ(TargetMode(o, S_IFREG | 0610), 0755u);  // any x bit counts
  EXPECT_EQ(TargetMode(o, S_IFDIR | 0700), 0755u);
  o.file_mode = 0640;
  EXPECT_EQ(TargetMode(o, S_IFREG | 0700), 0750u);
  o.keep_exec = false;
  EXPECT_EQ(TargetMode(o, S_IFREG | 0755), 0640u);
  o.preserve_modes = true;
  EXPECT_EQ(TargetMode(o, S_IFREG | 04711), 04711u);
  EXPECT_EQ(TargetMode(o, S_IFDIR | 0700), 0700u);
}

TEST(Options, ProtectedPaths) {
  std::vector<std::string> m = {"storage/forms", "storage/tmp", "cache"};
  EXPECT_TRUE(IsProtected(m, "storage"));
  EXPECT_TRUE(IsProtected(m, "storage/forms"));
  EXPECT_TRUE(IsProtected(m, "storage/forms/upload.pdf"));
  EXPECT_TRUE(IsProtected(m, "cache"));
  EXPECT_FALSE(IsProtected(m, "storage/other"));
  EXPECT_FALSE(IsProtected(m, "storage/form"));
  EXPECT_FALSE(IsProtected(m, "storage/formsX"));
  EXPECT_FALSE(IsProtected(m, "cachex"));
  EXPECT_FALSE(IsProtected(m, "vendor"));
}

TEST(Options, DefaultJobsFollowsTheCpuAffinity) {
  // sched_setaffinity(0, ...) binds the calling thread only: do it in a
  // thread of its own so the test process keeps all its CPUs.
  cpu_set_t all;
  ASSERT_EQ(sched_getaffinity(0, sizeof all, &all), 0);
  EXPECT_EQ(DefaultJobs(), CPU_COUNT(&all));
  int cpu = -1;
  for (int i = 0; i < CPU_SETSIZE && cpu < 0; ++i) {
    if (CPU_ISSET(i, &all)) cpu = i;
  }
  ASSERT_GE(cpu, 0);
  int jobs_on_one = 0;
  std::thread t([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) == 0) jobs_on_one = DefaultJobs();
  });
  t.join();
  EXPECT_EQ(jobs_on_one, 1);  // a container limited to one CPU gets one thread
}

}  // namespace
}  // namespace initkit::bootstrap
