// Dependency and signature analysis: which files PHP can preload, in order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tools/preload/builtin_classes.h"
#include "tools/preload/php_scanner.h"

namespace initkit::preload {

/// One candidate file with what the scanner found in it.
struct SourceFile {
  std::string path;  // absolute
  std::string rel;   // relative to the app dir, for reports
  uint64_t size = 0;
  PhpFileInfo info;
};

/// Why a file is left out: a stable machine-readable code and a sentence.
struct Exclusion {
  std::string reason;  // side-effects, conditional-declaration, duplicate-class, ...
  std::string detail;
};

/// The outcome of Analyze.
struct Analysis {
  /// Indices of the files to preload, each after the files it depends on
  /// (as far as cycles between files allow).
  std::vector<size_t> order;
  /// Per file: its exclusion, or an empty reason if it is preloaded.
  std::vector<Exclusion> excluded;
  /// Per preloaded file: the preloaded files its classes need.
  std::vector<std::vector<size_t>> deps;
  size_t preloaded_classes = 0;
};

/// Models PHP 8.1+ preloading (opcache_compile_file of every file, then
/// linking of every class whose parent, interfaces and traits are linked and
/// whose overriding method signatures PHP can check) and leaves out every
/// file PHP would refuse or that the rules exclude (side effects,
/// conditional declarations, duplicates), transitively. `forced` names
/// files (by index) to leave out up front, e.g. from --verify-with.
Analysis Analyze(const std::vector<SourceFile>& files, const BuiltinClasses& builtins,
                 const std::map<size_t, Exclusion>& forced = {});

/// Analyze for a process that ends soon after (the tool): the analyzer's
/// own tables, hundreds of thousands of small allocations, are left
/// allocated (still reachable, so leak checkers stay quiet) instead of
/// being freed one by one, which cost about a tenth of the analysis.
Analysis AnalyzeForExit(const std::vector<SourceFile>& files, const BuiltinClasses& builtins,
                        const std::map<size_t, Exclusion>& forced = {});

}  // namespace initkit::preload
