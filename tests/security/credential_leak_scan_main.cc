// credential_leak_scan: the last CTest test. Fails when any credential a
// test registered (RegisterCredential) appears, in any encoding, in any
// captured output: CTest's capture of every test binary and the output of
// every tool run through RunBinary. Prints fingerprints, never values.
//
//   credential_leak_scan --registry FILE [--scan FILE]...
//
// A --scan file that does not exist is skipped (CTest's log only exists
// while CTest runs); exit 0 clean, 1 leak, 2 bad usage or registry.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fakes/credential_scan.h"

using initkit::testing::CredentialLeak;
using initkit::testing::RegisteredCredential;

int main(int argc, char** argv) {
  std::string registry;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--registry" && i + 1 < argc) {
      registry = argv[++i];
    } else if (a == "--scan" && i + 1 < argc) {
      files.push_back(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: credential_leak_scan --registry FILE [--scan FILE]...\n");
      return 2;
    }
  }
  if (registry.empty()) {
    std::fprintf(stderr, "credential_leak_scan: --registry is required\n");
    return 2;
  }
  std::vector<RegisteredCredential> creds;
  std::string error;
  if (!initkit::testing::ReadCredentialRegistry(registry, &creds, &error)) {
    std::fprintf(stderr, "credential_leak_scan: %s\n", error.c_str());
    return 2;
  }
  std::printf("%zu credentials registered by the tests\n", creds.size());
  std::vector<CredentialLeak> leaks;
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::printf("skipped (absent): %s\n", f.c_str());
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    std::printf("scanned %s: %zu bytes\n", f.c_str(), text.size());
    for (auto& l : initkit::testing::ScanForCredentials(creds, text, f)) leaks.push_back(l);
  }
  for (const CredentialLeak& l : leaks) {
    std::printf("LEAK: credential %s (%s) appears %zu time(s) %s in %s, first at line %zu\n",
                l.fingerprint.c_str(), l.label.c_str(), l.count, l.form.c_str(), l.source.c_str(),
                l.line);
  }
  if (!leaks.empty()) {
    std::printf(
        "%zu leak(s): find the value with the fingerprint (sha256 of the value) in the "
        "registry %s\n",
        leaks.size(), registry.c_str());
    return 1;
  }
  std::printf("no credential appears in any captured output\n");
  return 0;
}
