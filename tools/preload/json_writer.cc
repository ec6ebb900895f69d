#include "tools/preload/json_writer.h"

#include <nlohmann/json.hpp>

namespace initkit::preload {

void JsonWriter::BeforeValue() {
  if (after_key_) {  // an object member: the value follows its key
    after_key_ = false;
    return;
  }
  if (has_members_.empty()) return;  // the document itself
  out_ += has_members_.back() ? ",\n" : "\n";
  has_members_.back() = true;
  Indent(has_members_.size());
}

void JsonWriter::Key(std::string_view key) {
  out_ += has_members_.back() ? ",\n" : "\n";
  has_members_.back() = true;
  Indent(has_members_.size());
  AppendString(key);
  out_ += ": ";
  after_key_ = true;
}

void JsonWriter::Begin(char open) {
  BeforeValue();
  out_ += open;
  has_members_.push_back(false);
}

void JsonWriter::End(char close) {
  bool had = has_members_.back();
  has_members_.pop_back();
  if (had) {
    out_ += '\n';
    Indent(has_members_.size());
  }
  out_ += close;  // an empty container is "{}" / "[]"
}

void JsonWriter::String(std::string_view s) {
  BeforeValue();
  AppendString(s);
}

void JsonWriter::AppendString(std::string_view s) {
  // Printable ASCII is escaped here; anything else (control characters,
  // UTF-8, invalid bytes) goes through nlohmann itself so that escaping
  // stays exactly its own.
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      // Invalid UTF-8 (a file name is just bytes) becomes U+FFFD rather
      // than an exception that would end the run.
      out_ += nlohmann::json(std::string(s))
                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
  }
  out_ += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out_ += '\\';
    out_ += c;
  }
  out_ += '"';
}

void JsonWriter::Uint(uint64_t v) {
  BeforeValue();
  out_ += std::to_string(v);
}

void JsonWriter::Int(int64_t v) {
  BeforeValue();
  out_ += std::to_string(v);
}

void JsonWriter::Double(double v) {
  BeforeValue();
  out_ += nlohmann::json(v).dump();
}

void JsonWriter::StringArray(const std::vector<std::string>& items) {
  BeginArray();
  for (const std::string& s : items) String(s);
  EndArray();
}

}  // namespace initkit::preload
