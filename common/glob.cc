#include "common/glob.h"

#include <algorithm>
#include <cstddef>

namespace initkit {
namespace {

// Reads one member of a character class at p[*i] (a byte, `\x`, or a range
// `a-z` with either end escaped), advancing *i past it; sets *lo and *hi.
void ReadClassMember(std::string_view p, size_t* i, unsigned char* lo, unsigned char* hi) {
  *lo = static_cast<unsigned char>(p[*i]);
  if (*lo == '\\' && *i + 1 < p.size()) *lo = static_cast<unsigned char>(p[++*i]);
  ++*i;
  *hi = *lo;
  if (*i + 1 < p.size() && p[*i] == '-' && p[*i + 1] != ']') {
    *hi = static_cast<unsigned char>(p[*i + 1]);
    *i += 2;
    if (*hi == '\\' && *i < p.size()) *hi = static_cast<unsigned char>(p[(*i)++]);
  }
}

// Which '[' of a segment open a class. closes[i]: reading members from i,
// a ']' ends the class before the segment does. Built right to left in one
// pass (O(|p|)), so a pattern of many unclosed '[' costs no rescans: each
// would otherwise read to the end of the segment on every attempt.
class ClassTable {
 public:
  explicit ClassTable(std::string_view p) : p_(p) {}
  // True when the '[' at p[pos] has a closing ']' (else it is a literal).
  bool Opens(size_t pos, uint64_t* steps) {
    if (closes_.empty()) Build(steps);
    size_t i = pos + 1;
    if (i < p_.size() && (p_[i] == '!' || p_[i] == '^')) ++i;
    if (i >= p_.size()) return false;
    unsigned char lo, hi;
    ReadClassMember(p_, &i, &lo, &hi);  // the first member may be ']'
    return closes_[i];
  }

 private:
  void Build(uint64_t* steps) {
    const size_t n = p_.size();
    closes_.assign(n + 1, 0);
    for (size_t k = n; k-- > 0;) {
      ++*steps;
      if (p_[k] == ']') {
        closes_[k] = 1;
        continue;
      }
      size_t i = k;
      unsigned char lo, hi;
      ReadClassMember(p_, &i, &lo, &hi);
      closes_[k] = closes_[i];
    }
  }
  std::string_view p_;
  std::vector<char> closes_;
};

// Matches the character class opening at p[*pi] == '[' (ClassTable says it
// closes) against `c`; *pi ends past the class. Adds the bytes read to *steps.
bool MatchClass(std::string_view p, size_t* pi, unsigned char c, uint64_t* steps) {
  size_t i = *pi + 1;
  bool negate = false;
  if (i < p.size() && (p[i] == '!' || p[i] == '^')) {
    negate = true;
    ++i;
  }
  bool matched = false;
  bool first = true;
  while (i < p.size() && (p[i] != ']' || first)) {
    ++*steps;
    first = false;
    unsigned char lo, hi;
    ReadClassMember(p, &i, &lo, &hi);
    if (lo <= c && c <= hi) matched = true;
  }
  *pi = i + 1;
  return matched != negate;
}

// Matches one pattern segment against one path segment (neither holds an
// unescaped '/'). Single-backtrack wildcard matching: on a mismatch only the
// last '*' is retried one byte further, which is enough because a '*' can
// absorb anything an earlier one could. At most |s| + 1 restarts of at most
// |p| steps each: O(|p| * |s|), never exponential.
bool MatchSegment(std::string_view p, std::string_view s, uint64_t* steps) {
  size_t pi = 0, si = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  ClassTable classes(p);
  while (si < s.size()) {
    ++*steps;
    if (pi < p.size()) {
      char pc = p[pi];
      if (pc == '*') {
        while (pi < p.size() && p[pi] == '*') ++pi;
        star_p = pi;
        star_s = si;
        continue;
      }
      if (pc == '?') {
        ++pi;
        ++si;
        continue;
      }
      // An unclosed '[' is a literal (below).
      if (pc == '[' && classes.Opens(pi, steps)) {
        if (MatchClass(p, &pi, static_cast<unsigned char>(s[si]), steps)) {
          ++si;
          continue;
        }
        goto backtrack;
      }
      if (pc == '\\' && pi + 1 < p.size()) {
        if (p[pi + 1] == s[si]) {
          pi += 2;
          ++si;
          continue;
        }
        goto backtrack;
      }
      if (pc == s[si]) {
        ++pi;
        ++si;
        continue;
      }
    }
  backtrack:
    if (star_p == std::string_view::npos) return false;
    pi = star_p;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

// Splits on '/' that is not escaped by a backslash.
std::vector<std::string_view> SplitPattern(std::string_view p) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      ++i;
      continue;
    }
    if (p[i] == '/') {
      out.push_back(p.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(p.substr(start));
  return out;
}

std::vector<std::string_view> SplitPath(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '/') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

bool HasUnescapedSlash(std::string_view p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      ++i;
    } else if (p[i] == '/') {
      return true;
    }
  }
  return false;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view path, uint64_t* steps) {
  uint64_t local = 0;
  uint64_t* n = steps ? steps : &local;
  // One segment against one segment (the common `*.log` case): no split.
  if (!HasUnescapedSlash(pattern) && path.find('/') == std::string_view::npos) {
    return MatchSegment(pattern, path, n);
  }
  std::vector<std::string_view> ps = SplitPattern(pattern);
  std::vector<std::string_view> ss = SplitPath(path);
  const size_t np = ps.size(), ns = ss.size();
  // reach[j] after pattern segment i: the first i pattern segments can
  // consume exactly the first j path segments. Each (i, j) cell is visited
  // once and runs one MatchSegment, so the total is O(|pattern| * |path|).
  std::vector<char> reach(ns + 1, 0), next(ns + 1, 0);
  reach[0] = 1;
  for (size_t i = 0; i < np; ++i) {
    std::fill(next.begin(), next.end(), 0);
    if (ps[i] == "**") {
      // Zero or more segments; one or more as the last pattern segment.
      const bool last = i + 1 == np;
      bool any = false;
      for (size_t j = 0; j <= ns; ++j) {
        ++*n;
        if (last) {
          next[j] = any;
          any = any || reach[j];
        } else {
          any = any || reach[j];
          next[j] = any;
        }
      }
    } else {
      for (size_t j = 0; j < ns; ++j) {
        ++*n;
        if (reach[j] && MatchSegment(ps[i], ss[j], n)) next[j + 1] = 1;
      }
    }
    reach.swap(next);
  }
  return reach[ns] != 0;
}

ExcludeSet::ExcludeSet(const std::vector<std::string>& patterns) {
  for (const std::string& raw : patterns) {
    Pattern p;
    std::string g = raw;
    while (g.size() > 1 && g.back() == '/') {
      g.pop_back();
      p.dir_only = true;
    }
    if (g == "/") continue;
    bool anchored = false;
    while (!g.empty() && g.front() == '/') {
      g.erase(0, 1);
      anchored = true;
    }
    if (g.empty()) continue;
    p.basename_only = !anchored && !HasUnescapedSlash(g);
    p.glob = std::move(g);
    patterns_.push_back(std::move(p));
  }
}

bool ExcludeSet::Matches(std::string_view rel, bool is_dir) const {
  if (patterns_.empty()) return false;
  std::string_view base = rel;
  if (size_t slash = rel.rfind('/'); slash != std::string_view::npos) {
    base = rel.substr(slash + 1);
  }
  for (const Pattern& p : patterns_) {
    if (p.dir_only && !is_dir) continue;
    if (GlobMatch(p.glob, p.basename_only ? base : rel)) return true;
  }
  return false;
}

bool ExcludeSet::MatchesPathOrParent(std::string_view rel) const {
  if (patterns_.empty()) return false;
  for (size_t slash = rel.find('/'); slash != std::string_view::npos;
       slash = rel.find('/', slash + 1)) {
    if (Matches(rel.substr(0, slash), /*is_dir=*/true)) return true;
  }
  return Matches(rel, /*is_dir=*/false);
}

}  // namespace initkit
