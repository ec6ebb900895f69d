// Small string helpers shared by the parsers (ASCII only: flag names,
// header names, schemes and keywords are ASCII by definition).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace initkit {

/// `s` without leading and trailing ASCII whitespace (space, \t, \n, \r, \v, \f).
std::string_view Trim(std::string_view s);

/// `s` with A-Z turned into a-z; other bytes unchanged.
std::string ToLower(std::string_view s);

/// True when `a` and `b` are equal ignoring ASCII case.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

/// Optimal string alignment distance (Levenshtein plus adjacent
/// transpositions: "form" and "from" are 1 apart).
size_t EditDistance(std::string_view a, std::string_view b);

/// The candidate closest to `word` by EditDistance, or "" when none is close
/// enough to be a plausible typo (distance at most a third of the longer
/// word, at least 1; ties go to the first). For did-you-mean messages.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

/// `s` with every byte sequence that is not UTF-8 replaced by U+FFFD, the
/// way DumpJson replaces them (nlohmann's error_handler_t::replace).
std::string ToValidUtf8(std::string_view s);

}  // namespace initkit
