// Security review (issue #9): files holding secrets (initkit-secrets'
// dir: and env-file: targets) are 0600 whatever the umask, written
// atomically (a new inode renamed into place, no temporary left behind),
// and never written through a symlink planted at their path.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

namespace fs = std::filesystem;

const char kVictim[] = "not a secret, must stay\n";

struct Stat {
  mode_t mode = 0;
  ino_t ino = 0;
};

Stat LStat(const std::string& path) {
  struct stat sb;
  if (::lstat(path.c_str(), &sb) != 0) return {};
  return {sb.st_mode, sb.st_ino};
}

// The whole run with a umask that would leave files world-readable.
RunOutput SecretsWithUmaskZero(const std::vector<std::string>& args) {
  mode_t old = ::umask(0);
  RunOutput r = RunBinary("initkit-secrets", args);
  ::umask(old);
  return r;
}

// For the suite-wide leak scan: every KEY=value of an env file.
void RegisterEnvFileValues(const std::string& file) {
  std::string text = ReadFile(file);
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    if (size_t eq = line.find('='); eq != std::string::npos) {
      RegisterCredential(line.substr(eq + 1), "env-file value " + line.substr(0, eq));
    }
    pos = nl + 1;
  }
}

class SecretFilesTest : public ::testing::Test {
 protected:
  void SetUp() override { WriteFile(tmp.Sub("outside/victim"), kVictim, 0666); }
  void ExpectVictimUntouched() {
    EXPECT_EQ(ReadFile(tmp.Sub("outside/victim")), kVictim) << "written through a symlink";
    EXPECT_TRUE(S_ISREG(LStat(tmp.Sub("outside/victim")).mode));
  }
  TempDir tmp;
};

TEST_F(SecretFilesTest, DirTargetFilesAre0600AtomicAndNeverFollowSymlinks) {
  const std::string dir = tmp.Sub("run-secrets");
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  // An attacker (or an old image layer) planted symlinks where values go,
  // and a killed run left a temporary file.
  ASSERT_EQ(::symlink(tmp.Sub("outside/victim").c_str(), (dir + "/APP_ADMIN_PWD").c_str()), 0);
  WriteFile(dir + "/.APP_DB_DEFAULT_PWD.tmp-0123456789", "half", 0600);

  RunOutput r = SecretsWithUmaskZero({"sync", "--target", "dir:" + dir});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectVictimUntouched();
  std::map<std::string, ino_t> inodes;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename();
    Stat st = LStat(e.path());
    EXPECT_TRUE(S_ISREG(st.mode)) << name;
    EXPECT_EQ(st.mode & 07777, 0600u) << name;
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << "temporary file left: " << name;
    inodes[name] = st.ino;
    if (name[0] != '.') RegisterCredential(ReadFile(e.path()), "dir target value " + name);
  }
  EXPECT_EQ(inodes.size(), 5u);  // four values + the state file

  // The rotated value is replaced by rename (a new inode), the kept ones are
  // not rewritten at all.
  r = SecretsWithUmaskZero({"sync", "--target", "dir:" + dir});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(LStat(dir + "/APP_DB_DEFAULT_PWD").ino, inodes["APP_DB_DEFAULT_PWD"]);
  EXPECT_EQ(LStat(dir + "/APP_ENCRYPTION_KEY").ino, inodes["APP_ENCRYPTION_KEY"]);
  EXPECT_EQ(LStat(dir + "/APP_DB_DEFAULT_PWD").mode & 07777, 0600u);
  RegisterCredential(ReadFile(dir + "/APP_DB_DEFAULT_PWD"), "dir target rotated value");
}

// A symlink planted as the state file is refused (its target is not a
// state) or replaced, never written through.
TEST_F(SecretFilesTest, DirTargetStateFileSymlinkIsNeverWrittenThrough) {
  const std::string dir = tmp.Sub("run-secrets");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(tmp.Sub("outside/victim").c_str(), (dir + "/.initkit-state.json").c_str()),
            0);
  RunOutput r = SecretsWithUmaskZero({"sync", "--target", "dir:" + dir});
  ExpectVictimUntouched();
  if (r.exit_code == 0) {
    EXPECT_TRUE(S_ISREG(LStat(dir + "/.initkit-state.json").mode));
  } else {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(".initkit-state.json"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(kVictim), std::string::npos) << "printed the file it refused";
  }
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string()[0] != '.') RegisterCredential(ReadFile(e.path()), "dir value");
  }
}

TEST_F(SecretFilesTest, NewDirTargetIsPrivate) {
  ASSERT_EQ(::mkdir(tmp.Sub("new").c_str(), 0755), 0);
  const std::string dir = tmp.Sub("new/run-secrets");
  RunOutput r = SecretsWithUmaskZero({"sync", "--target", "dir:" + dir});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(LStat(dir).mode & 0077, 0u) << "a directory of secrets others can list";
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_EQ(LStat(e.path()).mode & 07777, 0600u) << e.path();
    if (e.path().filename().string()[0] != '.') RegisterCredential(ReadFile(e.path()), "dir value");
  }
}

TEST_F(SecretFilesTest, EnvFileIs0600AndReplacesAPlantedSymlink) {
  const std::string file = tmp.Sub("app.env");
  ASSERT_EQ(::symlink(tmp.Sub("outside/victim").c_str(), file.c_str()), 0);
  RunOutput r = SecretsWithUmaskZero({"sync", "--target", "env-file:" + file});
  // Either refused (what it does: the target is not an env file) or
  // replaced, never written through.
  ExpectVictimUntouched();
  if (r.exit_code != 0) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err.find(kVictim), std::string::npos) << "printed the file it refused";
    ASSERT_EQ(::unlink(file.c_str()), 0);
    r = SecretsWithUmaskZero({"sync", "--target", "env-file:" + file});
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Stat st = LStat(file);
  EXPECT_TRUE(S_ISREG(st.mode));
  EXPECT_EQ(st.mode & 07777, 0600u);
  RegisterEnvFileValues(file);
  r = SecretsWithUmaskZero({"sync", "--target", "env-file:" + file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  RegisterEnvFileValues(file);
  EXPECT_NE(LStat(file).ino, st.ino) << "rewritten in place instead of renamed";
  EXPECT_EQ(LStat(file).mode & 07777, 0600u);
  for (const auto& e : fs::directory_iterator(tmp.path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace initkit::testing
