// Writes JSON straight into a string, laid out exactly as
// nlohmann::json::dump(1) lays out the same document.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace initkit::preload {

/// For large reports: building an nlohmann::json tree first cost about 15 MB
/// and a tenth of the serial time on the 4x app. The caller writes object
/// keys in std::map order (sorted bytewise), as nlohmann's objects hold them,
/// so the output is byte for byte what dump(1) would print.
class JsonWriter {
 public:
  void BeginObject() { Begin('{'); }
  void EndObject() { End('}'); }
  void BeginArray() { Begin('['); }
  void EndArray() { End(']'); }

  /// The next object member's key; its value follows.
  void Key(std::string_view key);

  void String(std::string_view s);
  void Uint(uint64_t v);
  void Int(int64_t v);
  void Double(double v);
  void StringArray(const std::vector<std::string>& items);

  /// The document; takes it out of the writer.
  std::string Take() { return std::move(out_); }

 private:
  void Begin(char open);
  void End(char close);
  void BeforeValue();  // separator and indentation for an array element
  void AppendString(std::string_view s);
  void Indent(size_t level) { out_.append(level, ' '); }

  std::string out_;
  std::vector<bool> has_members_;  // per open container: any member yet
  bool after_key_ = false;         // a key was written: its value follows inline
};

}  // namespace initkit::preload
