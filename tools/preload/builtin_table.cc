#include "tools/preload/builtin_classes.h"

#include "common/strings.h"
#include "tools/preload/php_scanner.h"

namespace initkit::preload {

namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) p = s.size();
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
  return out;
}

}  // namespace

void BuiltinClasses::AddLine(std::string_view line, const BuiltinClasses* shapes) {
  line = Trim(line);
  if (line.empty() || line[0] == '#') return;
  std::vector<std::string_view> parts = Split(line, '|');
  BuiltinClass c;
  std::string_view name = Trim(parts[0]);
  if (!name.empty() && name[0] == '\\') name.remove_prefix(1);
  if (name.empty()) return;
  c.name = std::string(name);
  std::string lname = ToLower(c.name);
  if (parts.size() >= 4) {
    c.lparent = ToLower(Trim(parts[1]));
    for (std::string_view i : Split(parts[2], ',')) {
      if (!Trim(i).empty()) c.linterfaces.push_back(ToLower(Trim(i)));
    }
    for (std::string_view m : Split(parts[3], ',')) {
      if (!Trim(m).empty()) c.lmethods.insert(ToLower(Trim(m)));
    }
  } else if (shapes != nullptr && shapes->Find(lname) != nullptr) {
    c = *shapes->Find(lname);
    c.name = std::string(name);
  } else {
    c.known_shape = false;
  }
  classes_[lname] = std::move(c);
}

BuiltinClasses BuiltinClasses::Default() {
  BuiltinClasses b;
  std::string_view table = BuiltinClassTable();
  for (std::string_view line : Split(table, '\n')) b.AddLine(line, nullptr);
  return b;
}

Status BuiltinClasses::LoadOverride(std::string_view text, const std::string& origin) {
  BuiltinClasses shapes = Default();
  classes_.clear();
  for (std::string_view line : Split(text, '\n')) AddLine(line, &shapes);
  if (classes_.empty()) {
    return Status::Usage("--php-classes " + origin +
                         ": no class names in it (expected one name per line)");
  }
  return Status::Ok();
}

}  // namespace initkit::preload
