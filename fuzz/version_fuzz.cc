// Version strings and PHP version files: input is "<key>\n<content>". The
// comparison is a total order consistent with the parsed numbers.
#include "common/version.h"
#include "fuzz/fuzz_target.h"

using initkit::CompareVersions;
using initkit::ParseVersion;
using initkit::Status;
using initkit::Version;

namespace {

std::string Join(const Version& v) {
  std::string out;
  for (uint64_t p : v.parts) out += (out.empty() ? "" : ".") + std::to_string(p);
  return out;
}

void CheckVersion(std::string_view text, Version* v, bool* ok) {
  Status st = ParseVersion(text, v);
  *ok = st.ok();
  if (!st.ok()) {
    FUZZ_CHECK(st.kind() == Status::Kind::kUsage, "error is not Usage");
    FUZZ_CHECK(!st.message().empty(), "empty error message");
    return;
  }
  FUZZ_CHECK(!v->parts.empty(), "a parsed version has no parts");
  FUZZ_CHECK(CompareVersions(*v, *v) == 0, "a version differs from itself");
  Version again;
  Status st2 = ParseVersion(Join(*v), &again);
  FUZZ_CHECK(st2.ok(), "canonical form does not parse: " + Join(*v));
  FUZZ_CHECK(CompareVersions(*v, again) == 0 && again.parts == v->parts, "canonical form differs");
}

}  // namespace

INITKIT_FUZZ_TARGET(version) {
  size_t nl = input.find('\n');
  std::string key(input.substr(0, nl == std::string_view::npos ? 0 : nl));
  std::string_view content = nl == std::string_view::npos ? input : input.substr(nl + 1);

  Version a, b;
  bool a_ok = false, b_ok = false;
  CheckVersion(key, &a, &a_ok);
  CheckVersion(content, &b, &b_ok);
  if (a_ok && b_ok) {
    FUZZ_CHECK(CompareVersions(a, b) == -CompareVersions(b, a), "comparison is not antisymmetric");
  }

  std::string found;
  Status st = initkit::ExtractPhpVersion(content, key, &found);
  if (!st.ok()) {
    FUZZ_CHECK(st.kind() == Status::Kind::kUsage, "error is not Usage");
    FUZZ_CHECK(!st.message().empty(), "empty error message");
  } else {
    FUZZ_CHECK(found.size() <= content.size(), "extracted more than the content");
  }
}
