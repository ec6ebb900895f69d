// --verify-with: the real PHP judges the computed list until it loads it
// without a fatal error or a warning.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "tools/preload/analysis.h"

namespace initkit::preload {

/// One line PHP printed while starting with a preload list.
struct PhpMessage {
  enum Severity { kFatal, kWarning, kNotice, kOther } severity = kOther;
  std::string text;  // without the "PHP Warning:  " prefix
  std::string file;  // "" if the line names none
};

/// Splits PHP's startup output into messages: "PHP Fatal error:  ... in
/// FILE on line N" (also Parse error, Compile error, Core error), Warning,
/// Deprecated/Notice (kNotice, also their "Strict Standards" cousin); other
/// lines are kOther.
std::vector<PhpMessage> ParsePhpMessages(const std::string& output);

/// How the verification went, for the report.
struct VerifyReport {
  int rounds = 0;    // lists PHP loaded, bisection steps not counted
  int php_runs = 0;  // every PHP start, bisection included
  int max_rounds = 0;
  double seconds = 0;
  double max_seconds = 0;
  std::vector<std::string> notes;  // Deprecated/Notice lines naming no listed file
};

/// What the loop works on: the scanned files (whose `info.notes` get PHP's
/// Deprecated/Notice lines), the table of built-in classes and the files
/// already forced out (grown by the loop).
struct VerifyInput {
  std::string php;                       // the PHP binary
  std::chrono::milliseconds time_limit;  // for the whole loop
  int max_rounds = 20;
};

/// Starts `in.php` with the list `a` gives (written, with absolute paths, to
/// a temporary file in $TMPDIR) and reads what it says, until PHP loads a
/// list without a fatal error or a warning:
/// - a fatal error or a warning naming a listed file drops that file
///   ("php-fatal" / "php-refused", with PHP's message) and whatever depends
///   on it (the analysis runs again with the file forced out);
/// - a fatal error naming no listed file is bisected: the shortest prefix
///   of the list that still fails names the file to drop;
/// - Deprecated and Notice lines drop nothing: they become notes of the
///   file they name (else of the report).
/// On Ok, `*a` is the analysis of a list PHP loaded cleanly. Fails (exit 1)
/// when the rounds or the time run out, or PHP does not start even with an
/// empty list; the caller then writes nothing.
Status VerifyWithPhp(const VerifyInput& in, std::vector<SourceFile>* files,
                     const BuiltinClasses& builtins, std::map<size_t, Exclusion>* forced,
                     Analysis* a, VerifyReport* report);

}  // namespace initkit::preload
