// Redis URLs: parsing never throws; errors are Usage and never echo the
// credentials part of the URL; Redacted() never shows a password.
#include <cctype>

#include "common/log.h"
#include "common/redis.h"
#include "fuzz/fuzz_target.h"

using initkit::Status;

namespace {

// Password-like pieces of what would be the userinfo ("user:pass@"): runs
// of letters and digits, 6 or more long, with a digit or a capital letter.
// The messages' own words are lower-case letters only, so finding such a
// piece in a message means the credentials leaked.
std::vector<std::string> CredentialPieces(const std::string& text) {
  std::vector<std::string> out;
  size_t scheme = text.find("://");
  size_t at = text.rfind('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme + 3) return out;
  std::string cur;
  auto flush = [&] {
    bool marked = cur.find_first_of("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos;
    // The scheme is shown on purpose; a piece it contains proves nothing.
    bool in_scheme = text.substr(0, scheme).find(cur) != std::string::npos;
    if (cur.size() >= 6 && marked && !in_scheme) out.push_back(cur);
    cur.clear();
  };
  for (size_t i = scheme + 3; i < at; ++i) {
    if (std::isalnum(static_cast<unsigned char>(text[i]))) {
      cur.push_back(text[i]);
    } else {
      flush();
    }
  }
  flush();
  return out;
}

}  // namespace

INITKIT_FUZZ_TARGET(redis_url) {
  std::string text(input);
  initkit::redis::Url url;
  Status st = initkit::redis::ParseUrl(text, &url);
  if (!st.ok()) {
    FUZZ_CHECK(st.kind() == Status::Kind::kUsage, "error is not Usage");
    FUZZ_CHECK(!st.message().empty(), "empty error message");
    for (const std::string& piece : CredentialPieces(text)) {
      FUZZ_CHECK(st.message().find(piece) == std::string::npos,
                 "error message shows part of the credentials");
    }
  } else {
    std::string shown = url.Redacted();
    for (const std::string* pw : {&url.password, &url.sentinel_password}) {
      // Short passwords may equal a host or a prefix by chance.
      if (pw->size() >= 8) {
        FUZZ_CHECK(shown.find(*pw) == std::string::npos, "Redacted() shows a password");
      }
    }
    FUZZ_CHECK(url.port >= 0 && url.port <= 65535, "port out of range");
    FUZZ_CHECK(url.database >= 0, "negative database");
    if (url.kind == initkit::redis::Url::Kind::kSentinel) {
      FUZZ_CHECK(!url.sentinels.empty() && !url.master_name.empty(), "sentinel without parts");
    }
  }
  // ParseUrl registers passwords for redaction; forget them between inputs.
  initkit::log::ClearSecretsForTest();
}
