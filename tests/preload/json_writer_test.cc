#include "tools/preload/json_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace initkit::preload {
namespace {

// The report must stay byte for byte what nlohmann's dump(1) printed before
// the writer replaced it (users diff reports between builds).
TEST(JsonWriter, LaysOutExactlyAsDumpOne) {
  JsonWriter w;
  w.BeginObject();
  w.Key("a");
  w.BeginArray();
  w.String("plain");
  w.String("quote \" backslash \\ slash /");
  w.String("tab\tnewline\n\x01 del\x7f");
  w.String("utf-8: \xc3\xa9\xe2\x82\xac");
  w.EndArray();
  w.Key("b");
  w.BeginObject();
  w.EndObject();
  w.Key("c");
  w.BeginArray();
  w.EndArray();
  w.Key("d");
  w.BeginObject();
  w.Key("n");
  w.Int(-3);
  w.Key("u");
  w.Uint(18446744073709551615ull);
  w.Key("x");
  w.Double(0.25);
  w.EndObject();
  w.Key("e");
  w.StringArray({"x", "y"});
  w.EndObject();

  nlohmann::json j = {{"a",
                       {"plain", "quote \" backslash \\ slash /", "tab\tnewline\n\x01 del\x7f",
                        "utf-8: \xc3\xa9\xe2\x82\xac"}},
                      {"b", nlohmann::json::object()},
                      {"c", nlohmann::json::array()},
                      {"d", {{"n", -3}, {"u", 18446744073709551615ull}, {"x", 0.25}}},
                      {"e", {"x", "y"}}};
  EXPECT_EQ(w.Take(), j.dump(1));
}

// A file name is bytes, not UTF-8: it must not end the run (dump() throws
// on invalid UTF-8); the report stays valid JSON.
TEST(JsonWriter, InvalidUtf8BecomesReplacementCharacters) {
  JsonWriter w;
  w.BeginArray();
  w.String("src/bad-\xff\xfe-name.php");
  w.EndArray();
  std::string doc = w.Take();
  auto j = nlohmann::json::parse(doc, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << doc;
  EXPECT_EQ(j[0].get<std::string>(), "src/bad-\xef\xbf\xbd\xef\xbf\xbd-name.php");
}

}  // namespace
}  // namespace initkit::preload
