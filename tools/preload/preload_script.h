// The preload script itself: one opcache_compile_file() per file, in order.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tools/preload/analysis.h"

namespace initkit::preload {

/// The text of a preload script compiling files[order[0]], files[order[1]],
/// ... in that order, with paths relative to the script's directory
/// `out_dir` (`__DIR__ . '/...'`) or, with `absolute`, as they are. Its
/// header says how many files and `classes` it holds; it lifts
/// memory_limit for the preload step, which compiling thousands of files
/// at php-fpm start needs.
std::string RenderPreload(const std::vector<SourceFile>& files, const std::vector<size_t>& order,
                          const std::string& out_dir, bool absolute, size_t classes);

/// Path of `target` relative to directory `from` (both absolute, normalised).
std::string RelativePath(const std::string& from, const std::string& target);

}  // namespace initkit::preload
