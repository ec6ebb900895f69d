// The YAML subset kubeconfigs are written in, read into JSON.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace initkit {

/// Parses `text` (YAML, or JSON when it starts with '{') into *out. The YAML
/// is the subset kubeconfigs use: block mappings and sequences, plain and
/// quoted scalars, empty flow {} / [], simple flow sequences, comments. All
/// scalars become strings; `null`, `~` and nothing become null. Anchors,
/// aliases, tags and block scalars are refused. Errors are Usage statuses
/// naming `source` and the line.
Status ParseYamlSubset(std::string_view text, const std::string& source, nlohmann::json* out);

}  // namespace initkit
