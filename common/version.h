// Application versions: segment-wise numeric compare, PHP version files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace initkit {

/// A dotted numeric version ("04.99.005.000"); an optional leading "v".
struct Version {
  std::vector<uint64_t> parts;
  std::string text;  // as given
};

/// Parses digits separated by dots. Anything else is a Usage error.
Status ParseVersion(std::string_view text, Version* out);

/// <0, 0, >0 comparing segment by segment as numbers; missing trailing
/// segments count as 0 ("4.99.5" == "04.99.005.000").
int CompareVersions(const Version& a, const Version& b);

/// Finds the version in PHP source: define('KEY', '...'), return ['key' =>
/// '...'], $config['key'] = '...', or a file holding just a version. With an
/// empty key: APP_VERSION for define, "version" for arrays.
Status ExtractPhpVersion(std::string_view content, const std::string& key, std::string* out);

/// Reads `path` and applies ExtractPhpVersion; errors name the file.
Status ReadVersionFile(const std::string& path, const std::string& key, std::string* out);

}  // namespace initkit
