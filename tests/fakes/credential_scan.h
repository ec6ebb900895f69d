// The suite-wide credential leak scan: reads what RegisterCredential
// recorded and looks for every credential, in every encoding it could leak
// in, through captured test output.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace initkit::testing {

struct RegisteredCredential {
  std::string label;
  std::string value;
};

/// Reads a registry written by RegisterCredential (lines "label<TAB>hex").
/// A value registered more than once (by several test binaries) is read
/// once. A missing file is an empty registry. False with *error on a bad line.
bool ReadCredentialRegistry(const std::string& path, std::vector<RegisteredCredential>* out,
                            std::string* error);

/// The spellings of `value` a leak could take: raw, base64 (standard and
/// URL-safe, at each of the three byte alignments inside a longer encoded
/// string), percent-encoded and JSON-escaped. Each as {form name, bytes};
/// spellings under 8 bytes and duplicates are left out.
std::vector<std::pair<std::string, std::string>> CredentialForms(std::string_view value);

/// Names a credential without revealing it: "sha256:" + 12 hex digits.
std::string CredentialFingerprint(std::string_view value);

struct CredentialLeak {
  std::string label;
  std::string fingerprint;
  std::string form;
  std::string source;
  std::size_t line = 0;   // of the first occurrence, 1-based
  std::size_t count = 0;  // occurrences in `source`
};

/// Finds every form of every credential in `text` (named `source` in the
/// result): one entry per credential and form that occurs. Linear in the
/// size of `text` (a two-byte prefilter, then an 8-byte hash lookup).
std::vector<CredentialLeak> ScanForCredentials(const std::vector<RegisteredCredential>& creds,
                                               std::string_view text, const std::string& source);

}  // namespace initkit::testing
