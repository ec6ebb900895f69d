// The table of PHP's built-in classes the tool ships, and its loader.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"

namespace initkit::preload {

/// The generated table (builtin_classes.cc): one line per class,
/// "Name|parent|iface,iface|method,method".
const char* BuiltinClassTable();

/// A class PHP provides before any script runs.
struct BuiltinClass {
  std::string name;
  std::string lparent;                       // lower case, "" if none
  std::vector<std::string> linterfaces;      // lower case, all implemented
  std::unordered_set<std::string> lmethods;  // public/protected, lower case
  bool known_shape = true;  // false when only the name is known (--php-classes list)
};

/// Built-in classes by lower-case name.
class BuiltinClasses {
 public:
  /// The shipped table.
  static BuiltinClasses Default();
  /// Replaces the set with the classes named in `text` (one per line, plain
  /// names or the table's "Name|parent|..." lines; '#' comments). Names the
  /// shipped table knows keep its shape. Usage error naming `origin` if the
  /// text holds no class.
  Status LoadOverride(std::string_view text, const std::string& origin);

  const BuiltinClass* Find(const std::string& lname) const {
    auto it = classes_.find(lname);
    return it == classes_.end() ? nullptr : &it->second;
  }
  size_t size() const { return classes_.size(); }

 private:
  void AddLine(std::string_view line, const BuiltinClasses* shapes);
  std::unordered_map<std::string, BuiltinClass> classes_;
};

}  // namespace initkit::preload
