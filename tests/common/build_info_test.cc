#include "common/build_info.h"

#include <gtest/gtest.h>

#include "tests/fakes/test_util.h"

namespace initkit {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(text.substr(start, nl - start));
  }
  return out;
}

// What the dynamic loader maps for `binary` (ldd), as library base names.
std::string LoadedLibraries(const std::string& binary) {
  return testing::RunBinary("/usr/bin/ldd", {binary}).out;
}

// --version lists exactly the libraries the binary links: each name it
// prints is loaded, and each of ours that is loaded is printed.
TEST(BuildInfoTest, VersionListsTheLibrariesEachBinaryLinks) {
  const std::vector<std::pair<std::string, std::string>> kLibs = {
      {"openssl", "libcrypto.so"},
      {"libcurl", "libcurl.so"},
      {"mariadb-connector-c", "libmariadb.so"},
      {"hiredis", "libhiredis.so"},
      {"zlib", "libz.so"}};
  for (const char* tool : {"initkit-bootstrap", "initkit-cron-gate", "initkit-migrate",
                           "initkit-preload", "initkit-secrets"}) {
    testing::RunOutput r = testing::RunBinary(tool, {"--version"});
    ASSERT_EQ(r.exit_code, 0) << tool << r.err;
    std::vector<std::string> lines = Lines(r.out);
    ASSERT_GE(lines.size(), 3u) << r.out;
    EXPECT_EQ(lines[0], std::string(tool) + " " + BuildVersion());
    EXPECT_EQ(lines[1], std::string("commit ") + BuildCommit());
    EXPECT_EQ(lines.back().rfind("glibc 2.", 0), 0u) << r.out;
    std::string loaded = LoadedLibraries(testing::BinPath(tool));
    for (const auto& [name, so] : kLibs) {
      bool printed = r.out.find("\n" + name + " ") != std::string::npos;
      bool linked = loaded.find(so) != std::string::npos;
      EXPECT_EQ(printed, linked) << tool << ": " << name << "\n" << r.out << loaded;
    }
  }
  // The copy and preload tools carry no TLS or database code.
  for (const char* tool : {"initkit-bootstrap", "initkit-preload"}) {
    std::string out = testing::RunBinary(tool, {"--version"}).out;
    EXPECT_EQ(out.find("openssl"), std::string::npos) << out;
    EXPECT_EQ(out.find("libcurl"), std::string::npos) << out;
  }
}

TEST(BuildInfoTest, CommitIsTwelveHexDigitsOrUnknown) {
  std::string c = BuildCommit();
  if (c != "unknown") {
    EXPECT_EQ(c.size(), 12u) << c;
    EXPECT_EQ(c.find_first_not_of("0123456789abcdef"), std::string::npos) << c;
  }
}

}  // namespace
}  // namespace initkit
