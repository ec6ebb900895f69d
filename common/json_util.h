// Small helpers over nlohmann::json used by several tools.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace initkit {

/// Parses `text` as JSON; errors say where (byte offset) and why.
Status ParseJson(std::string_view text, nlohmann::json* out);

/// The value at RFC 6901 `pointer` as text: strings as they are, numbers as
/// written. Missing paths, objects, arrays and null are errors naming the pointer.
Status JsonPointerString(const nlohmann::json& doc, const std::string& pointer, std::string* out);

/// Parses an RFC 6901 pointer once (e.g. from a flag); a malformed one is a
/// Usage error quoting it.
Status ParseJsonPointer(const std::string& text, nlohmann::json::json_pointer* out);

/// JsonPointerString with a pointer parsed already.
Status JsonPointerString(const nlohmann::json& doc, const nlohmann::json::json_pointer& ptr,
                         std::string* out);

/// `j.dump(indent)`, except that bytes which are not UTF-8 (paths, commands
/// and names from flags are just bytes) become U+FFFD instead of throwing:
/// a strict dump() would end the tool with SIGABRT.
std::string DumpJson(const nlohmann::json& j, int indent = -1);

}  // namespace initkit
