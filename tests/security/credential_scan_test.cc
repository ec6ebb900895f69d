// The suite-wide credential leak scan really finds leaks: a planted value
// in every encoding is reported by fingerprint (never by value), clean
// output passes, and RegisterCredential writes a private registry.
#include <sys/stat.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>

#include "common/random.h"
#include "tests/fakes/credential_scan.h"
#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

// Never registered in the real registry: only in the temporary ones here.
const char kPlanted[] = "planted-Cred/val+ue=42&x";

std::vector<RegisteredCredential> Planted() { return {{"planted", kPlanted}}; }

std::string Percent(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

TEST(CredentialScan, FindsEveryEncodingOfAPlantedValue) {
  const std::string v = kPlanted;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"raw", "{\"msg\":\"connect\",\"password\":\"" + v + "\"}\n"},
      {"base64", "data: " + Base64Encode(v) + "\n"},
      // Inside a longer base64 string, at each alignment.
      {"base64", "x " + Base64Encode("prefix-" + v + "-suffix") + "\n"},
      {"base64", "x " + Base64Encode("pre-" + v) + "\n"},
      {"base64", "x " + Base64Encode("p-" + v) + "\n"},
      {"percent-encoded", "GET /token?client_secret=" + Percent(v) + " HTTP/1.1\n"},
      {"raw", "line one\nline two " + v.substr(0, 10) + v.substr(10) + "\n"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string& form = cases[i].first;
    auto leaks = ScanForCredentials(Planted(), "first line\n" + cases[i].second, "planted.log");
    ASSERT_FALSE(leaks.empty()) << "missed a " << form << " leak (case " << i << ")";
    bool found = false;
    for (const auto& l : leaks) {
      found |= l.form == form || (form == "base64" && l.form.rfind("base64", 0) == 0);
      EXPECT_EQ(l.label, "planted");
      EXPECT_EQ(l.fingerprint, CredentialFingerprint(v));
      EXPECT_EQ(l.fingerprint.find(v), std::string::npos);
      EXPECT_EQ(l.source, "planted.log");
      EXPECT_GE(l.line, 2u);
    }
    EXPECT_TRUE(found) << form;
  }
  // JSON-escaped (a value with a quote and a newline, as in a JSON log).
  RegisteredCredential pem{"pem", "-----BEGIN KEY-----\nabc\"def\n-----END KEY-----"};
  auto leaks = ScanForCredentials(
      {pem}, R"({"body":"-----BEGIN KEY-----\nabc\"def\n-----END KEY-----"})", "json.log");
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0].form, "json-escaped");
  EXPECT_EQ(leaks[0].count, 1u);
}

TEST(CredentialScan, CleanOutputAndNearMissesPass) {
  const std::string v = kPlanted;
  std::string text = "nothing here\n" + v.substr(0, v.size() - 1) + "\n[REDACTED]\n" +
                     Base64Encode(v.substr(3)) + "\n";
  EXPECT_TRUE(ScanForCredentials(Planted(), text, "clean.log").empty());
  EXPECT_TRUE(ScanForCredentials({}, text + v, "no-credentials.log").empty());
}

TEST(CredentialScan, RegistryIsPrivateHexAndRoundTrips) {
  TempDir dir;
  const std::string reg = dir.Sub("creds.reg");
  const char* old = std::getenv("TEST_INITKIT_CREDENTIALS");
  std::string saved = old ? old : "";
  ::setenv("TEST_INITKIT_CREDENTIALS", reg.c_str(), 1);
  // A new value per run: RegisterCredential writes each value once per process.
  static int run = 0;
  const std::string value = "round-trip-value-" + std::to_string(++run) + "\twith tab\n";
  RegisterCredential(value, "label\twith tab");
  RegisterCredential(value, "again");  // each value once
  RegisterCredential("short", "too short to scan for");
  if (old) {
    ::setenv("TEST_INITKIT_CREDENTIALS", saved.c_str(), 1);
  } else {
    ::unsetenv("TEST_INITKIT_CREDENTIALS");
  }
  struct stat sb;
  ASSERT_EQ(::stat(reg.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0600u);
  EXPECT_EQ(ReadFile(reg).find("round-trip"), std::string::npos) << "stored raw";
  std::vector<RegisteredCredential> creds;
  std::string error;
  ASSERT_TRUE(ReadCredentialRegistry(reg, &creds, &error)) << error;
  ASSERT_EQ(creds.size(), 1u);
  EXPECT_EQ(creds[0].value, value);
  EXPECT_EQ(creds[0].label, "label with tab");
  WriteFile(dir.Sub("bad.reg"), "label\tnot-hex\n");
  EXPECT_FALSE(ReadCredentialRegistry(dir.Sub("bad.reg"), &creds, &error));
  EXPECT_NE(error.find("bad.reg:1"), std::string::npos) << error;
}

TEST(CredentialScan, ScannerBinaryFailsOnALeakAndNamesOnlyTheFingerprint) {
  TempDir dir;
  std::string hex;
  for (unsigned char c : std::string(kPlanted)) {
    static const char kHex[] = "0123456789abcdef";
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  WriteFile(dir.Sub("creds.reg"), "planted value\t" + hex + "\n", 0600);
  WriteFile(dir.Sub("clean.log"), "all fine\n");
  WriteFile(dir.Sub("leak.log"), "a\nb\n{\"token\":\"" + Base64Encode(kPlanted) + "\"}\n");
  const std::string scanner = BinPath("credential_leak_scan");
  RunOutput r = RunBinary(scanner, {"--registry", dir.Sub("creds.reg"), "--scan",
                                    dir.Sub("clean.log"), "--scan", dir.Sub("absent.log")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("skipped (absent)"), std::string::npos) << r.out;
  r = RunBinary(scanner, {"--registry", dir.Sub("creds.reg"), "--scan", dir.Sub("clean.log"),
                          "--scan", dir.Sub("leak.log")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("LEAK: credential " + CredentialFingerprint(kPlanted)), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("leak.log, first at line 3"), std::string::npos) << r.out;
  EXPECT_EQ((r.out + r.err).find(kPlanted), std::string::npos) << "the scanner printed the value";
  EXPECT_EQ((r.out + r.err).find(Base64Encode(kPlanted)), std::string::npos);
  r = RunBinary(scanner, {"--scan", dir.Sub("leak.log")});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace initkit::testing
