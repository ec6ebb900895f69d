#include "tests/fakes/credential_scan.h"

#include <openssl/evp.h>

#include <algorithm>
#include <bitset>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "common/random.h"

namespace initkit::testing {
namespace {

constexpr std::size_t kMinForm = 8;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Base64 of `value` as it appears when `value` starts `skip` bytes into a
// longer encoded string: only the 4-character groups made of value bytes
// alone are fixed, whatever surrounds it.
std::string Base64Inside(std::string_view value, std::size_t skip) {
  std::string padded(skip, '\0');
  padded.append(value);
  std::string enc = Base64Encode(padded);
  std::size_t first = skip == 0 ? 0 : 4;
  std::size_t full_groups = padded.size() / 3;
  std::size_t end = full_groups * 4;
  if (end <= first) return "";
  return enc.substr(first, end - first);
}

std::string PercentEncode(std::string_view value) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

uint64_t Key8(const char* p) {
  uint64_t k;
  std::memcpy(&k, p, sizeof k);
  return k;
}

unsigned Key2(const char* p) {
  return static_cast<unsigned char>(p[0]) | (static_cast<unsigned char>(p[1]) << 8);
}

}  // namespace

bool ReadCredentialRegistry(const std::string& path, std::vector<RegisteredCredential>* out,
                            std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return true;  // nothing registered
  std::string line;
  std::size_t n = 0;
  std::unordered_set<std::string> seen;  // every test binary registers the shared ones again
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    std::size_t tab = line.rfind('\t');
    std::string_view hex =
        tab == std::string::npos ? std::string_view() : std::string_view(line).substr(tab + 1);
    RegisteredCredential c;
    bool ok = tab != std::string::npos && !hex.empty() && hex.size() % 2 == 0;
    for (std::size_t i = 0; ok && i < hex.size(); i += 2) {
      int hi = HexDigit(hex[i]), lo = HexDigit(hex[i + 1]);
      ok = hi >= 0 && lo >= 0;
      c.value += static_cast<char>(hi * 16 + lo);
    }
    if (!ok) {
      *error = path + ":" + std::to_string(n) + ": not \"label<TAB>hex\"";
      return false;
    }
    c.label = line.substr(0, tab);
    if (seen.insert(c.value).second) out->push_back(std::move(c));
  }
  return true;
}

std::vector<std::pair<std::string, std::string>> CredentialForms(std::string_view value) {
  std::vector<std::pair<std::string, std::string>> forms;
  auto add = [&](std::string name, std::string bytes) {
    if (bytes.size() < kMinForm) return;
    for (const auto& f : forms) {
      if (f.second == bytes) return;
    }
    forms.emplace_back(std::move(name), std::move(bytes));
  };
  add("raw", std::string(value));
  for (std::size_t skip = 0; skip < 3; ++skip) {
    std::string b64 = Base64Inside(value, skip);
    std::string url = b64;
    std::replace(url.begin(), url.end(), '+', '-');
    std::replace(url.begin(), url.end(), '/', '_');
    add("base64", b64);
    add("base64url", url);
  }
  add("percent-encoded", PercentEncode(value));
  std::string json = nlohmann::json(std::string(value))
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  add("json-escaped", json.substr(1, json.size() - 2));
  return forms;
}

std::string CredentialFingerprint(std::string_view value) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(value.data(), value.size(), md, &len, EVP_sha256(), nullptr);
  return "sha256:" + HexEncode(std::string_view(reinterpret_cast<char*>(md), 6));
}

std::vector<CredentialLeak> ScanForCredentials(const std::vector<RegisteredCredential>& creds,
                                               std::string_view text, const std::string& source) {
  struct Form {
    std::size_t cred;
    std::string name;
    std::string bytes;
  };
  std::vector<Form> forms;
  for (std::size_t i = 0; i < creds.size(); ++i) {
    for (auto& [name, bytes] : CredentialForms(creds[i].value)) {
      forms.push_back({i, name, std::move(bytes)});
    }
  }
  auto first2 = std::make_unique<std::bitset<65536>>();
  std::unordered_multimap<uint64_t, std::size_t> by_key;
  for (std::size_t f = 0; f < forms.size(); ++f) {
    first2->set(Key2(forms[f].bytes.data()));
    by_key.emplace(Key8(forms[f].bytes.data()), f);
  }
  std::vector<CredentialLeak> leaks;
  std::unordered_map<std::size_t, std::size_t> leak_of_form;
  for (std::size_t pos = 0; pos + kMinForm <= text.size(); ++pos) {
    const char* p = text.data() + pos;
    if (!first2->test(Key2(p))) continue;
    auto [lo, hi] = by_key.equal_range(Key8(p));
    for (auto it = lo; it != hi; ++it) {
      const Form& f = forms[it->second];
      if (text.compare(pos, f.bytes.size(), f.bytes) != 0) continue;
      auto [slot, fresh] = leak_of_form.emplace(it->second, leaks.size());
      if (fresh) {
        CredentialLeak l;
        l.label = creds[f.cred].label;
        l.fingerprint = CredentialFingerprint(creds[f.cred].value);
        l.form = f.name;
        l.source = source;
        l.line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + pos, '\n'));
        leaks.push_back(std::move(l));
      }
      leaks[slot->second].count++;
    }
  }
  return leaks;
}

}  // namespace initkit::testing
