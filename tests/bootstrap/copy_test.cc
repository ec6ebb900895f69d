// In-process tests of the copy engine (Run): modes, symlinks, names,
// incremental re-runs, --delete, excludes, destination symlink attacks.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "tests/bootstrap/tree_helpers.h"
#include "tests/fakes/test_util.h"
#include "tools/bootstrap/fs_util.h"

namespace initkit::bootstrap {
namespace {

using namespace testhelp;
using initkit::testing::ReadFile;
using initkit::testing::TempDir;
using initkit::testing::WriteFile;

class CopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src = tmp.Sub("src");
    dst = tmp.Sub("dst");
    Mkdir(src);
  }
  TempDir tmp;
  std::string src, dst;
};

TEST_F(CopyTest, ModesFollowTheFlags) {
  WriteFile(src + "/index.php", "<?php echo 1;", 0600);
  WriteFile(src + "/bin/console", "#!/bin/sh\n", 0700);
  WriteFile(src + "/bin/group-exec", "x", 0610);
  WriteFile(src + "/empty", "", 0644);
  ASSERT_EQ(chmod((src + "/bin").c_str(), 0700), 0);
  SetMtime(src + "/index.php", 1600000000, 123456789);

  RunSummary s;
  ASSERT_TRUE(Copy(MakeOptions(src, dst), &s).ok());
  EXPECT_EQ(ModeOf(dst + "/index.php") & 07777, 0644u);
  EXPECT_EQ(ModeOf(dst + "/bin/console") & 07777, 0755u);
  EXPECT_EQ(ModeOf(dst + "/bin/group-exec") & 07777, 0755u);
  EXPECT_EQ(ModeOf(dst + "/bin") & 07777, 0755u);
  EXPECT_EQ(ModeOf(dst + "/empty") & 07777, 0644u);
  EXPECT_EQ(ReadFile(dst + "/index.php"), "<?php echo 1;");
  EXPECT_EQ(ReadFile(dst + "/empty"), "");
  auto snap = Snapshot(dst);
  EXPECT_TRUE(SameTime(snap["index.php"].mtime, {1600000000, 123456789}));
  EXPECT_EQ(s.files, 4u);
  EXPECT_EQ(s.files_copied, 4u);
  EXPECT_EQ(s.bytes, 13u + 10u + 1u);

  Options o = MakeOptions(src, tmp.Sub("noexec"));
  o.keep_exec = false;
  o.dir_mode = 0750;
  o.file_mode = 0640;
  ASSERT_TRUE(Copy(o).ok());
  EXPECT_EQ(ModeOf(tmp.Sub("noexec/bin/console")) & 07777, 0640u);
  EXPECT_EQ(ModeOf(tmp.Sub("noexec/bin")) & 07777, 0750u);

  o = MakeOptions(src, tmp.Sub("preserve"));
  o.preserve_modes = true;
  ASSERT_TRUE(Copy(o).ok());
  EXPECT_EQ(ModeOf(tmp.Sub("preserve/bin/console")) & 07777, 0700u);
  EXPECT_EQ(ModeOf(tmp.Sub("preserve/bin/group-exec")) & 07777, 0610u);
  EXPECT_EQ(ModeOf(tmp.Sub("preserve/index.php")) & 07777, 0600u);
  EXPECT_EQ(ModeOf(tmp.Sub("preserve/bin")) & 07777, 0700u);
}

TEST_F(CopyTest, ModesAreExactWhateverTheUmask) {
  WriteFile(src + "/a", "x", 0600);
  mode_t old = umask(077);
  Status st = Copy(MakeOptions(src, dst));
  umask(old);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(ModeOf(dst + "/a") & 07777, 0644u);
}

TEST_F(CopyTest, SymlinksAreCopiedNeverFollowed) {
  TempDir outside;
  WriteFile(outside.Sub("secret"), "outside", 0600);
  Mkdir(outside.Sub("dir"));
  WriteFile(outside.Sub("dir/inner"), "inner");
  WriteFile(src + "/real.php", "real");
  Symlink("real.php", src + "/relative");
  Symlink("/etc/passwd", src + "/absolute");
  Symlink("does/not/exist", src + "/dangling");
  Symlink(outside.Sub("secret"), src + "/outside-file");
  Symlink(outside.Sub("dir"), src + "/outside-dir");
  Symlink("../../../../..", src + "/up");

  ASSERT_TRUE(Copy(MakeOptions(src, dst)).ok());
  auto snap = Snapshot(dst);
  for (auto [name, target] :
       std::map<std::string, std::string>{{"relative", "real.php"},
                                          {"absolute", "/etc/passwd"},
                                          {"dangling", "does/not/exist"},
                                          {"outside-file", outside.Sub("secret")},
                                          {"outside-dir", outside.Sub("dir")},
                                          {"up", "../../../../.."}}) {
    ASSERT_TRUE(snap.count(name)) << name;
    EXPECT_TRUE(S_ISLNK(snap[name].mode)) << name;
    EXPECT_EQ(snap[name].link, target) << name;
  }
  // Nothing was copied from behind the links.
  EXPECT_FALSE(snap.count("outside-dir/inner"));
  EXPECT_EQ(snap.size(), 7u + 1u);  // and the marker
  // Re-run keeps equal links as they are.
  RunSummary s;
  ASSERT_TRUE(Copy(MakeOptions(src, dst), &s).ok());
  EXPECT_EQ(Snapshot(dst)["relative"].ino, snap["relative"].ino);
  EXPECT_EQ(s.files_copied, 0u);
}

TEST_F(CopyTest, WeirdNames) {
  const std::vector<std::string> names = {"with space.php", "new\nline", "\xff\xfe-latin1-\xe9",
                                          "-dash",          "tab\there", "back\\slash",
                                          "*star?",         ".hidden"};
  for (const auto& n : names) WriteFile(src + "/" + n, n);
  Mkdir(src + "/dir with\nnewline");
  WriteFile(src + "/dir with\nnewline/\x80", "x");
  std::string out;
  Options dry = MakeOptions(src, dst);
  dry.dry_run = true;
  ASSERT_TRUE(Copy(dry, nullptr, &out).ok());
  EXPECT_NE(out.find("copy new\\nline"), std::string::npos) << out;
  EXPECT_NE(out.find("\\xff\\xfe-latin1-\\xe9"), std::string::npos) << out;
  ASSERT_TRUE(Copy(MakeOptions(src, dst)).ok());
  for (const auto& n : names) EXPECT_EQ(ReadFile(dst + "/" + n), n) << n;
  EXPECT_EQ(ReadFile(dst + "/dir with\nnewline/\x80"), "x");
}

TEST_F(CopyTest, LargeFile) {
  // 200 MB: sparse in the source (quick to make), real data at a few places.
  const off_t kSize = 200ll << 20;
  int fd = open((src + "/big.bin").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, kSize), 0);
  const off_t marks[] = {0, 17ll << 20, (100ll << 20) + 3, kSize - 8};
  for (off_t off : marks) ASSERT_EQ(pwrite(fd, "MARKMARK", 8, off), 8);
  close(fd);
  RunSummary s;
  ASSERT_TRUE(Copy(MakeOptions(src, dst), &s).ok());
  EXPECT_EQ(s.bytes_copied, static_cast<uint64_t>(kSize));
  struct stat st;
  ASSERT_EQ(stat((dst + "/big.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, kSize);
  int a = open((src + "/big.bin").c_str(), O_RDONLY);
  int b = open((dst + "/big.bin").c_str(), O_RDONLY);
  std::vector<char> ba(1 << 20), bb(1 << 20);
  for (off_t off = 0; off < kSize; off += 1 << 20) {
    ASSERT_EQ(pread(a, ba.data(), ba.size(), off), static_cast<ssize_t>(ba.size()));
    ASSERT_EQ(pread(b, bb.data(), bb.size(), off), static_cast<ssize_t>(bb.size()));
    ASSERT_EQ(std::memcmp(ba.data(), bb.data(), ba.size()), 0) << "differs in MiB at " << off;
  }
  close(a);
  close(b);
}

TEST_F(CopyTest, EveryDataCopyMethodCopiesTheSameBytes) {
  // 20 MB crosses the 16 MB chunk boundary; odd sizes and an empty file.
  std::string big(20 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) >> 3);
  WriteFile(src + "/big", big);
  WriteFile(src + "/small", "0123456789");
  WriteFile(src + "/empty", "");
  for (int method : {0, 1, 2}) {
    Options o = MakeOptions(src, tmp.Sub("m" + std::to_string(method)));
    o.copy_method = method;
    ASSERT_TRUE(Copy(o).ok()) << method;
    EXPECT_TRUE(ReadFile(o.to + "/big") == big) << method;
    EXPECT_EQ(ReadFile(o.to + "/small"), "0123456789") << method;
    EXPECT_EQ(ReadFile(o.to + "/empty"), "") << method;
  }
}

// Creates a chain of `depth` directories named `seg` under `root` (by fd,
// since the total path is longer than PATH_MAX) with a file at the bottom.
void MakeDeep(const std::string& root, const std::string& seg, int depth) {
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < depth; ++i) {
    ASSERT_EQ(mkdirat(fd, seg.c_str(), 0755), 0) << i;
    int next = openat(fd, seg.c_str(), O_RDONLY | O_DIRECTORY);
    close(fd);
    ASSERT_GE(next, 0);
    fd = next;
  }
  int f = openat(fd, "bottom.txt", O_WRONLY | O_CREAT, 0644);
  ASSERT_EQ(write(f, "deep", 4), 4);
  close(f);
  close(fd);
}

// Reads the file at the bottom of a MakeDeep chain, "" if missing.
std::string ReadDeep(const std::string& root, const std::string& seg, int depth) {
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < depth && fd >= 0; ++i) {
    int next = openat(fd, seg.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    close(fd);
    fd = next;
  }
  if (fd < 0) return "";
  int f = openat(fd, "bottom.txt", O_RDONLY);
  close(fd);
  if (f < 0) return "";
  char buf[16];
  ssize_t n = read(f, buf, sizeof buf);
  close(f);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

TEST_F(CopyTest, TreesDeeperThanPathMax) {
  const std::string seg(40, 'd');
  const int depth = 110;  // 110 * 41 bytes > PATH_MAX (4096)
  MakeDeep(src, seg, depth);
  ASSERT_TRUE(Copy(MakeOptions(src, dst)).ok());
  EXPECT_EQ(ReadDeep(dst, seg, depth), "deep");
  RunSummary s;
  ASSERT_TRUE(Copy(MakeOptions(src, dst), &s).ok());
  EXPECT_EQ(s.files_copied, 0u);
  EXPECT_EQ(s.files_skipped, 1u);
  // --delete removes a deep tree the source no longer has.
  MakeDeep(dst, "x", depth * 2);
  Options o = MakeOptions(src, dst);
  o.delete_extra = true;
  ASSERT_TRUE(Copy(o, &s).ok());
  EXPECT_FALSE(Exists(dst + "/x"));
  EXPECT_EQ(s.deleted, static_cast<uint64_t>(depth * 2 + 1));
  // TempDir's path-based cleanup cannot remove trees this deep.
  uint64_t removed = 0;
  EXPECT_TRUE(RemoveAt(AT_FDCWD, src, src, &removed).ok());
  EXPECT_TRUE(RemoveAt(AT_FDCWD, dst, dst, &removed).ok());
  EXPECT_FALSE(Exists(dst));
}

TEST_F(CopyTest, IncrementalRerunChangesNothing) {
  for (int i = 0; i < 30; ++i) {
    WriteFile(src + "/d" + std::to_string(i % 4) + "/f" + std::to_string(i) + ".php",
              std::string(i * 10, 'x'), i % 3 == 0 ? 0755 : 0644);
  }
  Symlink("d0", src + "/link");
  Options o = MakeOptions(src, dst);
  o.mkdirs = {"storage/forms", "storage/tmp"};
  ASSERT_TRUE(Copy(o).ok());
  auto before = Snapshot(dst);
  before.erase(".initkit-ready");

  RunSummary s;
  ASSERT_TRUE(Copy(o, &s).ok());
  EXPECT_EQ(s.files_copied, 0u);
  EXPECT_EQ(s.files_skipped, 31u);
  auto after = Snapshot(dst);
  after.erase(".initkit-ready");
  ASSERT_EQ(before.size(), after.size());
  for (const auto& [path, n] : before) {
    ASSERT_TRUE(after.count(path)) << path;
    const Node& m = after[path];
    EXPECT_EQ(n.ino, m.ino) << path;
    EXPECT_EQ(n.mode, m.mode) << path;
    EXPECT_TRUE(SameTime(n.mtime, m.mtime)) << path;
    EXPECT_TRUE(SameTime(n.ctime, m.ctime)) << path;
  }

  // A changed source file (size or mtime) is copied again, only that one.
  WriteFile(src + "/d1/f1.php", "changed");
  SetMtime(src + "/d2/f2.php", 1500000000, 1);
  ASSERT_TRUE(Copy(o, &s).ok());
  EXPECT_EQ(s.files_copied, 2u);
  EXPECT_EQ(ReadFile(dst + "/d1/f1.php"), "changed");
  auto third = Snapshot(dst);
  EXPECT_TRUE(SameTime(third["d2/f2.php"].mtime, {1500000000, 1}));
  EXPECT_EQ(third["d3/f3.php"].ino, before["d3/f3.php"].ino);
  EXPECT_TRUE(SameTime(third["d3/f3.php"].ctime, before["d3/f3.php"].ctime));
}

TEST_F(CopyTest, RerunFixesModesWithoutRewriting) {
  WriteFile(src + "/a.php", "a");
  ASSERT_TRUE(Copy(MakeOptions(src, dst)).ok());
  auto before = Snapshot(dst);
  Options o = MakeOptions(src, dst);
  o.file_mode = 0600;
  o.dir_mode = 0700;
  WriteFile(src + "/sub/b.php", "b");
  RunSummary s;
  ASSERT_TRUE(Copy(o, &s).ok());
  EXPECT_EQ(s.files_copied, 1u);
  auto after = Snapshot(dst);
  EXPECT_EQ(after["a.php"].mode & 07777, 0600u);
  EXPECT_EQ(after["a.php"].ino, before["a.php"].ino);
  EXPECT_TRUE(SameTime(after["a.php"].mtime, before["a.php"].mtime));
  EXPECT_EQ(after["sub"].mode & 07777, 0700u);
}

TEST_F(CopyTest, OwnerIsAppliedAndCorrected) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  WriteFile(src + "/a/b.php", "b");
  Symlink("b.php", src + "/a/l");
  Options o = MakeOptions(src, dst);
  o.uid = 1234;
  o.gid = 5678;
  o.mkdirs = {"storage/forms"};
  ASSERT_TRUE(Copy(o).ok());
  auto snap = Snapshot(dst);
  ASSERT_TRUE(snap.count(".initkit-ready"));
  ASSERT_TRUE(snap.count("storage/forms"));
  for (const auto& [path, n] : snap) {
    EXPECT_EQ(n.uid, 1234u) << path;
    EXPECT_EQ(n.gid, 5678u) << path;
  }
  o.uid = 42;
  o.gid = 43;
  ASSERT_TRUE(Copy(o).ok());
  snap = Snapshot(dst);
  EXPECT_EQ(snap["a/b.php"].uid, 42u);
  EXPECT_EQ(snap[".initkit-ready"].uid, 42u);
  EXPECT_EQ(snap["a/l"].gid, 43u);
  EXPECT_EQ(snap["a"].uid, 42u);
}

TEST_F(CopyTest, OwnerCoversACreatedToButNotAnExistingOne) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  WriteFile(src + "/index.php", "i");
  // --to and a missing parent of it are created: both get the owner and
  // --dir-mode, so the app user can write at the top of its copy.
  Options o = MakeOptions(src, tmp.Sub("new/app"));
  o.uid = 33;
  o.gid = 44;
  o.dir_mode = 0750;
  ASSERT_TRUE(Copy(o).ok());
  for (const std::string& p : {tmp.Sub("new"), tmp.Sub("new/app")}) {
    struct stat st;
    ASSERT_EQ(lstat(p.c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_uid, 33u) << p;
    EXPECT_EQ(st.st_gid, 44u) << p;
    EXPECT_EQ(st.st_mode & 07777, 0750u) << p;
  }
  // An existing --to (an emptyDir: the kubelet made it, fsGroup may own it)
  // keeps its owner and mode.
  Mkdir(dst, 0777);
  ASSERT_EQ(chown(dst.c_str(), 7, 8), 0);
  o.to = dst;
  ASSERT_TRUE(Copy(o).ok());
  struct stat st;
  ASSERT_EQ(lstat(dst.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 7u);
  EXPECT_EQ(st.st_gid, 8u);
  EXPECT_EQ(st.st_mode & 07777, 0777u);
  EXPECT_EQ(Snapshot(dst)["index.php"].uid, 33u);
}

// Allocated bytes of `path` (st_blocks).
uint64_t Allocated(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ~uint64_t{0};
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

TEST_F(CopyTest, SparseFilesStaySparseWithEveryCopyMethod) {
  // 64 MiB apparent, three 4 KiB data blocks: at the start, in the middle
  // and one before a trailing hole (the size comes from ftruncate alone).
  const off_t kSize = 64ll << 20;
  int fd = open((src + "/sparse.bin").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, kSize), 0);
  const std::string block(4096, 'S');
  const off_t marks[] = {0, 20ll << 20, 40ll << 20};
  for (off_t off : marks) {
    ASSERT_EQ(pwrite(fd, block.data(), block.size(), off), static_cast<ssize_t>(block.size()));
  }
  close(fd);
  if (Allocated(src + "/sparse.bin") > (1u << 20)) GTEST_SKIP() << "no holes on this file system";
  WriteFile(src + "/dense.txt", "dense");
  for (int method : {0, 1, 2}) {
    Options o = MakeOptions(src, tmp.Sub("m" + std::to_string(method)));
    o.copy_method = method;
    RunSummary s;
    ASSERT_TRUE(Copy(o, &s).ok()) << method;
    const std::string out = o.to + "/sparse.bin";
    EXPECT_LE(Allocated(out), 1u << 20) << method;
    struct stat st;
    ASSERT_EQ(stat(out.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, kSize) << method;
    EXPECT_EQ(s.bytes_copied, static_cast<uint64_t>(kSize) + 5) << method;
    int in = open(out.c_str(), O_RDONLY);
    ASSERT_GE(in, 0);
    std::string got(4096, '\0');
    for (off_t off : marks) {
      ASSERT_EQ(pread(in, got.data(), got.size(), off), 4096) << method;
      EXPECT_EQ(got, block) << method << " at " << off;
    }
    // A hole reads as zeros, right after a data block and at the end.
    ASSERT_EQ(pread(in, got.data(), got.size(), 4096), 4096);
    EXPECT_EQ(got, std::string(4096, '\0')) << method;
    ASSERT_EQ(pread(in, got.data(), got.size(), kSize - 4096), 4096);
    EXPECT_EQ(got, std::string(4096, '\0')) << method;
    close(in);
    EXPECT_EQ(ReadFile(o.to + "/dense.txt"), "dense");
  }
}

TEST_F(CopyTest, DeleteRemovesOnlyWhatTheSourceNoLongerHas) {
  WriteFile(src + "/keep.php", "k");
  WriteFile(src + "/app/keep.php", "k");
  WriteFile(src + "/app/cache.log", "excluded in source");
  WriteFile(src + "/storage/keep", "k");
  ASSERT_TRUE(Copy(MakeOptions(src, dst)).ok());
  WriteFile(dst + "/gone.php", "old");
  WriteFile(dst + "/old/dir/deep.php", "old");
  Symlink("/etc", dst + "/oldlink");
  WriteFile(dst + "/app/runtime.log", "excluded");
  WriteFile(dst + "/storage/forms/upload.pdf", "user data");
  WriteFile(dst + "/storage/junk", "junk");

  Options o = MakeOptions(src, dst);
  o.excludes = {"*.log"};
  o.mkdirs = {"storage/forms"};
  // Without --delete nothing goes.
  ASSERT_TRUE(Copy(o).ok());
  EXPECT_TRUE(Exists(dst + "/gone.php"));
  EXPECT_TRUE(Exists(dst + "/old/dir/deep.php"));

  o.delete_extra = true;
  std::string out;
  Options dry = o;
  dry.dry_run = true;
  ASSERT_TRUE(Copy(dry, nullptr, &out).ok());
  EXPECT_NE(out.find("delete gone.php\n"), std::string::npos) << out;
  EXPECT_NE(out.find("delete old/\n"), std::string::npos) << out;
  EXPECT_TRUE(Exists(dst + "/gone.php"));  // dry run changed nothing

  RunSummary s;
  ASSERT_TRUE(Copy(o, &s).ok());
  EXPECT_FALSE(Exists(dst + "/gone.php"));
  EXPECT_FALSE(Exists(dst + "/old"));
  EXPECT_FALSE(Exists(dst + "/oldlink"));
  EXPECT_FALSE(Exists(dst + "/storage/junk"));
  EXPECT_TRUE(Exists("/etc/passwd"));
  EXPECT_EQ(s.deleted, 6u);  // gone.php, old, old/dir, deep.php, oldlink, storage/junk
  EXPECT_TRUE(Exists(dst + "/app/runtime.log"));           // excluded
  EXPECT_TRUE(Exists(dst + "/app/cache.log"));             // excluded (copied earlier)
  EXPECT_TRUE(Exists(dst + "/storage/forms/upload.pdf"));  // under --mkdir
  EXPECT_TRUE(Exists(dst + "/.initkit-ready"));
  EXPECT_TRUE(Exists(dst + "/keep.php"));
}

TEST_F(CopyTest, Excludes) {
  WriteFile(src + "/index.php", "i");
  WriteFile(src + "/debug.log", "l");
  WriteFile(src + "/a/b/trace.log", "l");
  WriteFile(src + "/node_modules/x.js", "x");
  WriteFile(src + "/web/node_modules/y.js", "y");
  WriteFile(src + "/storage/tmp/cache/z", "z");
  WriteFile(src + "/storage/keep", "k");
  WriteFile(src + "/tests/unit/ATest.php", "t");
  Options o = MakeOptions(src, dst);
  o.excludes = {"*.log", "/node_modules", "storage/tmp/**", "tests/"};
  RunSummary s;
  ASSERT_TRUE(Copy(o, &s).ok());
  EXPECT_TRUE(Exists(dst + "/index.php"));
  EXPECT_FALSE(Exists(dst + "/debug.log"));
  EXPECT_FALSE(Exists(dst + "/a/b/trace.log"));
  EXPECT_TRUE(Exists(dst + "/a/b"));
  EXPECT_FALSE(Exists(dst + "/node_modules"));
  EXPECT_TRUE(Exists(dst + "/web/node_modules/y.js"));
  // "storage/tmp/**" is what is inside storage/tmp: the directory stays,
  // empty, as with rsync (to drop it too: "storage/tmp" or "storage/tmp/").
  EXPECT_TRUE(S_ISDIR(ModeOf(dst + "/storage/tmp")));
  EXPECT_FALSE(Exists(dst + "/storage/tmp/cache"));
  EXPECT_TRUE(Exists(dst + "/storage/keep"));
  EXPECT_FALSE(Exists(dst + "/tests"));
  EXPECT_EQ(s.excluded, 5u);
}

TEST_F(CopyTest, DestinationSymlinksAreReplacedNeverWrittenThrough) {
  TempDir outside;
  WriteFile(outside.Sub("victim.php"), "victim");
  Mkdir(outside.Sub("victim-dir"));
  WriteFile(src + "/app.php", "new app");
  WriteFile(src + "/config/db.php", "new config");
  WriteFile(src + "/link", "a file now");
  Symlink("new-target", src + "/changed-link");
  Mkdir(dst);
  Symlink(outside.Sub("victim.php"), dst + "/app.php");
  Symlink(outside.Sub("victim-dir"), dst + "/config");
  Symlink(outside.Sub("victim.php"), dst + "/link");
  Symlink("old-target", dst + "/changed-link");
  Symlink(outside.Sub("victim.php"), dst + "/.initkit-ready");
  // A --mkdir path through a symlink must not create anything outside.
  Symlink(outside.Sub("victim-dir"), dst + "/storage");

  Options o = MakeOptions(src, dst);
  o.mkdirs = {"storage/forms"};
  Status st = Copy(o);
  EXPECT_EQ(st.kind(), Status::Kind::kFailed);
  EXPECT_NE(st.message().find("storage"), std::string::npos) << st.message();
  EXPECT_FALSE(Exists(outside.Sub("victim-dir/forms")));
  EXPECT_FALSE(Exists(dst + "/.initkit-ready"));  // the link was removed, no marker written

  o.mkdirs.clear();
  ASSERT_TRUE(Copy(o).ok());
  EXPECT_EQ(ReadFile(outside.Sub("victim.php")), "victim");
  EXPECT_TRUE(Snapshot(outside.path()).size() == 2u);  // victim.php, victim-dir (empty)
  EXPECT_TRUE(S_ISREG(ModeOf(dst + "/app.php")));
  EXPECT_EQ(ReadFile(dst + "/app.php"), "new app");
  EXPECT_TRUE(S_ISDIR(ModeOf(dst + "/config")));
  EXPECT_EQ(ReadFile(dst + "/config/db.php"), "new config");
  EXPECT_TRUE(S_ISREG(ModeOf(dst + "/link")));
  EXPECT_EQ(Snapshot(dst)["changed-link"].link, "new-target");
  EXPECT_TRUE(S_ISREG(ModeOf(dst + "/.initkit-ready")));
}

// Without --delete the destination is not listed (each source name is looked
// up there); with it, it is: both must see every kind of change.
TEST_F(CopyTest, TypeChangesReplaceTheDestination) {
  WriteFile(src + "/was-dir", "now a file");
  WriteFile(src + "/was-file/inner.php", "now a dir");
  WriteFile(src + "/was-link/inner.php", "now a dir");
  WriteFile(src + "/same-dir/kept.php", "kept");
  for (bool del : {false, true}) {
    SCOPED_TRACE(del ? "--delete" : "no --delete");
    const std::string to = tmp.Sub(del ? "dst-delete" : "dst-plain");
    const std::string elsewhere = tmp.Sub(del ? "elsewhere-delete" : "elsewhere-plain");
    WriteFile(to + "/was-dir/old/x.php", "old");
    WriteFile(to + "/was-file", "old");
    WriteFile(elsewhere + "/inner.php", "outside");
    ASSERT_EQ(symlink(elsewhere.c_str(), (to + "/was-link").c_str()), 0);
    WriteFile(to + "/same-dir/kept.php", "kept");
    struct stat st;
    ASSERT_EQ(stat((src + "/same-dir/kept.php").c_str(), &st), 0);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    ASSERT_EQ(utimensat(AT_FDCWD, (to + "/same-dir/kept.php").c_str(), times, 0), 0);
    ASSERT_EQ(chmod((to + "/same-dir").c_str(), 0700), 0);
    Options o = MakeOptions(src, to);
    o.delete_extra = del;
    // The plan first: what it decided for each kind, and its counts.
    o.dry_run = true;
    std::string out;
    ASSERT_TRUE(Copy(o, nullptr, &out).ok());
    for (const char* line :
         {"replace was-dir (10 bytes, mode 0644)\n", "replace-with-dir was-file/ (mode 0755)\n",
          "replace-with-dir was-link/ (mode 0755)\n", "chmod 0755 same-dir\n",
          "would copy 3 files (28 bytes), link 0, leave 1 unchanged, fix 1 modes/owners, "
          "delete 0,"}) {
      EXPECT_NE(out.find(line), std::string::npos) << line << " in:\n" << out;
    }
    EXPECT_EQ(out.find("mkdir same-dir"), std::string::npos) << out;
    o.dry_run = false;
    ASSERT_TRUE(Copy(o).ok());
    EXPECT_EQ(ReadFile(to + "/was-dir"), "now a file");
    EXPECT_EQ(ReadFile(to + "/was-file/inner.php"), "now a dir");
    EXPECT_TRUE(S_ISDIR(ModeOf(to + "/was-link")));
    EXPECT_EQ(ReadFile(to + "/was-link/inner.php"), "now a dir");
    EXPECT_EQ(ReadFile(elsewhere + "/inner.php"), "outside");
    EXPECT_EQ(ModeOf(to + "/same-dir") & 07777, 0755u);  // kept, mode fixed
  }
}

TEST_F(CopyTest, SpecialFilesAreSkipped) {
  ASSERT_EQ(mkfifo((src + "/fifo").c_str(), 0644), 0);
  WriteFile(src + "/a.php", "a");
  RunSummary s;
  ASSERT_TRUE(Copy(MakeOptions(src, dst), &s).ok());
  EXPECT_FALSE(Exists(dst + "/fifo"));
  EXPECT_EQ(s.specials_skipped, 1u);
  EXPECT_EQ(ReadFile(dst + "/a.php"), "a");
}

TEST_F(CopyTest, HardLinksAreKeptAsWithCpA) {
  WriteFile(src + "/a.php", "same inode");
  ASSERT_EQ(link((src + "/a.php").c_str(), (src + "/b.php").c_str()), 0);
  WriteFile(src + "/sub/solo.php", "solo");
  ASSERT_EQ(link((src + "/a.php").c_str(), (src + "/sub/c.php").c_str()), 0);
  WriteFile(src + "/excluded.bak", "x");
  ASSERT_EQ(link((src + "/excluded.bak").c_str(), (src + "/kept.php").c_str()), 0);
  Options o = MakeOptions(src, dst);
  o.excludes = {"*.bak"};
  std::string out;
  Options dry = o;
  dry.dry_run = true;
  ASSERT_TRUE(Copy(dry, nullptr, &out).ok());
  EXPECT_NE(out.find("link b.php => a.php\n"), std::string::npos) << out;
  EXPECT_NE(out.find("link sub/c.php => a.php\n"), std::string::npos) << out;

  RunSummary s;
  ASSERT_TRUE(Copy(o, &s).ok());
  auto snap = Snapshot(dst);
  EXPECT_EQ(snap["a.php"].ino, snap["b.php"].ino);
  EXPECT_EQ(snap["a.php"].ino, snap["sub/c.php"].ino);
  EXPECT_EQ(ReadFile(dst + "/sub/c.php"), "same inode");
  EXPECT_EQ(ReadFile(dst + "/kept.php"), "x");  // its other name is excluded: a plain copy
  EXPECT_FALSE(Exists(dst + "/excluded.bak"));
  EXPECT_EQ(s.files_copied, 3u);  // a.php, solo.php, kept.php
  EXPECT_EQ(s.hardlinks, 2u);

  // A re-run keeps the links; a name that became a separate equal file
  // (an older copy, or someone's edit) is linked again.
  ASSERT_TRUE(Copy(o, &s).ok());
  EXPECT_EQ(s.files_copied, 0u);
  EXPECT_EQ(s.hardlinks, 0u);
  EXPECT_EQ(Snapshot(dst)["b.php"].ino, snap["a.php"].ino);
  ASSERT_EQ(unlink((dst + "/b.php").c_str()), 0);
  WriteFile(dst + "/b.php", "same inode");
  SetMtime(dst + "/b.php", snap["a.php"].mtime.tv_sec, snap["a.php"].mtime.tv_nsec);
  ASSERT_NE(Snapshot(dst)["b.php"].ino, snap["a.php"].ino);
  ASSERT_TRUE(Copy(o, &s).ok());
  EXPECT_EQ(s.files_copied, 0u);
  EXPECT_EQ(s.hardlinks, 1u);
  EXPECT_EQ(Snapshot(dst)["b.php"].ino, snap["a.php"].ino);
  EXPECT_EQ(Snapshot(dst)["sub/c.php"].ino, snap["a.php"].ino);
}

TEST_F(CopyTest, MarkerIsWrittenLastAsJson) {
  WriteFile(src + "/a.php", "abc");
  WriteFile(src + "/.initkit-ready", "a marker in the source is never copied");
  Options o = MakeOptions(src, dst);
  o.mkdirs = {"storage/forms", "storage/views"};
  ASSERT_TRUE(Copy(o).ok());
  nlohmann::json j = nlohmann::json::parse(ReadFile(dst + "/.initkit-ready"));
  EXPECT_EQ(j["files"], 1);
  EXPECT_EQ(j["bytes"], 3);
  EXPECT_TRUE(j["seconds"].is_number());
  EXPECT_EQ(ModeOf(dst + "/storage/forms") & 07777, 0755u);
  EXPECT_TRUE(S_ISDIR(ModeOf(dst + "/storage/views")));

  o.marker = "ready.json";
  ASSERT_TRUE(Copy(o).ok());
  EXPECT_TRUE(Exists(dst + "/ready.json"));
}

TEST_F(CopyTest, DryRunChangesNothing) {
  WriteFile(src + "/a/b.php", "b");
  Symlink("b.php", src + "/a/l");
  Mkdir(dst);
  WriteFile(dst + "/.initkit-ready", "{}");
  WriteFile(dst + "/extra", "e");
  auto before = Snapshot(dst);
  Options o = MakeOptions(src, dst);
  o.dry_run = true;
  o.delete_extra = true;
  o.mkdirs = {"storage/forms"};
  std::string out;
  ASSERT_TRUE(Copy(o, nullptr, &out).ok());
  EXPECT_NE(out.find("mkdir a/"), std::string::npos) << out;
  EXPECT_NE(out.find("copy a/b.php (1 bytes, mode 0644)"), std::string::npos) << out;
  EXPECT_NE(out.find("symlink a/l -> b.php"), std::string::npos) << out;
  EXPECT_NE(out.find("delete extra"), std::string::npos) << out;
  EXPECT_NE(out.find("mkdir storage/forms/ (--mkdir)"), std::string::npos) << out;
  auto after = Snapshot(dst);
  ASSERT_EQ(before.size(), after.size());
  for (const auto& [p, n] : before) EXPECT_EQ(after[p].ino, n.ino) << p;
  // A destination that does not exist yet is not created by a dry run.
  o.to = tmp.Sub("not-yet");
  ASSERT_TRUE(Copy(o, nullptr, &out).ok());
  EXPECT_FALSE(Exists(tmp.Sub("not-yet")));
}

TEST_F(CopyTest, BadRoots) {
  EXPECT_EQ(Copy(MakeOptions(tmp.Sub("missing"), dst)).kind(), Status::Kind::kUsage);
  WriteFile(tmp.Sub("file"), "x");
  EXPECT_EQ(Copy(MakeOptions(tmp.Sub("file"), dst)).kind(), Status::Kind::kUsage);
  EXPECT_EQ(Copy(MakeOptions(src, tmp.Sub("file"))).kind(), Status::Kind::kUsage);
  EXPECT_EQ(Copy(MakeOptions(src, src)).kind(), Status::Kind::kUsage);
  // --to inside --from: the copy does not recurse into itself.
  WriteFile(src + "/a.php", "a");
  ASSERT_TRUE(Copy(MakeOptions(src, src + "/out")).ok());
  EXPECT_TRUE(Exists(src + "/out/a.php"));
  EXPECT_FALSE(Exists(src + "/out/out"));
}

}  // namespace
}  // namespace initkit::bootstrap
