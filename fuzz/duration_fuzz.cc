// ParseDuration: any text either parses to a bounded, non-negative duration
// that FormatDuration prints back to the same value, or is a Usage error.
#include "common/config.h"
#include "fuzz/fuzz_target.h"

INITKIT_FUZZ_TARGET(duration) {
  using initkit::Status;
  std::chrono::milliseconds d{-1};
  Status st = initkit::ParseDuration(std::string(input), &d);
  if (!st.ok()) {
    FUZZ_CHECK(st.kind() == Status::Kind::kUsage, "error is not Usage: " + st.message());
    FUZZ_CHECK(!st.message().empty(), "empty error message");
    return;
  }
  FUZZ_CHECK(d.count() >= 0 && d.count() <= 1'000'000'000'000, "out of range");
  std::string text = initkit::FormatDuration(d);
  std::chrono::milliseconds again{-1};
  Status st2 = initkit::ParseDuration(text, &again);
  FUZZ_CHECK(st2.ok(), "formatted duration does not parse: " + text + ": " + st2.message());
  FUZZ_CHECK(again == d, "round trip changed " + std::to_string(d.count()) + "ms to " + text);
}
