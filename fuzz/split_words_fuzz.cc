// SplitWords: words re-quoted with single quotes split back to the same
// words; an empty word can only come from quotes ('' or "").
#include "common/process.h"
#include "fuzz/fuzz_target.h"

namespace {

std::string Quote(const std::string& w) {
  std::string out = "'";
  for (char c : w) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

}  // namespace

INITKIT_FUZZ_TARGET(split_words) {
  using initkit::Status;
  std::vector<std::string> words;
  Status st = initkit::SplitWords(input, &words);
  if (!st.ok()) {
    FUZZ_CHECK(st.kind() == Status::Kind::kUsage, "error is not Usage: " + st.message());
    FUZZ_CHECK(!st.message().empty(), "empty error message");
    return;
  }
  bool quoted = input.find_first_of("'\"") != std::string_view::npos;
  std::string line;
  for (const std::string& w : words) {
    FUZZ_CHECK(!w.empty() || quoted, "empty word without quotes in the input");
    line += Quote(w) + " ";
  }
  std::vector<std::string> again;
  Status st2 = initkit::SplitWords(line, &again);
  FUZZ_CHECK(st2.ok(), "re-quoted words do not split: " + st2.message());
  FUZZ_CHECK(again == words, "re-quoted words split differently");
}
