// Readers for Composer's generated autoload maps (no PHP needed).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace initkit::preload {

/// autoload_classmap.php as (class, absolute file) pairs in file order.
using ClassMap = std::vector<std::pair<std::string, std::string>>;
/// autoload_psr4.php as (namespace prefix, absolute directories).
using Psr4Map = std::vector<std::pair<std::string, std::vector<std::string>>>;

/// Parses the text of autoload_classmap.php. `composer_dir` is the directory
/// the file lives in (vendor/composer): `$vendorDir`/`$baseDir` are derived
/// from it the way the file's own `dirname(...)` lines say. Usage error
/// naming `origin` when the text is not a Composer map.
Status ParseClassMap(std::string_view text, const std::string& composer_dir,
                     const std::string& origin, ClassMap* out);

/// Parses the text of autoload_psr4.php (same conventions).
Status ParsePsr4Map(std::string_view text, const std::string& composer_dir,
                    const std::string& origin, Psr4Map* out);

/// "/a/b/../c/./d" -> "/a/c/d" (purely lexical).
std::string NormalizePath(const std::string& path);

}  // namespace initkit::preload
