#include "common/json_util.h"

namespace initkit {

Status ParseJson(std::string_view text, nlohmann::json* out) {
  try {
    *out = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    return Status::Failed("invalid JSON at byte " + std::to_string(e.byte) + ": " +
                          std::string(e.what()).substr(0, 200));
  } catch (const nlohmann::json::exception& e) {
    // out_of_range.406: a number beyond a double ("1e400"); escaped before.
    return Status::Failed("invalid JSON: " + std::string(e.what()).substr(0, 200));
  }
  return Status::Ok();
}

Status ParseJsonPointer(const std::string& text, nlohmann::json::json_pointer* out) {
  try {
    *out = nlohmann::json::json_pointer(text);
  } catch (const nlohmann::json::exception& e) {
    return Status::Usage("invalid JSON pointer '" + text + "': " + e.what());
  }
  return Status::Ok();
}

Status JsonPointerString(const nlohmann::json& doc, const std::string& pointer, std::string* out) {
  nlohmann::json::json_pointer ptr;
  INITKIT_RETURN_IF_ERROR(ParseJsonPointer(pointer, &ptr));
  return JsonPointerString(doc, ptr, out);
}

Status JsonPointerString(const nlohmann::json& doc, const nlohmann::json::json_pointer& ptr,
                         std::string* out) {
  const std::string pointer = ptr.to_string();
  const nlohmann::json* node = nullptr;
  try {
    if (!doc.contains(ptr)) return Status::Failed("no value at JSON pointer " + pointer);
    node = &doc.at(ptr);
  } catch (const nlohmann::json::exception&) {
    return Status::Failed("no value at JSON pointer " + pointer);
  }
  if (node->is_string()) {
    *out = node->get<std::string>();
  } else if (node->is_number()) {
    *out = node->dump();
  } else {
    return Status::Failed("value at JSON pointer " + pointer + " is " + node->type_name() +
                          ", not a string or number");
  }
  return Status::Ok();
}

std::string DumpJson(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace initkit
