// A health check's JSON pointer over a response body: input is
// "<pointer>\n<body>". Nothing throws; errors carry messages; numbers and
// strings read back as they are in the document.
#include "common/json_util.h"
#include "fuzz/fuzz_target.h"

using initkit::Status;

INITKIT_FUZZ_TARGET(json_pointer) {
  size_t nl = input.find('\n');
  std::string pointer(input.substr(0, nl == std::string_view::npos ? 0 : nl));
  std::string_view body = nl == std::string_view::npos ? input : input.substr(nl + 1);

  nlohmann::json doc;
  Status st = initkit::ParseJson(body, &doc);
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty(), "empty parse error message");
    return;
  }
  // What we parsed, printed and parsed again, is the same document.
  nlohmann::json again;
  FUZZ_CHECK(initkit::ParseJson(doc.dump(), &again).ok() && again == doc, "dump round trip");

  std::string value;
  st = initkit::JsonPointerString(doc, pointer, &value);
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty(), "empty pointer error message");
    return;
  }
  const nlohmann::json& node = doc.at(nlohmann::json::json_pointer(pointer));
  if (node.is_string()) {
    FUZZ_CHECK(value == node.get<std::string>(), "string value changed");
  } else {
    FUZZ_CHECK(node.is_number() && value == node.dump(), "number value changed");
  }
}
